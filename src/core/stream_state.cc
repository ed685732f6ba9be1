#include "core/stream_state.h"

#include <algorithm>
#include <string>

namespace evsrc {

StreamRevision StreamState::first_visible_revision() const {
  StreamRevision first = visible_from;
  if (metadata.truncate_before) first = std::max(first, *metadata.truncate_before);
  if (metadata.max_count && last_revision) {
    const StreamRevision count = *metadata.max_count;
    const StreamRevision end = *last_revision + 1;
    first = std::max(first, end > count ? end - count : 0);
  }
  return first;
}

bool StreamState::visible(StreamRevision revision, Timestamp recorded_at, Timestamp now) const {
  if (revision < first_visible_revision()) return false;
  if (metadata.max_age && recorded_at + std::chrono::duration_cast<std::chrono::microseconds>(*metadata.max_age) < now) {
    return false;
  }
  return true;
}

Status check_expected_revision(std::string_view stream, const StreamState& state, ExpectedRevision expected) {
  if (state.tombstoned) return Status::stream_deleted("stream " + std::string(stream) + " is tombstoned");
  const auto actual = state.visible_revision();
  bool ok = false;
  switch (expected.kind()) {
    case ExpectedRevision::Kind::any: ok = true; break;
    case ExpectedRevision::Kind::no_stream: ok = !actual.has_value(); break;
    case ExpectedRevision::Kind::stream_exists: ok = actual.has_value(); break;
    case ExpectedRevision::Kind::exact: ok = actual.has_value() && *actual == expected.revision(); break;
  }
  if (ok) return Status();
  return Status::wrong_expected_revision(
      actual, "expected " + expected.to_string() + ", stream " + std::string(stream) + " is " +
                  (actual ? "at revision " + std::to_string(*actual) : std::string("absent")));
}

std::size_t event_size(const EventData& event) {
  return event.type.size() + event.data.size() + event.metadata.size() + event.content_type.size();
}

Status validate_append(std::string_view stream, std::span<const EventData> events, const Limits& limits) {
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  if (events.size() > limits.max_events_per_batch) {
    return Status::too_large("batch of " + std::to_string(events.size()) + " events; the limit is " +
                             std::to_string(limits.max_events_per_batch));
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventData& event = events[i];
    if (event.type.empty() || event.type.size() > 255) {
      return Status::invalid_argument("event " + std::to_string(i) + ": type must be 1..255 bytes");
    }
    if (event.content_type.size() > 255) {
      return Status::invalid_argument("event " + std::to_string(i) + ": content type over 255 bytes");
    }
    const std::size_t size = event_size(event);
    if (size > limits.max_event_bytes) {
      return Status::too_large("event " + std::to_string(i) + " is " + std::to_string(size) +
                               " bytes; the limit is " + std::to_string(limits.max_event_bytes));
    }
    total += size;
  }
  if (total > limits.max_batch_bytes) {
    return Status::too_large("batch of " + std::to_string(total) + " bytes; the limit is " +
                             std::to_string(limits.max_batch_bytes));
  }
  return Status();
}

bool same_event(const RecordedEvent& recorded, const EventData& event) {
  return recorded.id == event.id && recorded.type == event.type && recorded.data == event.data &&
         recorded.metadata == event.metadata && recorded.content_type == event.content_type;
}

Timestamp now_timestamp() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace evsrc
