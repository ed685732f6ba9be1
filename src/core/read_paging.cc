#include "core/read_paging.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace evsrc {

Status check_page_limit(std::uint64_t limit) {
  if (limit == 0) return Status::invalid_argument("limit must be at least 1");
  return Status();
}

Status check_readable(std::string_view stream, const StreamState* state) {
  if (state != nullptr && state->tombstoned) {
    return Status::stream_deleted("stream " + std::string(stream) + " is tombstoned");
  }
  if (state == nullptr || !state->exists()) {
    return Status::not_found("stream " + std::string(stream) + " does not exist");
  }
  return Status();
}

std::optional<KeyRange> clamp_read_range(std::optional<std::uint64_t> from, Direction direction, std::uint64_t first,
                                         std::uint64_t last) {
  if (first > last) return std::nullopt;
  if (direction == Direction::forward) {
    const std::uint64_t start = std::max(from.value_or(first), first);
    if (start > last) return std::nullopt;
    return KeyRange{start, last};
  }
  const std::uint64_t start = std::min(from.value_or(last), last);
  if (start < first) return std::nullopt;
  return KeyRange{start, first};
}

std::optional<KeyRange> stream_read_range(const StreamState& state, const StreamReadOptions& options) {
  if (!state.last_revision) return std::nullopt;
  return clamp_read_range(options.from, options.direction, state.first_visible_revision(), *state.last_revision);
}

std::uint64_t scan_window_end(std::uint64_t start, Direction direction, std::uint64_t scan_limit) {
  if (direction == Direction::forward) {
    if (scan_limit == 0 || start > UINT64_MAX - (scan_limit - 1)) return UINT64_MAX;
    return start + (scan_limit - 1);
  }
  if (scan_limit == 0 || start < scan_limit - 1) return 0;
  return start - (scan_limit - 1);
}

}  // namespace evsrc
