// The memory: backend. One shared_mutex guards everything: reads take it
// shared, writes exclusively, so a write is atomic to every reader. Positions
// are dense (the index into log_); stream metadata, deletes and tombstones
// take no position.
#include "memory/memory_store.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/append_rules.h"
#include "core/read_paging.h"
#include "core/stream_state.h"
#include "core/write_plan.h"
#include "memory/memory_snapshot_store.h"

namespace evsrc {
namespace {


struct StreamEntry {
  StreamState state;
  std::vector<Position> positions;  // position of each revision, by revision
};

Status closed_status() { return Status::closed("store is closed"); }

class MemoryStore final : public EventStore {
 public:
  explicit MemoryStore(const StoreOptions& options) : limits_(options.limits) {}

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> input) override {
    if (Status status = validate_append(stream, input, limits_); !status.ok()) return status;
    const std::vector<EventData> events = with_assigned_ids(input);
    if (Status status = check_unique_ids(events); !status.ok()) return status;

    std::unique_lock lock(mutex_);
    if (closed_) return closed_status();
    const TransactionPart part{std::string(stream), expected, events};
    Lookup lookup(*this);
    Result<WritePlan> plan = plan_write(std::span(&part, 1), lookup, /*name_parts=*/false);
    if (!plan.ok()) return plan.status();
    if (plan->replay) return *plan->parts[0].replayed;
    StreamEntry* entry = find_stream(stream);
    if (events.empty()) {
      const StreamRevision head = entry != nullptr ? entry->state.visible_revision().value_or(0) : 0;
      const Position position = entry != nullptr && !entry->positions.empty() ? entry->positions.back() : 0;
      return AppendResult{head, head, position};
    }
    StreamEntry& target = entry != nullptr ? *entry : streams_[std::string(stream)];
    const AppendResult result = write(target, stream, events, clamped_now());
    lock.unlock();
    committed_.notify_all();
    return result;
  }

