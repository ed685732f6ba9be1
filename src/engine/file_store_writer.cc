// The write path of the embedded engine: the encoder and syncer roles of the
// pipelined group commit (see file_store_impl.h).
#include <algorithm>

#include "core/append_rules.h"
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
      sync_turn(lock, &request);
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

void FileStore::sync_turn(std::unique_lock<std::mutex>& lock, Request* self) {
  lock.unlock();
  std::vector<Request*> completed;
  {
    std::unique_lock group_lock(group_mutex_, std::defer_lock);
    completed = sync_round(group_lock);
  }
  lock.lock();
  complete(completed);
  pass_syncer_role(self);
}

void FileStore::pass_syncer_role(Request* /*self*/) {
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
    sync_turn(lock, nullptr);
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
  pass_syncer_role(nullptr);
}

// What plan_write() reads for one request: the states of its streams (the
// leader's cache, which includes the group's earlier requests) and the events
// recorded under its client-chosen ids (the group's own, then the index's).
// Loaded before planning, so that index and log read errors are errors.
class FileStore::PlanLookup final : public WriteLookup {
 public:
  void add_stream(std::string_view stream, const StreamState* state) { states_[stream] = state; }
  void add_recorded(const Uuid& id, RecordedEvent event) { recorded_.emplace(id, std::move(event)); }

  const StreamState& state(std::string_view stream) override {
    const auto it = states_.find(stream);
    return it == states_.end() || it->second == nullptr ? absent_ : *it->second;
  }
  std::optional<RecordedEvent> recorded(const Uuid& id) override {
    const auto it = recorded_.find(id);
    if (it == recorded_.end()) return std::nullopt;
    return it->second;
  }

 private:
  const StreamState absent_{};
  std::unordered_map<std::string_view, const StreamState*> states_;
  std::unordered_map<Uuid, RecordedEvent, UuidHash> recorded_;
};

Status FileStore::load_plan_inputs(const Request& request, PlanLookup& lookup) {
  std::string scratch;
  log::LogRecord record;
  for (const WritePart& part : request.parts) {
    auto entry = cached_stream(part.stream, false);
    if (!entry.ok()) return entry.status();
    lookup.add_stream(part.stream, *entry != nullptr ? &(*entry)->state : nullptr);
    for (const EventData& event : part.events) {
      if (event.id.is_nil()) continue;  // the store assigns it: never recorded before
      std::optional<EventLocation> location;
      if (auto it = group_ids_.find(event.id); it != group_ids_.end()) {
        location = it->second;
      } else {
        auto found = index_->event_id(event.id);
        if (!found.ok()) return found.status();
        location = *found;
      }
      if (!location) continue;
      if (Status status = read_recorded(*location, &scratch, &record); !status.ok()) return status;
      if (record.kind != log::RecordKind::event || record.id != event.id) {
        return Status::corruption("index entry of event id " + event.id.to_string() + " points to another record");
      }
      lookup.add_recorded(event.id, log::to_recorded_event(record));
    }
  }
  return Status();
}

Status FileStore::prepare(Request& request) {
  request.result = TransactionResult{};
  if (request.kind != RequestKind::write) return encode_lifecycle(request);
  PlanLookup lookup;
  if (Status status = load_plan_inputs(request, lookup); !status.ok()) return status;
  Result<WritePlan> plan = plan_write(request.parts, lookup, !request.single_append);
  if (!plan.ok()) return plan.status();
  if (!plan->replay) return encode_write(request);
  // Every part with events was recorded by an earlier identical write: its
  // original result; condition parts report their stream as it is now.
  TransactionResult& result = request.result;
  result.parts.resize(request.parts.size());
  for (std::size_t i = 0; i < request.parts.size(); ++i) {
    const std::optional<AppendResult>& replayed = plan->parts[i].replayed;
    if (!replayed) continue;
    result.parts[i] = {replayed->first_revision, replayed->last_revision, replayed->position};
    result.position = std::max(result.position, replayed->position);
  }
  for (std::size_t i = 0; i < request.parts.size(); ++i) {
    if (!request.parts[i].events.empty()) continue;
    const auto head = lookup.state(request.parts[i].stream).visible_revision();
    result.parts[i] = {head, head, result.position};
  }
  return Status();
}

