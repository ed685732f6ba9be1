// Stream reading helpers behind ViewLoader (include/evsrc/view.h).
#include <algorithm>

#include "evsrc/view.h"

namespace evsrc::view_detail {
namespace {

Result<std::optional<RecordedEvent>> event_at(EventStore& store, std::string_view stream, StreamRevision revision) {
  Result<StreamPage> page = store.read_stream(stream, StreamReadOptions{revision, Direction::forward, 1});
  if (!page.ok()) return page.status();
  if (page->events.empty()) return std::optional<RecordedEvent>();
  return std::optional<RecordedEvent>(std::move(page->events.front()));
}

}  // namespace

Status for_each_event(EventStore& store, std::string_view stream, StreamRevision from, StreamRevision to,
                      const std::function<Status(const EventView&)>& visit, StreamRevision* head) {
  StreamReadOptions options;
  options.from = from;
  // Revisions from..to: at most to - from + 1 events (no overflow at to = max).
  options.limit = to - from == kNoLimit ? kNoLimit : to - from + 1;
  Result<std::unique_ptr<StreamCursor>> cursor = store.open_stream_cursor(stream, options);
  if (!cursor.ok()) return cursor.status();
  if (head != nullptr) *head = (*cursor)->last_revision();
  while (true) {
    Result<const EventView*> event = (*cursor)->next();
    if (!event.ok()) return event.status();
    if (*event == nullptr || (*event)->revision > to) return Status();
    if (Status status = visit(**event); !status.ok()) return status;
  }
}

Result<std::optional<StreamRevision>> last_revision_at(EventStore& store, std::string_view stream, Timestamp time) {
  // Recorded-at never decreases along positions, so along one stream's
  // revisions either: binary search for the last event at or before `time`.
  Result<StreamPage> head = store.read_stream(stream, StreamReadOptions{std::nullopt, Direction::forward, 1});
  if (!head.ok() && head.status().code() == ErrorCode::not_found) return std::optional<StreamRevision>();
  if (!head.ok()) return head.status();
  if (head->events.empty() || head->events.front().recorded_at > time) return std::optional<StreamRevision>();
  StreamRevision low = head->events.front().revision;  // recorded at or before `time`
  StreamRevision high = head->last_revision;           // candidates are in [low, high]
  while (low < high) {
    const StreamRevision middle = low + (high - low + 1) / 2;
    Result<std::optional<RecordedEvent>> event = event_at(store, stream, middle);
    if (!event.ok()) return event.status();
    // A hidden revision reads as the next readable one; its time decides.
    if (event->has_value() && (*event)->recorded_at <= time) {
      low = std::max(middle, std::min((*event)->revision, high));
    } else {
      high = middle - 1;
    }
  }
  return std::optional<StreamRevision>(low);
}

std::string wrap_snapshot_state(const SnapshotOrigin& origin, std::string_view state) {
  std::string stored;
  stored.reserve(16 + state.size());
  for (std::uint64_t value : {origin.first_revision, origin.position}) {
    for (int shift = 0; shift < 64; shift += 8) stored.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  stored.append(state);
  return stored;
}

std::optional<std::pair<SnapshotOrigin, std::string_view>> unwrap_snapshot_state(std::string_view stored) {
  if (stored.size() < 16) return std::nullopt;
  const auto read_le64 = [&](std::size_t at) {
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(stored[at + static_cast<std::size_t>(i)]);
    return value;
  };
  return std::make_pair(SnapshotOrigin{read_le64(0), read_le64(8)}, stored.substr(16));
}

Result<std::optional<RecordedEvent>> validate_snapshot(EventStore& store, std::string_view stream,
                                                       StreamRevision revision, const SnapshotOrigin& origin) {
  Result<StreamPage> first = store.read_stream(stream, StreamReadOptions{std::nullopt, Direction::forward, 1});
  if (!first.ok()) return first.status();
  if (first->events.empty() || first->events.front().revision != origin.first_revision) {
    return std::optional<RecordedEvent>();
  }
  Result<std::optional<RecordedEvent>> event = event_at(store, stream, revision);
  if (!event.ok() || !event->has_value()) return event;
  if ((*event)->revision != revision || (*event)->position != origin.position) return std::optional<RecordedEvent>();
  return event;
}

Status prune_snapshots(SnapshotStore& snapshots, std::string_view stream, std::string_view view,
                       std::uint32_t version, std::size_t keep) {
  Result<std::vector<StreamRevision>> revisions = snapshots.list(stream, view, version);
  if (!revisions.ok()) return revisions.status();
  if (revisions->size() <= keep) return Status();
  const std::size_t drop = revisions->size() - keep;
  for (std::size_t i = 0; i < drop; ++i) {
    if (Status status = snapshots.erase(stream, view, version, (*revisions)[i]); !status.ok()) return status;
  }
  return Status();
}

}  // namespace evsrc::view_detail
