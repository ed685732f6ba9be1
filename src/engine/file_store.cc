// The embedded engine's API and read paths (see file_store_impl.h).
#include <algorithm>

#include "core/append_rules.h"
#include "core/read_paging.h"
#include "engine/file_store_impl.h"

namespace evsrc {

Result<std::unique_ptr<EventStore>> open_file_store(const std::string& path, const StoreOptions& options) {
  return FileStore::open(path, options);
}

Status check_file_store_index(const std::string& path, std::string* damage) {
  auto lock = Env::posix()->lock_file(path + "/LOCK");
  if (!lock.ok()) return lock.status();
  const Status status = Index::check(path + "/index");
  *damage = status.ok() ? std::string() : status.message();
  return Status();
}

FileStore::FileStore(std::string directory, const StoreOptions& options, Env* env)
    : directory_(std::move(directory)), options_(options), env_(env), segments_(env, directory_ + "/log") {}

FileStore::~FileStore() { (void)close(); }

Status FileStore::check_open() const {
  if (closed_.load(std::memory_order_acquire)) return Status::closed("store is closed");
  return Status();
}

Result<AppendResult> FileStore::append(std::string_view stream, ExpectedRevision expected,
                                       std::span<const EventData> events) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_append(stream, events, options_.limits); !status.ok()) return status;
  if (Status status = check_unique_ids(events); !status.ok()) return status;
  Request request;
  request.parts.push_back(PartView{stream, expected, events});
  for (const EventData& event : events) request.bytes += event_size(event) + stream.size() + 64;
  if (Status status = submit(request); !status.ok()) return status;
  const TransactionPartResult& part = request.result.parts.front();
  if (!part.last_revision) {
    // Only an expectation was checked: report the stream as it is.
    return AppendResult{part.first_revision.value_or(0), part.last_revision.value_or(0), request.result.position};
  }
  return AppendResult{*part.first_revision, *part.last_revision, part.position};
}

Result<TransactionResult> FileStore::commit(std::span<const TransactionPart> parts) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_transaction(parts, options_.limits); !status.ok()) return status;
  Request request;
  for (const TransactionPart& part : parts) {
    request.parts.push_back(PartView{part.stream, part.expected, part.events});
    for (const EventData& event : part.events) request.bytes += event_size(event) + part.stream.size() + 64;
  }
  if (Status status = submit(request); !status.ok()) return status;
  return std::move(request.result);
}

Status FileStore::submit_lifecycle(RequestKind kind, std::string_view stream, ExpectedRevision expected,
                                   const StreamMetadata* metadata) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  if (metadata != nullptr && metadata->custom.size() > options_.limits.max_event_bytes) {
    return Status::too_large("custom metadata is over the event size limit");
  }
  Request request;
  request.kind = kind;
  request.parts.push_back(PartView{stream, expected, {}});
  request.metadata = metadata;
  request.bytes = stream.size() + 64 + (metadata != nullptr ? metadata->custom.size() : 0);
  return submit(request);
}

Status FileStore::set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) {
  return submit_lifecycle(RequestKind::set_metadata, stream, ExpectedRevision::any(), &metadata);
}

Status FileStore::delete_stream(std::string_view stream, ExpectedRevision expected) {
  return submit_lifecycle(RequestKind::soft_delete, stream, expected, nullptr);
}

Status FileStore::tombstone_stream(std::string_view stream, ExpectedRevision expected) {
  return submit_lifecycle(RequestKind::tombstone, stream, expected, nullptr);
}

Result<StreamPage> FileStore::read_stream(std::string_view stream, const StreamReadOptions& options) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  auto entry = index_->stream(stream);
  if (!entry.ok()) return entry.status();
  const StreamState* state = *entry ? &(*entry)->state : nullptr;
  if (Status status = check_readable(stream, state); !status.ok()) return status;
  StreamPage page;
  page.last_revision = *state->last_revision;
  const auto range = stream_read_range(*state, options);
  if (!range) return page;
  const auto segments = segments_.snapshot();
  const Timestamp now = now_timestamp();
  const bool forward = options.direction == Direction::forward;
  const auto in_range = [&](StreamRevision revision) {
    return forward ? revision >= range->start && revision <= range->stop
                   : revision <= range->start && revision >= range->stop;
  };
  std::string scratch;
  std::vector<RecordedEvent> run_events;
  Status failure;
  std::optional<StreamRevision> last_visited;
  bool full = false;
  Status status = index_->scan_stream((*entry)->id, range->start, range->stop, options.direction, [&](const EventRun& run) {
    run_events.clear();
    StreamRevision expected = run.first_revision;
    failure = read_records_at(*segments, run.first.record, run.count, &scratch, [&](const log::LogRecord& record) {
      if (record.kind != log::RecordKind::event || record.revision != expected || record.stream != stream) {
        failure = Status::corruption("index run of " + std::string(stream) + "@" + std::to_string(expected) +
                                     " points to another record");
        return false;
      }
      ++expected;
      if (in_range(record.revision)) run_events.push_back(log::to_recorded_event(record));
      return true;
    });
    if (!failure.ok()) return false;
    if (!forward) std::reverse(run_events.begin(), run_events.end());
    for (RecordedEvent& event : run_events) {
      last_visited = event.revision;
      if (state->visible(event.revision, event.recorded_at, now)) page.events.push_back(std::move(event));
      if (page.events.size() == options.limit) {
        full = true;
        break;
      }
    }
    return !full;
  });
  if (!status.ok()) return status;
  if (!failure.ok()) return failure;
  if (last_visited && *last_visited != range->stop) {
    page.next = forward ? *last_visited + 1 : *last_visited - 1;
  }
  return page;
}

