// The pipelined group commit of the embedded engine (see file_store_impl.h):
// the queue, the encoder and syncer roles and their hand-offs, the store
// threads, the syncer's rounds, and the drain before a new segment. What the
// encoder does with one request is in file_store_writer.cc.
#include <algorithm>
#include <utility>

#include "core/inline_completion.h"
#include "engine/file_store_impl.h"

namespace evsrc {

// --- the queue and the roles ---------------------------------------------

const std::shared_ptr<FileStore::Waker>& FileStore::thread_waker() {
  thread_local const std::shared_ptr<Waker> waker = std::make_shared<Waker>();
  return waker;
}

Status FileStore::submit(Request& request) {
  request.waker = thread_waker();
  Waker& waker = *request.waker;
  std::unique_lock lock(queue_mutex_);
  if (stopping_) return Status::closed("store is closed");
  if (!failed_.ok()) return failed_;
  queue_.push_back(&request);
  queued_bytes_ += request.bytes;
  if (!encoder_busy_) give_encoder_role();
  while (true) {
    if (request.encode_turn) {
      request.encode_turn = false;
      encode_turn(lock, &request);
    } else if (request.sync_turn) {
      request.sync_turn = false;
      sync_turn(lock, &request);
    } else if (request.done.load(std::memory_order_acquire)) {
      break;
    } else {
      // A flag set after this load comes with a wake-up after it.
      const std::uint32_t seen = waker.epoch.load(std::memory_order_acquire);
      lock.unlock();
      waker.epoch.wait(seen, std::memory_order_acquire);
      if (request.done.load(std::memory_order_acquire)) return request.status;  // see Request
      lock.lock();
    }
  }
  return request.status;
}

void FileStore::submit_async(Request* request) {
  std::unique_lock lock(queue_mutex_);
  // Backpressure: wait while the queue holds more than kMaxQueuedGroups
  // groups' worth (a request larger than that waits for an empty queue).
  const std::size_t limit = kMaxQueuedGroups * options_.max_group_bytes;
  room_cv_.wait(lock, [&] {
    return stopping_ || !failed_.ok() || queued_bytes_ == 0 || queued_bytes_ + request->bytes <= limit;
  });
  Status refused;
  if (stopping_) refused = Status::closed("store is closed");
  if (refused.ok() && !failed_.ok()) refused = failed_;
  if (!refused.ok()) {
    lock.unlock();
    request->status = std::move(refused);
    // On the caller's thread, as documented (deferred while it runs a
    // completion: a callback that retries loops instead of recursing).
    complete_inline([request] { run_completion(request); });
    return;
  }
  queue_.push_back(request);
  queued_bytes_ += request->bytes;
  if (!encoder_busy_) give_encoder_role();
}

void FileStore::give_encoder_role() {
  encoder_busy_ = true;
  Request* front = queue_.front();
  if (!front->on_complete) {
    front->encode_turn = true;
    front->waker->wake();
  } else {
    writer_turn_ = true;
    writer_cv_.notify_one();
  }
}

void FileStore::encode_turn(std::unique_lock<std::mutex>& lock, Request* self) {
  // The open group holds at most max_group_bytes plus one request: while it
  // is full (its syncer waits for the one before), the encoder waits for
  // the seal, and the queue fills up to its bound instead.
  roles_cv_.wait(lock, [&] { return open_group_bytes_.load() < options_.max_group_bytes; });
  std::vector<Request*> batch;
  const std::size_t room = options_.max_group_bytes - open_group_bytes_.load();
  std::size_t bytes = 0;
  while (!queue_.empty() && (batch.empty() || bytes + queue_.front()->bytes <= room)) {
    bytes += queue_.front()->bytes;
    batch.push_back(queue_.front());
    queue_.pop_front();
  }
  queued_bytes_ -= bytes;
  room_cv_.notify_all();
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
  // A request whose group was sealed meanwhile needs no syncer of its own.
  const bool blocking = self != nullptr && !self->sealed;
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
  }
  // Else the syncer's next round takes this group.
}

