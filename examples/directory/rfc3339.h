// Parsing the RFC 3339 timestamps that `get --at-time` takes (format_rfc3339
// in types.h writes them).
#pragma once

#include <optional>
#include <string_view>

#include "evsrc/types.h"

namespace evsrc::directory {

// "2026-11-29T08:34:08Z", "2026-11-29T08:34:08.123456Z",
// "2026-11-29T10:34:08.5+02:00": date 'T' time, an optional fraction (digits
// beyond microseconds are truncated) and a zone ('Z' or ±HH:MM). nullopt for
// anything else, including out-of-range fields.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

}  // namespace evsrc::directory