  Result<TransactionResult> commit(std::span<const TransactionPart> input) override {
    std::vector<TransactionPart> parts(input.begin(), input.end());
    for (TransactionPart& part : parts) part.events = with_assigned_ids(part.events);
    if (Status status = validate_transaction(parts, limits_); !status.ok()) return status;

    std::unique_lock lock(mutex_);
    if (closed_) return closed_status();
    Lookup lookup(*this);
    Result<WritePlan> plan = plan_write(parts, lookup, /*name_parts=*/true);
    if (!plan.ok()) return plan.status();
    std::vector<StreamEntry*> entries(parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) entries[i] = find_stream(parts[i].stream);
    if (plan->replay) return replayed_transaction(parts, entries, *plan);
    const Timestamp now = clamped_now();
    const std::size_t log_size_before = log_.size();
    TransactionResult result;
    result.parts.resize(parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].events.empty()) continue;
      StreamEntry& target = entries[i] != nullptr ? *entries[i] : streams_[parts[i].stream];
      entries[i] = &target;
      const AppendResult written = write(target, parts[i].stream, parts[i].events, now);
      result.parts[i] = {written.first_revision, written.last_revision, written.position};
    }
    result.position = log_.empty() ? 0 : log_.size() - 1;
    fill_condition_parts(parts, entries, result);
    const bool wrote = log_.size() != log_size_before;
    lock.unlock();
    if (wrote) committed_.notify_all();
    return result;
  }

  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    std::shared_lock lock(mutex_);
    if (closed_) return closed_status();
    const StreamEntry* entry = find_stream(stream);
    if (Status status = check_readable(stream, entry != nullptr ? &entry->state : nullptr); !status.ok()) {
      return status;
    }
    StreamPage page;
    page.last_revision = *entry->state.last_revision;
    const std::optional<KeyRange> range = stream_read_range(entry->state, options);
    if (!range) return page;
    const Timestamp now = now_timestamp();
    page.next = walk_page(*range, options.limit, 0, [&](std::uint64_t revision) {
      const RecordedEvent& event = log_[entry->positions[revision]];
      if (!entry->state.visible(revision, event.recorded_at, now)) return false;
      page.events.push_back(event);
      return true;
    });
    return page;
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    std::shared_lock lock(mutex_);
    if (closed_) return closed_status();
    AllPage page;
    if (log_.empty()) return page;
    const std::optional<KeyRange> range = clamp_read_range(options.from, options.direction, 0, log_.size() - 1);
    if (!range) return page;
    page.next = walk_page(*range, options.limit, options.scan_limit, [&](std::uint64_t position) {
      const RecordedEvent& event = log_[position];
      if (!options.filter.matches(event)) return false;
      page.events.push_back(event);
      return true;
    });
    return page;
  }

  Result<StreamInfo> stream_info(std::string_view stream) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    std::shared_lock lock(mutex_);
    if (closed_) return closed_status();
    const StreamEntry* entry = find_stream(stream);
    if (entry == nullptr) return Status::not_found("stream " + std::string(stream) + " was never written");
    const StreamState& state = entry->state;
    return StreamInfo{std::string(stream), state.last_revision, state.soft_deleted, state.tombstoned, state.metadata};
  }

  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    std::unique_lock lock(mutex_);
    if (closed_) return closed_status();
    StreamEntry* entry = find_stream(stream);
    if (entry != nullptr && entry->state.tombstoned) {
      return Status::stream_deleted("stream " + std::string(stream) + " is tombstoned");
    }
    if (entry == nullptr) entry = &streams_[std::string(stream)];
    entry->state.metadata = metadata;
    return Status();
  }

  Status delete_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    std::unique_lock lock(mutex_);
    if (closed_) return closed_status();
    StreamEntry* entry = find_stream(stream);
    const StreamState& state = entry != nullptr ? entry->state : kAbsent;
    if (Status status = check_expected_revision(stream, state, expected); !status.ok()) return status;
    if (!state.exists()) return Status::not_found("stream " + std::string(stream) + " does not exist");
    entry->state.soft_deleted = true;
    entry->state.visible_from = entry->state.next_revision();
    return Status();
  }

  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    std::unique_lock lock(mutex_);
    if (closed_) return closed_status();
    StreamEntry* entry = find_stream(stream);
    const StreamState& state = entry != nullptr ? entry->state : kAbsent;
    if (Status status = check_expected_revision(stream, state, expected); !status.ok()) return status;
    if (entry == nullptr) entry = &streams_[std::string(stream)];
    entry->state.tombstoned = true;
    entry->state.soft_deleted = false;
    entry->state.visible_from = entry->state.next_revision();
    return Status();
  }

  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override {
    std::shared_lock lock(mutex_);
    if (closed_) return closed_status();
    std::vector<std::string> names;
    auto it = after.empty() ? streams_.begin() : streams_.upper_bound(after);
    if (it != streams_.end() && std::string_view(it->first) < prefix) it = streams_.lower_bound(prefix);
    for (; it != streams_.end() && names.size() < limit; ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      if (it->second.state.exists()) names.push_back(it->first);
    }
    return names;
  }

  Result<StoreStats> stats() override {
    std::shared_lock lock(mutex_);
    if (closed_) return closed_status();
    StoreStats stats;
    stats.events = log_.size();
    stats.streams = written_streams_;
    stats.bytes = bytes_;
    if (!log_.empty()) stats.last_position = log_.size() - 1;
    return stats;
  }

  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override {
    std::shared_lock lock(mutex_);
    const auto has_new = [&] { return !log_.empty() && (!after || log_.size() - 1 > *after); };
    committed_.wait_for(lock, timeout, [&] { return closed_ || has_new(); });
    return !closed_ && has_new();
  }

  SnapshotStore& snapshots() override { return snapshots_; }

  Status close() override {
    {
      std::unique_lock lock(mutex_);
      if (closed_) return closed_status();
      closed_ = true;
      snapshots_.close();
      log_.clear();
      streams_.clear();
      ids_.clear();
    }
    committed_.notify_all();
    return Status();
  }

 private:
  static inline const StreamState kAbsent{};

  // REQUIRES: mutex_ held (either mode).
  StreamEntry* find_stream(std::string_view stream) {
    const auto it = streams_.find(stream);
    return it == streams_.end() ? nullptr : &it->second;
  }

  // What plan_write() reads: the streams and the id index as they are.
  // REQUIRES: mutex_ held for as long as it is used.
  class Lookup final : public WriteLookup {
   public:
    explicit Lookup(MemoryStore& store) : store_(store) {}
    const StreamState& state(std::string_view stream) override {
      const StreamEntry* entry = store_.find_stream(stream);
      return entry != nullptr ? entry->state : kAbsent;
    }
    std::optional<RecordedEvent> recorded(const Uuid& id) override {
      const auto it = store_.ids_.find(id);
      if (it == store_.ids_.end()) return std::nullopt;
      return store_.log_[it->second];
    }

   private:
    MemoryStore& store_;
  };

  // Appends `events` to the stream. REQUIRES: mutex_ held exclusively; the
  // expectation checked.
  AppendResult write(StreamEntry& entry, std::string_view stream, std::span<const EventData> events, Timestamp now) {
    StreamState& state = entry.state;
    const StreamRevision first = state.next_revision();
    for (std::size_t i = 0; i < events.size(); ++i) {
      const EventData& event = events[i];
      const Position position = log_.size();
      ids_.emplace(event.id, position);
      entry.positions.push_back(position);
      bytes_ += event_size(event);
      log_.push_back(RecordedEvent{std::string(stream), first + i, position, now, event.id, event.type, event.data,
                                   event.metadata, event.content_type});
    }
    if (!state.last_revision) ++written_streams_;
    state.last_revision = first + events.size() - 1;
    state.soft_deleted = false;
    return AppendResult{first, *state.last_revision, log_.size() - 1};
  }

  // Result of a transaction whose event parts were all recorded before.
  TransactionResult replayed_transaction(std::span<const TransactionPart> parts, std::span<StreamEntry* const> entries,
                                         const WritePlan& plan) const {
    TransactionResult result;
    result.parts.resize(parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const std::optional<AppendResult>& replayed = plan.parts[i].replayed;
      if (!replayed) continue;
      result.parts[i] = {replayed->first_revision, replayed->last_revision, replayed->position};
      result.position = std::max(result.position, replayed->position);
    }
    fill_condition_parts(parts, entries, result);
    return result;
  }

  static void fill_condition_parts(std::span<const TransactionPart> parts, std::span<StreamEntry* const> entries,
                                   TransactionResult& result) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].events.empty()) continue;
      const auto head = entries[i] != nullptr ? entries[i]->state.visible_revision() : std::nullopt;
      result.parts[i] = {head, head, result.position};
    }
  }

  // REQUIRES: mutex_ held exclusively.
  Timestamp clamped_now() {
    last_recorded_at_ = std::max(now_timestamp(), last_recorded_at_);
    return last_recorded_at_;
  }

  const Limits limits_;
  mutable std::shared_mutex mutex_;
  // Signalled after each commit that wrote events, and by close().
  std::condition_variable_any committed_;
  bool closed_ = false;
  std::vector<RecordedEvent> log_;  // by position
  std::map<std::string, StreamEntry, std::less<>> streams_;
  std::unordered_map<Uuid, Position, UuidHash> ids_;
  Timestamp last_recorded_at_{};
  std::uint64_t bytes_ = 0;
  std::uint64_t written_streams_ = 0;  // streams with at least one event
  MemorySnapshotStore snapshots_;
};

}  // namespace

Result<std::unique_ptr<EventStore>> new_memory_store(const StoreOptions& options) {
  return std::unique_ptr<EventStore>(std::make_unique<MemoryStore>(options));
}

}  // namespace evsrc