void FileStore::sync_turn(std::unique_lock<std::mutex>& lock, Request* self) {
  // Groups synced but not yet published are bounded: a slower index makes
  // the next groups larger rather than the backlog longer.
  roles_cv_.wait(lock, [&] { return publish_queue_.size() < kMaxPublishBacklog; });
  lock.unlock();
  std::unique_ptr<SealedGroup> synced;
  {
    std::unique_lock group_lock(group_mutex_, std::defer_lock);
    synced = sync_round(group_lock);
  }
  lock.lock();
  mark_sealed(*synced);
  publish_queue_.push_back(std::move(synced));
  pass_syncer_role();
  if (publisher_busy_) return;  // its holder publishes this group too
  publisher_busy_ = true;
  if (self == nullptr) {
    // The sync thread goes on syncing: the publisher thread publishes.
    publisher_turn_ = true;
    publish_cv_.notify_one();
  } else {
    // A blocking request's thread: its request is in this group or an
    // earlier one, so it waits for their publication anyway; publishing
    // here saves two hand-offs while the next syncer syncs the next group.
    publish_turn(lock, self);
  }
}

void FileStore::publish_turn(std::unique_lock<std::mutex>& lock, const Request* self) {
  while (!publish_queue_.empty()) {
    if (self != nullptr && self->done.load()) {
      // Its caller is answered: later groups are the publisher thread's.
      publisher_turn_ = true;
      publish_cv_.notify_one();
      return;
    }
    std::unique_ptr<SealedGroup> group = std::move(publish_queue_.front());
    publish_queue_.pop_front();
    lock.unlock();
    publish(*group);
    std::vector<std::shared_ptr<Waker>> wakes;
    lock.lock();
    complete(group->requests, wakes);
    roles_cv_.notify_all();  // a syncer may wait for room in the backlog
    if (!wakes.empty()) {
      lock.unlock();
      for (const auto& waker : wakes) waker->wake();
      lock.lock();
    }
  }
  publisher_busy_ = false;
  roles_cv_.notify_all();
}

void FileStore::pass_syncer_role() {
  if (open_request_count_.load() == 0) {
    syncer_busy_ = false;
    roles_cv_.notify_all();
    return;
  }
  // More was encoded meanwhile: the sync thread syncs it. When it is the
  // thread passing the role, it goes on without sleeping, round after round
  // while the load lasts (a hand-off to a sleeping thread cost a wake-up
  // between two fdatasyncs: 40-140 us, measured). A blocking encoder may
  // take a turn the sleeping sync thread has not started (ensure_syncer).
  sync_thread_turn_ = true;
  sync_cv_.notify_one();
  roles_cv_.notify_all();
}

void FileStore::mark_sealed(const SealedGroup& group) {
  for (Request* request : group.requests) request->sealed = true;
}

void FileStore::complete(std::vector<Request*>& requests, std::vector<std::shared_ptr<Waker>>& wakes) {
  bool queued = false;
  for (Request* request : requests) {
    if (request->on_complete) {
      completions_.push_back(request);
      queued = true;
    } else {
      // Once done is set the caller may return and destroy the request:
      // only its waker (shared) is used after this.
      wakes.push_back(request->waker);
      request->done.store(true, std::memory_order_release);
    }
  }
  requests.clear();
  if (queued) completion_cv_.notify_one();
}

void FileStore::run_completion(Request* request) {
  // The callback frees the request: it runs from a copy of its own.
  const std::function<void(Request*)> callback = std::move(request->on_complete);
  evsrc::run_completion([&] { callback(request); });
}

void FileStore::run_completions(std::vector<Request*>& requests) {
  for (Request* request : requests) {
    // What this callback's writes complete inline runs as soon as it returns
    // (before the next callback).
    const CompletionScope scope;
    run_completion(request);
  }
  requests.clear();
}

