// StreamState: what every backend knows about a stream's head, and the one
// implementation of the expected-revision rules and of visibility (soft
// delete, truncate-before, max-count, max-age) that all backends share.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "evsrc/event_store.h"

namespace evsrc {

struct StreamState {
  // Last revision ever written (also across soft deletes); nullopt if never.
  std::optional<StreamRevision> last_revision;
  // Revisions below this were soft-deleted; reads never show them.
  StreamRevision visible_from = 0;
  bool soft_deleted = false;  // deleted and not recreated since
  bool tombstoned = false;
  StreamMetadata metadata;

  bool exists() const { return last_revision.has_value() && !soft_deleted && !tombstoned; }
  // The revision reported to callers: nullopt when the stream reads as absent.
  std::optional<StreamRevision> visible_revision() const {
    return exists() ? last_revision : std::nullopt;
  }
  // Next revision an append gets.
  StreamRevision next_revision() const { return last_revision ? *last_revision + 1 : 0; }

  // First revision a read may return, from soft delete, truncate_before and
  // max_count (max_age is applied per event by visible()).
  StreamRevision first_visible_revision() const;
  // Whether one event of this stream is visible at time `now`.
  bool visible(StreamRevision revision, Timestamp recorded_at, Timestamp now) const;
};

// ok, stream_deleted (tombstoned) or wrong_expected_revision with the actual
// revision. `stream` is used in the message only.
Status check_expected_revision(std::string_view stream, const StreamState& state, ExpectedRevision expected);

// Checks name, batch and event limits for one append. Does not look at the store.
Status validate_append(std::string_view stream, std::span<const EventData> events, const Limits& limits);

// Bytes an event counts against the limits.
std::size_t event_size(const EventData& event);

// Whether a recorded event is the same as one being appended again (same id,
// type, data, metadata and content type).
bool same_event(const RecordedEvent& recorded, const EventData& event);

Timestamp now_timestamp();

}  // namespace evsrc
