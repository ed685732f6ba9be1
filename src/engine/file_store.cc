// The embedded engine's API and read paths (see file_store_impl.h).
#include <algorithm>

#include "core/append_rules.h"
#include "core/inline_completion.h"
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

namespace {

// What append() returns for a completed single-append request.
Result<AppendResult> append_result(const Status& status, const TransactionResult& result) {
  if (!status.ok()) return status;
  const TransactionPartResult& part = result.parts.front();
  if (!part.last_revision) {
    // Only an expectation was checked: report the stream as it is.
    return AppendResult{part.first_revision.value_or(0), part.last_revision.value_or(0), result.position};
  }
  return AppendResult{*part.first_revision, *part.last_revision, part.position};
}

template <typename Parts>
std::size_t encoded_bytes(const Parts& parts) {
  std::size_t bytes = 0;
  for (const auto& part : parts) {
    for (const EventData& event : part.events) bytes += log::event_record_size(part.stream, event);
  }
  return bytes;
}

}  // namespace

// An asynchronous request owns what its parts view.
struct FileStore::AsyncRequest : Request {
  std::string stream;
  std::vector<EventData> events;
  std::vector<TransactionPart> transaction;
};

Result<AppendResult> FileStore::append(std::string_view stream, ExpectedRevision expected,
                                       std::span<const EventData> events) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_append(stream, events, options_.limits); !status.ok()) return status;
  if (Status status = check_unique_ids(events); !status.ok()) return status;
  Request request;
  request.single_append = true;
  request.parts.push_back(WritePart{stream, expected, events});
  request.bytes = encoded_bytes(request.parts);
  Status status = submit(request);
  return append_result(status, request.result);
}

void FileStore::append_async(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                             AppendCallback done) {
  Status status = check_open();
  if (status.ok()) status = validate_append(stream, events, options_.limits);
  if (status.ok()) status = check_unique_ids(events);
  if (!status.ok()) {
    complete_inline([done = std::move(done), status = std::move(status)] { done(status); });
    return;
  }
  auto request = std::make_unique<AsyncRequest>();
  request->stream = std::move(stream);
  request->events = std::move(events);
  request->single_append = true;
  request->parts.push_back(WritePart{request->stream, expected, request->events});
  request->bytes = encoded_bytes(request->parts);
  request->on_complete = [done = std::move(done)](Request* completed) {
    const std::unique_ptr<AsyncRequest> owned(static_cast<AsyncRequest*>(completed));
    done(append_result(owned->status, owned->result));
  };
  submit_async(request.release());
}

Result<TransactionResult> FileStore::commit(std::span<const TransactionPart> parts) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_transaction(parts, options_.limits); !status.ok()) return status;
  Request request;
  for (const TransactionPart& part : parts) request.parts.push_back(WritePart{part.stream, part.expected, part.events});
  request.bytes = encoded_bytes(parts);
  if (Status status = submit(request); !status.ok()) return status;
  return std::move(request.result);
}

void FileStore::commit_async(std::vector<TransactionPart> parts, CommitCallback done) {
  Status status = check_open();
  if (status.ok()) status = validate_transaction(parts, options_.limits);
  if (!status.ok()) {
    complete_inline([done = std::move(done), status = std::move(status)] { done(status); });
    return;
  }
  auto request = std::make_unique<AsyncRequest>();
  request->transaction = std::move(parts);
  for (const TransactionPart& part : request->transaction) {
    request->parts.push_back(WritePart{part.stream, part.expected, part.events});
  }
  request->bytes = encoded_bytes(request->transaction);
  request->on_complete = [done = std::move(done)](Request* completed) {
    const std::unique_ptr<AsyncRequest> owned(static_cast<AsyncRequest*>(completed));
    if (!owned->status.ok()) {
      done(owned->status);
    } else {
      done(std::move(owned->result));
    }
  };
  submit_async(request.release());
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
  request.parts.push_back(WritePart{stream, expected, {}});
  request.metadata = metadata;
  request.bytes = kind == RequestKind::set_metadata  ? log::metadata_record_size(stream, *metadata)
                  : kind == RequestKind::soft_delete ? log::deleted_record_size(stream)
                                                     : log::tombstone_record_size(stream);
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

Result<StreamInfo> FileStore::stream_info(std::string_view stream) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  auto entry = index_->stream_with_custom_metadata(stream);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status::not_found("stream " + std::string(stream) + " does not exist");
  StreamState& state = (*entry)->state;
  return StreamInfo{std::string(stream), state.last_revision, state.soft_deleted, state.tombstoned,
                    std::move(state.metadata)};
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
  if (failed_flag_.load()) {
    std::lock_guard lock(queue_mutex_);
    stats.write_status = failed_;
  }
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
  if (completion_thread_.joinable() && std::this_thread::get_id() == completion_thread_.get_id()) {
    // It would wait for itself; the store stays open.
    return Status::invalid_argument("close() called from a completion callback of the same store");
  }
  if (closed_.exchange(true)) return Status::closed("store is already closed");
  {
    // Requests already queued are still committed and completed.
    std::unique_lock lock(queue_mutex_);
    stopping_ = true;
    room_cv_.notify_all();  // append_async waiting for room: refused now
    roles_cv_.wait(lock, [&] {
      return queue_.empty() && !encoder_busy_ && !syncer_busy_ && open_request_count_.load() == 0 &&
             publish_queue_.empty() && !publisher_busy_ && completions_.empty();
    });
    threads_stop_ = true;
  }
  writer_cv_.notify_all();
  sync_cv_.notify_all();
  publish_cv_.notify_all();
  room_cv_.notify_all();
  completion_cv_.notify_all();
  // Joining waits for callbacks the completion thread is still running.
  if (writer_thread_.joinable()) writer_thread_.join();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (publish_thread_.joinable()) publish_thread_.join();
  if (completion_thread_.joinable()) completion_thread_.join();
  { std::lock_guard lock(commit_mutex_); }
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