void FileStore::start_threads() {
  writer_thread_ = std::thread([this] { writer_loop(); });
  sync_thread_ = std::thread([this] { sync_loop(); });
  publish_thread_ = std::thread([this] { publish_loop(); });
  completion_thread_ = std::thread([this] { completion_loop(); });
}

// A store thread's loop: sleeps until `turn` is given, plays it, until the
// threads stop.
template <typename Play>
void FileStore::play_turns(std::condition_variable& cv, bool& turn, Play play) {
  std::unique_lock lock(queue_mutex_);
  while (true) {
    cv.wait(lock, [&] { return turn || threads_stop_; });
    if (!turn) return;
    turn = false;
    play(lock);
  }
}

void FileStore::writer_loop() {
  play_turns(writer_cv_, writer_turn_, [this](std::unique_lock<std::mutex>& lock) { encode_turn(lock, nullptr); });
}

void FileStore::sync_loop() {
  play_turns(sync_cv_, sync_thread_turn_, [this](std::unique_lock<std::mutex>& lock) { sync_turn(lock, nullptr); });
}

void FileStore::publish_loop() {
  play_turns(publish_cv_, publisher_turn_,
             [this](std::unique_lock<std::mutex>& lock) { publish_turn(lock, nullptr); });
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
    open_group_bytes_.store(group_.size() - log::kGroupHeaderSize);
  }
  std::lock_guard group_lock(group_mutex_);
  evict_streams();
}

// --- the syncer -----------------------------------------------------------

