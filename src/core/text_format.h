// Fixed-width text of ids and times written into a caller's buffer, without
// allocating: what Uuid::to_string and format_rfc3339 return, for writers
// that put thousands of them into one response.
#pragma once

#include <cstddef>

#include "evsrc/types.h"
#include "evsrc/uuid.h"

namespace evsrc {

inline constexpr std::size_t kUuidTextSize = 36;
// "YYYY-MM-DDTHH:MM:SS.ffffffZ" for the years 0000-9999; other years take
// more (format_rfc3339 writes them with a sign or more digits).
inline constexpr std::size_t kRfc3339MaxSize = 40;

// Writes the lower-case hyphenated form; returns the end (out + 36).
char* write_uuid(char* out, const Uuid& uuid);
// Writes format_rfc3339(time) into out[0, kRfc3339MaxSize); returns the end.
char* write_rfc3339(char* out, Timestamp time);

}  // namespace evsrc