Status FileStore::read_recorded(const EventLocation& location, std::string* scratch, log::LogRecord* record) {
  // Records of the open group are still in memory; those of the sealed group
  // may not be written yet.
  const auto within = [&](LogLocation start, std::size_t size) {
    return location.record.segment == start.segment && location.record.offset >= start.offset &&
           location.record.offset < start.offset + size;
  };
  if (location.position >= group_first_position_ && within(group_location_, log::kGroupHeaderSize + group_.size())) {
    const std::size_t offset = location.record.offset - group_location_.offset - log::kGroupHeaderSize;
    return log::decode_record(std::string_view(group_).substr(offset), record);
  }
  if (location.position >= sealed_first_position_ && within(sealed_location_, sealed_bytes_.size())) {
    return log::decode_record(std::string_view(sealed_bytes_).substr(location.record.offset - sealed_location_.offset),
                              record);
  }
  return read_record_at(*segments_.snapshot(), location.record, scratch, record);
}

Status FileStore::encode_write(Request& request) {
  std::size_t bytes = 0;
  for (const WritePart& part : request.parts) {
    for (const EventData& event : part.events) bytes += log::event_record_size(part.stream, event);
  }
  if (bytes > 0) {
    if (Status status = make_room(bytes); !status.ok()) return status;
  }
  Position last_position = totals_.next_position == 0 ? 0 : totals_.next_position - 1;
  for (const WritePart& part : request.parts) {
    TransactionPartResult result;
    auto entry = cached_stream(part.stream, !part.events.empty());
    if (!entry.ok()) return entry.status();
    if (part.events.empty()) {
      if (*entry) result.first_revision = result.last_revision = (*entry)->state.visible_revision();
      request.result.parts.push_back(result);
      continue;
    }
    StreamRevision revision = (*entry)->state.next_revision();
    result.first_revision = revision;
    for (const EventData& event : part.events) {
      log::LogRecord record;
      record.kind = log::RecordKind::event;
      record.position = totals_.next_position;
      record.recorded_at = group_time_;
      record.stream = part.stream;
      record.revision = revision;
      const bool client_id = !event.id.is_nil();
      record.id = client_id ? event.id : Uuid::random();
      record.client_id = client_id;
      record.type = event.type;
      record.content_type = event.content_type;
      record.metadata = event.metadata;
      record.data = event.data;
      const std::size_t start = group_.size();
      log::append_event_record(group_, record.position, group_time_, part.stream, revision, record.id, client_id,
                               event);
      const LogLocation location{group_location_.segment,
                                 static_cast<std::uint32_t>(group_location_.offset + log::kGroupHeaderSize + start)};
      if (Status status = apply(record, group_location_, location, group_.size() - start); !status.ok()) return status;
      last_position = record.position;
      result.last_revision = revision++;
    }
    result.position = last_position;
    request.result.parts.push_back(result);
  }
  request.result.position = last_position;
  for (std::size_t i = 0; i < request.parts.size(); ++i) {
    if (request.parts[i].events.empty()) request.result.parts[i].position = last_position;
  }
  return Status();
}