void FileStore::seal_open_group(SealedGroup& sealed) {
  sealed.requests.swap(open_requests_);
  open_request_count_.fetch_sub(sealed.requests.size());
  sealed.failure = std::exchange(open_failure_, Status());
  // The index answers for the ids of the groups published so far.
  while (!sealed_ids_.empty() && sealed_ids_.front().first <= indexed_seq_.load()) {
    for (const Uuid& id : sealed_ids_.front().second) group_ids_.erase(id);
    sealed_ids_.pop_front();
  }
  sealed.seq = ++sealed_seq_;
  if (!open_ids_.empty()) sealed_ids_.emplace_back(sealed.seq, std::exchange(open_ids_, {}));
  if (group_records_ > 0) {
    sealed.has_bytes = true;
    // The header goes into the room left for it; the buffers change places
    // (no copy of the records).
    std::string header;
    log::append_group_header(header, log::GroupHeader{static_cast<std::uint32_t>(group_.size() - log::kGroupHeaderSize),
                                                      group_records_, group_first_position_});
    group_.replace(0, header.size(), header);
    sealed_bytes_.swap(group_);
    group_.assign(log::kGroupHeaderSize, '\0');
    open_group_bytes_.store(0);
    sealed_location_ = group_location_;
    sealed_first_position_ = group_first_position_;
    totals_.next_group =
        LogLocation{group_location_.segment, static_cast<std::uint32_t>(group_location_.offset + sealed_bytes_.size())};
    group_location_ = totals_.next_group;
    group_first_position_ = totals_.next_position;
    group_records_ = 0;
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
}

std::unique_ptr<FileStore::SealedGroup> FileStore::sync_round(std::unique_lock<std::mutex>& group_lock) {
  auto sealed = std::make_unique<SealedGroup>();
  const bool locked_here = !group_lock.owns_lock();
  if (locked_here) group_lock.lock();
  seal_open_group(*sealed);
  std::optional<LogLocation> at;
  std::shared_ptr<const Segment> segment;
  if (sealed->has_bytes) {
    at = sealed_location_;
    segment = (*segments_.snapshot())[sealed_location_.segment];
  }
  File* const file = segment ? segment->file.get() : nullptr;
  const std::uint64_t capacity = segment ? segment->header.capacity : 0;
  if (locked_here) group_lock.unlock();
  Status failure = sealed->failure;
  if (failure.ok() && failed_flag_.load()) failure = refusal_after_failure();
  // sealed_bytes_ changes only at the next seal, which is this role's.
  if (failure.ok() && file != nullptr) failure = file->write_at(at->offset, sealed_bytes_);
  if (failure.ok() && file != nullptr) {
    const LogLocation end{at->segment, static_cast<std::uint32_t>(at->offset + sealed_bytes_.size())};
    failure = zero_ahead(*file, end, capacity);
  }
  if (failure.ok() && file != nullptr && options_.sync) failure = file->sync();
  // A group that failed encoding is never written: every decision in it
  // may rest on its records too, so every request gets the failure.
  if (!failure.ok()) fail_group(*sealed, failure, /*io_failure=*/true);
  return sealed;
}

Status FileStore::refusal_after_failure() {
  return Status::io_error("store refuses writes after an I/O failure; reopen it to recover what was synced");
}

void FileStore::fail_group(SealedGroup& group, const Status& failure, bool io_failure) {
  // Every success decided in this group may rest on its records (an
  // idempotent retry of a request in the same group, a condition on a
  // stream written earlier in the group): none of them is acknowledged.
  // After an I/O failure every refusal may rest on records that never
  // became durable too (a stream created by the failed group, in this
  // group or an earlier one of the pipeline): all get the failure.
  for (Request* request : group.requests) {
    if (request->status.ok() || io_failure) request->status = failure;
  }
  group.published = false;
  std::lock_guard lock(queue_mutex_);
  if (failed_.ok()) {
    failed_ = Status::io_error("store refuses writes after an I/O failure (" + failure.message() +
                               "); reopen it to recover what was synced");
  }
  failed_flag_.store(true);
  room_cv_.notify_all();
}

void FileStore::publish(SealedGroup& group) {
  if (!group.published) return;  // failed in the syncer: completed with its failure
  // Groups are published in log order: once an index write fails, every
  // later group fails too (the index misses the earlier group's entries).
  // A group synced before a failed sync is published as usual.
  Status failure = publish_failure_;
  if (failure.ok() && group.wrote) failure = write_index(group.batch);
  if (!failure.ok()) {
    publish_failure_ = failure;
    fail_group(group, failure, /*io_failure=*/true);
    return;
  }
  indexed_seq_.store(group.seq);
  if (group.has_bytes || group.wrote) {
    committed_end_.store(group.totals.next_position, std::memory_order_release);
    {
      std::lock_guard lock(stats_mutex_);
      published_totals_ = group.totals;
    }
    { std::lock_guard lock(commit_mutex_); }
    commit_cv_.notify_all();
  }
}

Status FileStore::zero_ahead(File& file, LogLocation end, std::uint64_t capacity) {
  // Zero a chunk whenever the head comes within kZeroLead of the zeroed end:
  // one allocation commit per chunk instead of one per group.
  constexpr std::uint64_t kZeroChunk = 1 << 20;
  constexpr std::uint64_t kZeroLead = 256 << 10;
  std::uint64_t from = end.offset;
  if (zeroed_end_.segment == end.segment) from = std::max<std::uint64_t>(from, zeroed_end_.offset);
  // A group as large as the lead pays for its own blocks once per chunk anyway.
  if (from >= end.offset + kZeroLead || from >= capacity || sealed_bytes_.size() >= kZeroLead) return Status();
  const std::uint64_t to = std::min(capacity, from + kZeroChunk);
  static const std::string zeros(kZeroChunk, '\0');
  if (Status status = file.write_at(from, std::string_view(zeros.data(), to - from)); !status.ok()) return status;
  zeroed_end_ = LogLocation{end.segment, static_cast<std::uint32_t>(to)};
  return Status();
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
  std::unique_ptr<SealedGroup> synced = sync_round(group_lock);
  std::lock_guard lock(queue_mutex_);
  mark_sealed(*synced);
  publish_queue_.push_back(std::move(synced));
  if (!publisher_busy_) {
    publisher_busy_ = true;
    publisher_turn_ = true;
    publish_cv_.notify_one();
  }
}

void FileStore::release_syncer_after_roll() {
  std::lock_guard lock(queue_mutex_);
  pass_syncer_role();
}

}  // namespace evsrc
