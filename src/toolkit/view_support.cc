// Stream reading helpers behind ViewLoader (include/evsrc/view.h).
#include <algorithm>

#include "evsrc/view.h"

namespace evsrc::view_detail {
namespace {

constexpr std::uint64_t kPageSize = 512;

Result<std::optional<RecordedEvent>> event_at(EventStore& store, std::string_view stream, StreamRevision revision) {
  Result<StreamPage> page = store.read_stream(stream, StreamReadOptions{revision, Direction::forward, 1});
  if (!page.ok()) return page.status();
  if (page->events.empty()) return std::optional<RecordedEvent>();
  return std::optional<RecordedEvent>(std::move(page->events.front()));
}

}  // namespace

Status for_each_event(EventStore& store, std::string_view stream, StreamRevision from, StreamRevision to,
                      const std::function<Status(const RecordedEvent&)>& visit) {
  std::optional<StreamRevision> next = from;
  while (next && *next <= to) {
    const std::uint64_t want = to - *next >= kPageSize ? kPageSize : to - *next + 1;  // no overflow at to = max
    Result<StreamPage> page = store.read_stream(stream, StreamReadOptions{next, Direction::forward, want});
    if (!page.ok()) return page.status();
    for (const RecordedEvent& event : page->events) {
      if (event.revision > to) return Status();
      if (Status status = visit(event); !status.ok()) return status;
    }
    next = page->next;
  }
  return Status();
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

Result<std::optional<ReadableRange>> readable_range(EventStore& store, std::string_view stream) {
  Result<StreamPage> page = store.read_stream(stream, StreamReadOptions{std::nullopt, Direction::forward, 1});
  if (!page.ok() && page.status().code() == ErrorCode::not_found) return std::optional<ReadableRange>();
  if (!page.ok()) return page.status();
  if (page->events.empty()) return std::optional<ReadableRange>();
  return std::optional<ReadableRange>(ReadableRange{page->events.front().revision, page->last_revision});
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