Status FileStore::encode_lifecycle(Request& request) {
  const WritePart& part = request.parts.front();
  auto entry = cached_stream(part.stream, false);
  if (!entry.ok()) return entry.status();
  const StreamState empty;
  const StreamState& state = *entry ? (*entry)->state : empty;
  if (request.kind == RequestKind::set_metadata) {
    if (state.tombstoned) return Status::stream_deleted("stream " + std::string(part.stream) + " is tombstoned");
  } else {
    if (Status status = check_expected_revision(part.stream, state, part.expected); !status.ok()) return status;
    if (request.kind == RequestKind::soft_delete && !state.exists()) {
      return Status::not_found("stream " + std::string(part.stream) + " does not exist");
    }
  }
  if (Status status = make_room(request.bytes); !status.ok()) return status;
  auto target = cached_stream(part.stream, true);
  if (!target.ok()) return target.status();
  log::LogRecord record;
  record.position = totals_.next_position;
  record.recorded_at = group_time_;
  record.stream = part.stream;
  const std::size_t start = group_.size();
  switch (request.kind) {
    case RequestKind::set_metadata:
      record.kind = log::RecordKind::stream_metadata;
      record.stream_metadata = *request.metadata;
      log::append_metadata_record(group_, record.position, group_time_, part.stream, *request.metadata);
      break;
    case RequestKind::soft_delete:
      record.kind = log::RecordKind::stream_deleted;
      record.visible_from = (*target)->state.next_revision();
      log::append_deleted_record(group_, record.position, group_time_, part.stream, record.visible_from);
      break;
    case RequestKind::tombstone:
      record.kind = log::RecordKind::stream_tombstoned;
      log::append_tombstone_record(group_, record.position, group_time_, part.stream);
      break;
    case RequestKind::write:
      return Status::invalid_argument("not a lifecycle request");
  }
  const LogLocation location{group_location_.segment,
                             static_cast<std::uint32_t>(group_location_.offset + log::kGroupHeaderSize + start)};
  if (Status status = apply(record, group_location_, location, group_.size() - start); !status.ok()) return status;
  request.result.position = record.position;
  request.result.parts.push_back(TransactionPartResult{});
  return Status();
}

Status FileStore::make_room(std::size_t bytes) {
  const std::uint64_t capacity = (*segments_.snapshot())[group_location_.segment]->header.capacity;
  const std::uint64_t usable = options_.segment_bytes - log::kSegmentHeaderSize - log::kGroupHeaderSize;
  if (bytes > usable) {
    return Status::too_large("request needs " + std::to_string(bytes) + " bytes of log; a segment holds " +
                             std::to_string(usable));
  }
  if (group_location_.offset + log::kGroupHeaderSize + group_.size() + bytes <= capacity) return Status();
  if (encoder_lock_ == nullptr) return Status::io_error("a new segment is needed outside the encoder");
  // Seal the current segment: everything in it (the group syncing, the open
  // group) is written and synced first, so a later segment always implies a
  // complete earlier one.
  drain_for_roll(*encoder_lock_);
  Status status;
  if (failed_flag_.load()) {
    status = Status::io_error("the group before a new segment failed");
  } else {
    const auto segments = segments_.snapshot();
    const std::uint64_t number = (*segments)[group_location_.segment]->header.number + 1;
    auto segment = segments_.create(number, totals_.next_position, options_.segment_bytes);
    if (!segment.ok()) {
      status = segment.status();
    } else {
      totals_.next_group =
          LogLocation{group_location_.segment + 1, static_cast<std::uint32_t>(log::kSegmentHeaderSize)};
      group_location_ = totals_.next_group;
      group_first_position_ = totals_.next_position;
    }
  }
  release_syncer_after_roll();
  return status;
}

namespace {

// What one cached stream costs: its node (key and value of `value_bytes`,
// next pointer, hash, allocator header), its bucket, and a name too long for
// the string's inline buffer.
std::size_t cached_stream_bytes(const std::string& name, std::size_t value_bytes) {
  constexpr std::size_t kNodeOverhead = sizeof(void*) + sizeof(std::size_t) + 16 + sizeof(void*);
  return kNodeOverhead + sizeof(std::string) + value_bytes + (name.size() > 15 ? name.capacity() + 1 : 0);
}

}  // namespace

Result<FileStore::CachedStream*> FileStore::cached_stream(std::string_view name, bool create) {
  auto it = streams_.find(name);
  if (it == streams_.end()) {
    auto stored = index_->stream(name);
    if (!stored.ok()) return stored.status();
    if (!*stored) {
      if (!create) return static_cast<CachedStream*>(nullptr);
      StreamEntry entry;
      entry.id = totals_.next_stream_id++;
      ++totals_.streams;
      stored = std::optional<StreamEntry>(entry);
    }
    it = streams_.emplace(std::string(name), CachedStream{std::move(**stored)}).first;
    stream_cache_bytes_ += cached_stream_bytes(it->first, sizeof(CachedStream));
  }
  it->second.referenced = true;
  return &it->second;
}

