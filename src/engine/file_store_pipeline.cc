// The pipelined group commit of the embedded engine (see file_store_impl.h):
// the queue, the encoder and syncer roles and their hand-offs, the store
// threads, the syncer's rounds, and the drain before a new segment. What the
// encoder does with one request is in file_store_writer.cc.
#include <algorithm>
#include <utility>

#include "engine/file_store_impl.h"

namespace evsrc {

// --- the queue and the roles ---------------------------------------------

Status FileStore::submit(Request& request) {
  std::unique_lock lock(queue_mutex_);
  if (stopping_) return Status::closed("store is closed");
  if (!failed_.ok()) return failed_;
  queue_.push_back(&request);
  if (!encoder_busy_) give_encoder_role();
  while (true) {
    request.cv.wait(lock, [&] { return request.done || request.encode_turn || request.sync_turn; });
    if (request.done) break;
    if (request.encode_turn) {
      request.encode_turn = false;
      encode_turn(lock, &request);
    } else {
      request.sync_turn = false;
      sync_turn(lock);
    }
  }
  return request.status;
}

void FileStore::submit_async(Request* request) {
  std::unique_lock lock(queue_mutex_);
  Status refused;
  if (stopping_) refused = Status::closed("store is closed");
  if (refused.ok() && !failed_.ok()) refused = failed_;
  if (!refused.ok()) {
    lock.unlock();
    request->status = std::move(refused);
    std::vector<Request*> refused_request{request};
    run_completions(refused_request);  // on the caller's thread, as documented
    return;
  }
  queue_.push_back(request);
  if (!encoder_busy_) give_encoder_role();
}

void FileStore::give_encoder_role() {
  encoder_busy_ = true;
  Request* front = queue_.front();
  if (!front->on_complete) {
    front->encode_turn = true;
    front->cv.notify_one();
  } else {
    writer_turn_ = true;
    writer_cv_.notify_one();
  }
}

void FileStore::encode_turn(std::unique_lock<std::mutex>& lock, Request* self) {
  std::vector<Request*> batch;
  std::size_t bytes = 0;
  while (!queue_.empty() && (batch.empty() || bytes + queue_.front()->bytes <= options_.max_group_bytes)) {
    bytes += queue_.front()->bytes;
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  lock.unlock();
  encode_batch(batch);
  lock.lock();
  if (!queue_.empty()) {
    give_encoder_role();
  } else {
    encoder_busy_ = false;
    roles_cv_.notify_all();
  }
  ensure_syncer(self);
}

void FileStore::ensure_syncer(Request* self) {
  if (open_request_count_.load() == 0) return;  // sealed meanwhile
  const bool blocking = self != nullptr && !self->done;
  if (!syncer_busy_) {
    syncer_busy_ = true;
    if (blocking) {
      self->sync_turn = true;
    } else {
      sync_thread_turn_ = true;
      sync_cv_.notify_one();
    }
  } else if (blocking && sync_thread_turn_) {
    // The sync thread has not started its turn yet: this thread takes it
    // (one hand-off less).
    sync_thread_turn_ = false;
    self->sync_turn = true;
  } else if (blocking) {
    sync_waiters_.push_back(self);
  }
}

void FileStore::sync_turn(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::vector<Request*> completed;
  {
    std::unique_lock group_lock(group_mutex_, std::defer_lock);
    completed = sync_round(group_lock);
  }
  lock.lock();
  complete(completed);
  pass_syncer_role();
}

void FileStore::pass_syncer_role() {
  if (open_request_count_.load() == 0) {
    syncer_busy_ = false;
    roles_cv_.notify_all();
    return;
  }
  // More was encoded meanwhile: its own blocking encoder syncs it, or else
  // the sync thread (an encoder waiting for a roll may take the turn first).
  if (!sync_waiters_.empty()) {
    Request* next = sync_waiters_.front();
    sync_waiters_.pop_front();
    next->sync_turn = true;
    next->cv.notify_one();
    return;
  }
  sync_thread_turn_ = true;
  sync_cv_.notify_one();
  roles_cv_.notify_all();
}

void FileStore::complete(std::vector<Request*>& requests) {
  bool queued = false;
  for (Request* request : requests) {
    if (request->on_complete) {
      completions_.push_back(request);
      queued = true;
    } else {
      // Under the lock: once it is released the caller may return and
      // destroy the request (so it leaves the waiters too).
      request->done = true;
      std::erase(sync_waiters_, request);
      request->cv.notify_one();
    }
  }
  requests.clear();
  if (queued) completion_cv_.notify_one();
}

void FileStore::run_completions(std::vector<Request*>& requests) {
  for (Request* request : requests) {
    // The callback frees the request: it runs from a copy of its own.
    const std::function<void(Request*)> callback = std::move(request->on_complete);
    callback(request);
  }
  requests.clear();
}

void FileStore::start_threads() {
  writer_thread_ = std::thread([this] { writer_loop(); });
  sync_thread_ = std::thread([this] { sync_loop(); });
  completion_thread_ = std::thread([this] { completion_loop(); });
}

void FileStore::writer_loop() {
  std::unique_lock lock(queue_mutex_);
  while (true) {
    writer_cv_.wait(lock, [&] { return writer_turn_ || threads_stop_; });
    if (!writer_turn_) return;
    writer_turn_ = false;
    encode_turn(lock, nullptr);
  }
}

void FileStore::sync_loop() {
  std::unique_lock lock(queue_mutex_);
  while (true) {
    sync_cv_.wait(lock, [&] { return sync_thread_turn_ || threads_stop_; });
    if (!sync_thread_turn_) return;
    sync_thread_turn_ = false;
    sync_turn(lock);
  }
}

void FileStore::completion_loop() {
  std::unique_lock lock(queue_mutex_);
  while (true) {
    completion_cv_.wait(lock, [&] { return !completions_.empty() || threads_stop_; });
    if (completions_.empty()) return;  // stopping, nothing left
    // The only thread that runs callbacks, in the order they were queued
    // (log order). A callback may block on the store (a blocking append
    // waits for roles other threads play), but holds up later callbacks.
    std::vector<Request*> batch(completions_.begin(), completions_.end());
    completions_.clear();
    lock.unlock();
    run_completions(batch);
    lock.lock();
    if (completions_.empty()) roles_cv_.notify_all();
  }
}

// --- the encoder ----------------------------------------------------------

void FileStore::encode_batch(std::vector<Request*>& batch) {
  for (Request* request : batch) {
    std::unique_lock group_lock(group_mutex_);
    encoder_lock_ = &group_lock;
    if (open_requests_.empty() && group_records_ == 0) {
      group_time_ = std::max(now_timestamp(), totals_.last_recorded_at);
    }
    if (!open_failure_.ok()) {
      request->status = open_failure_;
    } else if (failed_flag_.load()) {
      request->status =
          Status::io_error("store refuses writes after an I/O failure; reopen it to recover what was synced");
    } else {
      const Position before = totals_.next_position;
      request->status = prepare(*request);
      const bool encoded = totals_.next_position != before;
      if (!request->status.ok() && (encoded || request->status.code() == ErrorCode::io_error)) {
        // Part of this request is already in the group (or the disk failed):
        // the whole group fails, so no request commits half of its records.
        open_failure_ = request->status;
      }
    }
    encoder_lock_ = nullptr;
    open_requests_.push_back(request);
    open_request_count_.fetch_add(1);
  }
  std::lock_guard group_lock(group_mutex_);
  evict_streams();
}

// --- the syncer -----------------------------------------------------------

void FileStore::seal_open_group(SealedGroup& sealed) {
  sealed.requests.swap(open_requests_);
  open_request_count_.fetch_sub(sealed.requests.size());
  sealed.failure = std::exchange(open_failure_, Status());
  // The previous sealed group is indexed: the index answers for its ids.
  for (const Uuid& id : sealed_ids_) group_ids_.erase(id);
  sealed_ids_.clear();
  sealed_ids_.swap(open_ids_);
  if (group_records_ > 0) {
    sealed.has_bytes = true;
    sealed_bytes_.clear();
    log::append_group_header(sealed_bytes_, log::GroupHeader{static_cast<std::uint32_t>(group_.size()), group_records_,
                                                             group_first_position_});
    sealed_bytes_.append(group_);
    sealed_location_ = group_location_;
    sealed_first_position_ = group_first_position_;
    totals_.next_group =
        LogLocation{group_location_.segment, static_cast<std::uint32_t>(group_location_.offset + sealed_bytes_.size())};
    group_location_ = totals_.next_group;
    group_first_position_ = totals_.next_position;
    group_records_ = 0;
    group_.clear();
  }
  if (batch_written_) {
    flush_run();
    for (const std::string& name : dirty_streams_) batch_.put_stream(name, streams_.at(name));
    dirty_streams_.clear();
    batch_.put_checkpoint(totals_);
    sealed.batch.swap(batch_);
    batch_.clear();
    batch_written_ = false;
    sealed.wrote = true;
  }
  sealed.totals = totals_;
  sealed.seq = ++sealed_seq_;
}

std::vector<FileStore::Request*> FileStore::sync_round(std::unique_lock<std::mutex>& group_lock) {
  SealedGroup sealed;
  const bool locked_here = !group_lock.owns_lock();
  if (locked_here) group_lock.lock();
  seal_open_group(sealed);
  std::optional<LogLocation> at;
  File* file = nullptr;
  if (sealed.has_bytes) {
    at = sealed_location_;
    file = (*segments_.snapshot())[sealed_location_.segment]->file.get();
  }
  if (locked_here) group_lock.unlock();
  Status failure = sealed.failure;
  if (failure.ok() && failed_flag_.load()) {
    failure = Status::io_error("store refuses writes after an I/O failure; reopen it to recover what was synced");
  }
  // sealed_bytes_ changes only at the next seal, which is this role's.
  if (failure.ok() && file != nullptr) failure = file->write_at(at->offset, sealed_bytes_);
  if (failure.ok() && file != nullptr && options_.sync) failure = file->sync();
  if (failure.ok() && sealed.wrote) failure = index_->write(sealed.batch);
  if (!failure.ok()) {
    // Every success decided in this group may rest on its records (an
    // idempotent retry of a request in the same group, a condition on a
    // stream written earlier in the group): none of them is acknowledged.
    // After an I/O failure every refusal may rest on records that never
    // became durable too (a stream created by the failed group, in this
    // group or an earlier one of the pipeline): all get the failure.
    const bool io_failure = sealed.failure.ok();
    for (Request* request : sealed.requests) {
      if (request->status.ok() || io_failure) request->status = failure;
    }
    std::lock_guard lock(queue_mutex_);
    if (failed_.ok()) {
      failed_ = Status::io_error("store refuses writes after an I/O failure (" + failure.message() +
                                 "); reopen it to recover what was synced");
    }
    failed_flag_.store(true);
    return std::move(sealed.requests);
  }
  indexed_seq_.store(sealed.seq);
  if (sealed.has_bytes || sealed.wrote) {
    committed_end_.store(sealed.totals.next_position, std::memory_order_release);
    {
      std::lock_guard lock(stats_mutex_);
      published_totals_ = sealed.totals;
    }
    { std::lock_guard lock(commit_mutex_); }
    commit_cv_.notify_all();
  }
  return std::move(sealed.requests);
}

void FileStore::drain_for_roll(std::unique_lock<std::mutex>& group_lock) {
  // Wait for the syncer role (free, or a sync-thread turn not yet started)
  // with group_mutex_ released, so that the syncer can seal meanwhile.
  group_lock.unlock();
  {
    std::unique_lock lock(queue_mutex_);
    roles_cv_.wait(lock, [&] { return !syncer_busy_ || sync_thread_turn_; });
    syncer_busy_ = true;
    sync_thread_turn_ = false;
  }
  group_lock.lock();
  std::vector<Request*> completed = sync_round(group_lock);
  std::lock_guard lock(queue_mutex_);
  complete(completed);
}

void FileStore::release_syncer_after_roll() {
  std::lock_guard lock(queue_mutex_);
  pass_syncer_role();
}

}  // namespace evsrc
