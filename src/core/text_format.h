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

// The value of one hex digit, either case; -1 for any other character.
inline int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Writes the lower-case hyphenated form; returns the end (out + 36).
char* write_uuid(char* out, const Uuid& uuid);
// Writes format_rfc3339(time) into out[0, kRfc3339MaxSize); returns the end.
char* write_rfc3339(char* out, Timestamp time);

}  // namespace evsrc