Result<LogCursor> FileStore::cursor_at(Position position, Position end) {
  auto floor = index_->sparse_floor(position);
  if (!floor.ok()) return floor.status();
  auto segments = segments_.snapshot();
  if (!*floor) {
    return LogCursor(std::move(segments), LogLocation{0, static_cast<std::uint32_t>(log::kSegmentHeaderSize)}, 0,
                     end);
  }
  const auto& [start, entry] = **floor;
  return LogCursor::at_record(std::move(segments), entry.group, entry.record, start, end);
}

Result<AllPage> FileStore::read_all(const AllReadOptions& options) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  const Position end = committed_end_.load(std::memory_order_acquire);
  AllPage page;
  log::LogRecord record;
  const auto take = [&](const log::LogRecord& r) {
    if (r.kind != log::RecordKind::event) return false;
    if (!options.filter.stream_prefix.empty() && !r.stream.starts_with(options.filter.stream_prefix)) return false;
    if (!options.filter.category.empty() && stream_category(r.stream) != options.filter.category) return false;
    if (!options.filter.event_type.empty() && r.type != options.filter.event_type) return false;
    return true;
  };
  if (options.direction == Direction::forward) {
    const Position from = options.from.value_or(0);
    if (from >= end) return page;
    auto cursor = cursor_at(from, end);
    if (!cursor.ok()) return cursor.status();
    page.events.reserve(static_cast<std::size_t>(std::min<std::uint64_t>({options.limit, end - from, 4096})));
    while (true) {
      auto more = cursor->next(&record);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (record.position < from || !take(record)) continue;
      page.events.push_back(log::to_recorded_event(record));
      if (page.events.size() == options.limit) break;
    }
    if (cursor->position() < end) page.next = cursor->position();
    return page;
  }
  if (end == 0) return page;
  // Backward: scan the block between two sparse entries forward, emit it in
  // reverse, move to the previous block.
  Position upper = std::min(options.from.value_or(end - 1), end - 1);
  std::vector<RecordedEvent> block;
  while (true) {
    const Position block_start = upper - upper % kSparseInterval;
    auto cursor = cursor_at(block_start, upper + 1);
    if (!cursor.ok()) return cursor.status();
    block.clear();
    while (true) {
      auto more = cursor->next(&record);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (record.position >= block_start && take(record)) block.push_back(log::to_recorded_event(record));
    }
    for (auto it = block.rbegin(); it != block.rend(); ++it) {
      page.events.push_back(std::move(*it));
      if (page.events.size() == options.limit) {
        if (page.events.back().position > 0) page.next = page.events.back().position - 1;
        return page;
      }
    }
    if (block_start == 0) return page;
    upper = block_start - 1;
  }
}

Result<StreamInfo> FileStore::stream_info(std::string_view stream) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  auto entry = index_->stream(stream);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status::not_found("stream " + std::string(stream) + " does not exist");
  const StreamState& state = (*entry)->state;
  return StreamInfo{std::string(stream), state.last_revision, state.soft_deleted, state.tombstoned, state.metadata};
}

Result<std::vector<std::string>> FileStore::list_streams(std::string_view prefix, std::string_view after,
                                                         std::size_t limit) {
  if (Status status = check_open(); !status.ok()) return status;
  std::vector<std::string> names;
  if (limit == 0) return names;
  Status status = index_->scan_streams(prefix, after, [&](std::string_view name, const StreamEntry& entry) {
    if (entry.state.exists()) names.emplace_back(name);
    return names.size() < limit;
  });
  if (!status.ok()) return status;
  return names;
}

Result<StoreStats> FileStore::stats() {
  if (Status status = check_open(); !status.ok()) return status;
  StoreStats stats;
  {
    std::lock_guard lock(stats_mutex_);
    stats.events = published_totals_.events;
    stats.streams = published_totals_.streams;
    stats.bytes = published_totals_.bytes;
    if (published_totals_.next_position > 0) stats.last_position = published_totals_.next_position - 1;
  }
  stats.segments = segments_.snapshot()->size();
  return stats;
}

bool FileStore::wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) {
  const Position wanted = after ? *after + 1 : 0;
  const auto arrived = [&] {
    return closed_.load(std::memory_order_acquire) || committed_end_.load(std::memory_order_acquire) > wanted;
  };
  std::unique_lock lock(commit_mutex_);
  commit_cv_.wait_for(lock, timeout, arrived);
  return !closed_.load(std::memory_order_acquire) && committed_end_.load(std::memory_order_acquire) > wanted;
}

SnapshotStore& FileStore::snapshots() {
  // recover() failing leaves no database; open() then never hands out the store.
  return *snapshots_;
}

Status FileStore::close() {
  if (closed_.exchange(true)) return Status::closed("store is already closed");
  {
    // Requests already queued are still committed by their leaders.
    std::unique_lock lock(queue_mutex_);
    stopping_ = true;
    leader_idle_cv_.wait(lock, [&] { return !leader_active_; });
  }
  {
    std::lock_guard lock(commit_mutex_);
  }
  commit_cv_.notify_all();
  Status result;
  if (index_) {
    // The index has no WAL: flushing makes the checkpoint durable so the
    // next open has nothing to replay.
    std::lock_guard lock(queue_mutex_);
    if (failed_.ok()) result = index_->flush();
    index_.reset();
  }
  if (snapshots_) {
    if (Status status = snapshots_->close(); !status.ok() && result.ok()) result = status;
  }
  for (const auto& segment : *segments_.snapshot()) {
    if (Status status = segment->file->close(); !status.ok() && result.ok()) result = status;
  }
  lock_.reset();
  return result;
}

}  // namespace evsrc
