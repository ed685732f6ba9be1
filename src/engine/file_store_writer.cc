// The write path of the embedded engine, what the encoder does with each
// request: the decision (plan_write over the stream cache), the encoding
// into the open group, the stream cache and the index batch. The roles and
// the syncer are in file_store_pipeline.cc (see file_store_impl.h).
#include <algorithm>

#include "core/append_rules.h"
#include "engine/file_store_impl.h"

namespace evsrc {

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
  if (location.position >= group_first_position_ && within(group_location_, group_.size())) {
    const std::size_t offset = location.record.offset - group_location_.offset;
    return log::decode_record(std::string_view(group_).substr(offset), record);
  }
  if (location.position >= sealed_first_position_ && within(sealed_location_, sealed_bytes_.size())) {
    return log::decode_record(std::string_view(sealed_bytes_).substr(location.record.offset - sealed_location_.offset),
                              record);
  }
  // With pread: a disk error fails the group with io_error; the writer
  // never faults on a mapping.
  return read_record_at(*segments_.snapshot(), location.record, scratch, record, /*use_mapping=*/false);
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
                                 static_cast<std::uint32_t>(group_location_.offset + start)};
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
                             static_cast<std::uint32_t>(group_location_.offset + start)};
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
  if (group_location_.offset + group_.size() + bytes <= capacity) return Status();
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
      // unavailable (out of descriptors): nothing of this request is
      // encoded and the sealed segment is complete, so only this request
      // fails and the next one tries again. io_error fails the store.
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

Status FileStore::write_index(IndexBatch& batch) {
  if (Status status = env_->before_index_write(directory_ + "/index"); !status.ok()) return status;
  return index_->write(batch);
}

Status FileStore::finish_batch() {
  // Replay only (no encoder or syncer runs yet): the batch is written now.
  flush_run();
  for (const std::string& name : dirty_streams_) batch_.put_stream(name, streams_.at(name));
  dirty_streams_.clear();
  batch_.put_checkpoint(totals_);
  Status status = write_index(batch_);
  batch_.clear();
  batch_written_ = false;
  group_ids_.clear();
  open_ids_.clear();
  indexed_seq_.store(++sealed_seq_);
  if (status.ok()) evict_streams();
  return status;
}

}  // namespace evsrc
