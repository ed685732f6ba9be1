#include "core/append_rules.h"

#include <algorithm>
#include <set>
#include <string>

#include "core/stream_state.h"

namespace evsrc {

std::vector<EventData> with_assigned_ids(std::span<const EventData> events) {
  std::vector<EventData> copy(events.begin(), events.end());
  for (EventData& event : copy) {
    if (event.id.is_nil()) event.id = Uuid::random();
  }
  return copy;
}

Status check_unique_ids(std::span<const EventData> events) {
  std::vector<Uuid> ids;
  ids.reserve(events.size());
  for (const EventData& event : events) {
    if (!event.id.is_nil()) ids.push_back(event.id);
  }
  std::sort(ids.begin(), ids.end());
  const auto duplicate = std::adjacent_find(ids.begin(), ids.end());
  if (duplicate != ids.end()) {
    return Status::invalid_argument("event id " + duplicate->to_string() + " appears twice in one batch");
  }
  return Status();
}

Status validate_transaction(std::span<const TransactionPart> parts, const Limits& limits) {
  if (parts.empty()) return Status::invalid_argument("transaction has no parts");
  std::set<std::string_view> streams;
  std::vector<EventData> all_events;
  std::size_t total_bytes = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const TransactionPart& part = parts[i];
    if (Status status = validate_append(part.stream, part.events, limits); !status.ok()) return part_error(i, status);
    if (!streams.insert(part.stream).second) {
      return part_error(i, Status::invalid_argument("stream " + part.stream + " appears in two parts"));
    }
    for (const EventData& event : part.events) total_bytes += event_size(event);
    all_events.insert(all_events.end(), part.events.begin(), part.events.end());
  }
  if (all_events.size() > limits.max_events_per_batch) {
    return Status::too_large("transaction of " + std::to_string(all_events.size()) + " events; the limit is " +
                             std::to_string(limits.max_events_per_batch));
  }
  if (total_bytes > limits.max_batch_bytes) {
    return Status::too_large("transaction of " + std::to_string(total_bytes) + " bytes; the limit is " +
                             std::to_string(limits.max_batch_bytes));
  }
  return check_unique_ids(all_events);
}

Status part_error(std::size_t index, const Status& status) {
  std::string message = "part " + std::to_string(index) + ": " + status.message();
  if (status.code() == ErrorCode::wrong_expected_revision) {
    return Status::wrong_expected_revision(status.actual_revision(), std::move(message));
  }
  return Status(status.code(), std::move(message));
}

}  // namespace evsrc