void FileStore::evict_streams() {
  // Second chance: a sweep drops what was not used since the previous one
  // and clears the mark of the rest; a sweep that leaves the cache over
  // budget sweeps again (then nothing has a mark left to save it). A stream
  // written by a group not yet indexed stays: the index does not know it yet.
  const std::uint64_t indexed = indexed_seq_.load();
  for (int sweep = 0; sweep < 2 && stream_cache_bytes_ > options_.stream_cache_bytes; ++sweep) {
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (it->second.group > indexed || dirty_streams_.contains(it->first)) {
        ++it;
      } else if (it->second.referenced) {
        it->second.referenced = false;
        ++it;
      } else {
        stream_cache_bytes_ -= cached_stream_bytes(it->first, sizeof(CachedStream));
        it = streams_.erase(it);
      }
    }
  }
}

Status FileStore::apply(const log::LogRecord& record, LogLocation group, LogLocation location,
                        std::size_t framed_size) {
  auto entry = cached_stream(record.stream, true);
  if (!entry.ok()) return entry.status();
  (*entry)->group = sealed_seq_ + 1;
  batch_written_ = true;
  StreamState& state = (*entry)->state;
  const EventLocation event_location{record.position, location};
  switch (record.kind) {
    case log::RecordKind::event:
      state.last_revision = record.revision;
      state.soft_deleted = false;
      add_to_run((*entry)->id, record, group, location);
      if (record.client_id) index_event_id(record.id, event_location);
      ++totals_.events;
      break;
    case log::RecordKind::stream_metadata:
      // The custom JSON goes to the index only: the cache never holds it.
      batch_.put_custom_metadata(record.stream, record.stream_metadata.custom);
      state.metadata.max_count = record.stream_metadata.max_count;
      state.metadata.max_age = record.stream_metadata.max_age;
      state.metadata.truncate_before = record.stream_metadata.truncate_before;
      std::string().swap(state.metadata.custom);  // no capacity kept either
      break;
    case log::RecordKind::stream_deleted:
      state.soft_deleted = true;
      state.visible_from = record.visible_from;
      break;
    case log::RecordKind::stream_tombstoned:
      state.tombstoned = true;
      break;
  }
  dirty_streams_.emplace(record.stream);
  if (record.position % kSparseInterval == 0) batch_.put_sparse(record.position, SparseEntry{group, location});
  totals_.next_position = record.position + 1;
  totals_.bytes += framed_size;
  totals_.last_recorded_at = std::max(totals_.last_recorded_at, record.recorded_at);
  ++group_records_;
  return Status();
}

void FileStore::add_to_run(std::uint64_t stream_id, const log::LogRecord& record, LogLocation group,
                           LogLocation location) {
  const bool extends = run_.count > 0 && run_.count < kMaxRunLength && run_stream_id_ == stream_id &&
                       run_group_ == group && record.revision == run_.first_revision + run_.count &&
                       record.position == run_.first.position + run_.count;
  if (extends) {
    ++run_.count;
    return;
  }
  flush_run();
  run_ = EventRun{record.revision, EventLocation{record.position, location}, 1};
  run_stream_id_ = stream_id;
  run_group_ = group;
}

void FileStore::flush_run() {
  if (run_.count == 0) return;
  batch_.put_event_run(run_stream_id_, run_);
  run_.count = 0;
}

void FileStore::index_event_id(const Uuid& id, const EventLocation& location) {
  batch_.put_event_id(id, location);
  group_ids_[id] = location;
  open_ids_.push_back(id);
}

Status FileStore::finish_batch() {
  // Replay only (no encoder or syncer runs yet): the batch is written now.
  flush_run();
  for (const std::string& name : dirty_streams_) batch_.put_stream(name, streams_.at(name));
  dirty_streams_.clear();
  batch_.put_checkpoint(totals_);
  Status status = index_->write(batch_);
  batch_.clear();
  batch_written_ = false;
  group_ids_.clear();
  open_ids_.clear();
  indexed_seq_.store(++sealed_seq_);
  if (status.ok()) evict_streams();
  return status;
}

}  // namespace evsrc
