// Paging rules shared by the backends' read_stream / read_all: which
// revisions or positions a page walks, when a read is refused, and how the
// `next` of a page is found. Start points are inclusive; `next` is the `from`
// of the following page, nullopt when the walk reached its end.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/stream_state.h"
#include "evsrc/event_store.h"

namespace evsrc {

// A walk over contiguous keys, both ends inclusive, in read order: forward
// when start <= stop, backward when start >= stop.
struct KeyRange {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
};

// invalid_argument when a page limit is 0 (a page must make progress).
Status check_page_limit(std::uint64_t limit);

// ok when `stream` may be read: not_found when `state` is null (never
// written) or the stream is absent or soft-deleted; stream_deleted when it is
// tombstoned.
Status check_readable(std::string_view stream, const StreamState* state);

// Revisions a stream read walks: from `options.from` (default: the first
// visible revision forward, the head backward), clamped to what is visible
// (StreamState::first_visible_revision() .. last_revision). nullopt when the
// page is empty. max_age is per event and left to StreamState::visible().
// REQUIRES: state.exists().
std::optional<KeyRange> stream_read_range(const StreamState& state, const StreamReadOptions& options);

// Keys of a read over the contiguous keys [first, last] from `from` in
// `direction` (default: first forward, last backward); nullopt when empty.
std::optional<KeyRange> clamp_read_range(std::optional<std::uint64_t> from, Direction direction, std::uint64_t first,
                                         std::uint64_t last);

// Walks `range` calling visit(key), which returns true when it put the key's
// event into the page. Stops after `limit` events or `scan_limit` keys
// visited (0: no bound; AllReadOptions::scan_limit) and returns the key after
// the last one visited (the next page's `from`), or nullopt when the walk
// reached range.stop. REQUIRES: limit > 0.
template <typename Visit>
std::optional<std::uint64_t> walk_page(const KeyRange& range, std::uint64_t limit, std::uint64_t scan_limit,
                                       Visit&& visit) {
  const bool forward = range.start <= range.stop;
  std::uint64_t taken = 0;
  std::uint64_t visited = 0;
  for (std::uint64_t key = range.start;; key = forward ? key + 1 : key - 1) {
    if (visit(key)) ++taken;
    ++visited;
    if (key == range.stop) return std::nullopt;
    if (taken == limit || visited == scan_limit) return forward ? key + 1 : key - 1;
  }
}

// The last key of a scan window of `scan_limit` keys (0: no bound) from
// `start` in `direction`, saturating; for backends that bound a scan by its
// keys up front (a SQL range, a walk over log items).
std::uint64_t scan_window_end(std::uint64_t start, Direction direction, std::uint64_t scan_limit);

}  // namespace evsrc
