// FileStore: the embedded engine behind "file:<dir>" (DESIGN §3).
//
// Layout of <dir>: LOCK (held while open), log/segment-*.evlog (the log, the
// only source of truth), index/ (RocksDB, derived, rebuilt from the log).
//
// Write path: callers validate their request and queue it; a leader (the
// first caller that finds no commit running; there is no writer thread)
// takes every queued request (group commit), checks expectations and
// idempotency against its stream cache, encodes the accepted requests into one
// group, writes it, fdatasyncs once, applies the group's index batch, then
// publishes the new committed end and wakes the callers. Nothing is
// acknowledged before it is synced; after a failed write or sync the store
// refuses writes until it is reopened (DESIGN §3: no fsync retry).
//
// Read path: cursors (event_cursor.h) lend views of the log bytes they read;
// stream cursors go through the index's runs, $all cursors find the nearest
// sparse entry and scan the log. read_stream / read_all are pages of owned
// copies from the same cursors. Readers never look past the committed end,
// so they never see a group that is not synced and indexed.
//
// Files: file_store.cc (API), file_store_cursors.cc (reads: cursors and the
// pages built on them), file_store_writer.cc (group commit),
// file_store_open.cc (open, recovery, rebuild).
#pragma once

#include <atomic>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "core/stream_state.h"
#include "core/write_plan.h"
#include "engine/file_store.h"
#include "engine/index.h"
#include "engine/snapshot_db.h"
#include "engine/log_cursor.h"
#include "engine/segment_set.h"

namespace evsrc {

class FileStore final : public EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(const std::string& directory, const StoreOptions& options);
  ~FileStore() override;

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> events) override;
  Result<TransactionResult> commit(std::span<const TransactionPart> parts) override;
  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override;
  Result<AllPage> read_all(const AllReadOptions& options) override;
  Result<std::unique_ptr<EventCursor>> open_all_cursor(const AllReadOptions& options) override;
  Result<std::unique_ptr<StreamCursor>> open_stream_cursor(std::string_view stream,
                                                           const StreamReadOptions& options) override;
  Result<StreamInfo> stream_info(std::string_view stream) override;
  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override;
  Status delete_stream(std::string_view stream, ExpectedRevision expected) override;
  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override;
  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override;
  Result<StoreStats> stats() override;
  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override;
  SnapshotStore& snapshots() override;
  Status close() override;

 private:
  enum class RequestKind : std::uint8_t { write, set_metadata, soft_delete, tombstone };
  struct Request {
    RequestKind kind = RequestKind::write;
    std::vector<WritePart> parts;
    // append() rather than commit(): errors do not name the part.
    bool single_append = false;
    const StreamMetadata* metadata = nullptr;
    std::size_t bytes = 0;  // encoded size, for group sizing
    Status status;
    TransactionResult result;
    // Guarded by queue_mutex_: the caller sleeps on `cv` until its request
    // is `done` or it is made the leader (`lead`).
    std::condition_variable cv;
    bool done = false;
    bool lead = false;
  };

  FileStore(std::string directory, const StoreOptions& options, Env* env);

  // --- open (file_store_open.cc) ---
  // Bytes [start.offset, end) of one segment: a whole group.
  struct GroupSpan {
    LogLocation start;
    std::uint64_t end = 0;
  };
  Status recover();
  // Opens the index and reads its checkpoint; rebuilds (empty) an index that
  // RocksDB reports damaged, with a warning on stderr naming the damage.
  Result<std::optional<IndexCheckpoint>> open_index();
  Status replay_log(const IndexCheckpoint& start, bool verify_before_start);
  Status cut_torn_tail(std::uint32_t segment, std::uint64_t offset, std::uint64_t nonzero_end);
  // After a failed fsync the kernel may have marked the failed data clean
  // without writing it, so a reopen (without a reboot) reads it back although
  // the disk lacks it ("fsyncgate"). Before anything is appended after it,
  // the part of the log that may be such data — the last group after the
  // index checkpoint, and the header of a segment created after it — is
  // written again and synced, with the log directory.
  Status resync_tail(const IndexCheckpoint& start, const std::optional<GroupSpan>& last_group);

  // --- writer (file_store_writer.cc) ---
  // Queues the request and waits for its result; when no commit is running
  // the caller becomes the leader and commits the queued group itself.
  Status submit(Request& request);
  // Checks and submits a metadata write, soft delete or tombstone.
  Status submit_lifecycle(RequestKind kind, std::string_view stream, ExpectedRevision expected,
                          const StreamMetadata* metadata);
  // REQUIRES: lock holds queue_mutex_ and this thread is the leader.
  void lead(std::unique_lock<std::mutex>& lock);
  void commit_group(std::vector<Request*>& group);
  // Decides one request (plan_write over the stream cache and the events
  // recorded under its ids); on success encodes it into the group. Returns
  // the request's error, if any (nothing encoded then).
  Status prepare(Request& request);
  // Fills `lookup` with what plan_write reads for `request`: the states of
  // its streams and the events recorded under its client-chosen ids.
  class PlanLookup;
  Status load_plan_inputs(const Request& request, PlanLookup& lookup);
  Status encode_write(Request& request);
  Status encode_lifecycle(Request& request);
  Status make_room(std::size_t bytes);
  Status write_group();
  // Applies one record to the stream cache, totals and the index batch.
  Status apply(const log::LogRecord& record, LogLocation group, LogLocation location, std::size_t framed_size);
  // Records a client-chosen event id for idempotent retries. Ids the store
  // generated are fresh random UUIDs that no client can retry with, so they
  // are not indexed (it halves the index writes of an append).
  void index_event_id(const Uuid& id, const EventLocation& location);
  // Extends the run being built by one event, or starts a new one.
  void add_to_run(std::uint64_t stream_id, const log::LogRecord& record, LogLocation group, LogLocation location);
  void flush_run();
  Status finish_batch();
  // The stream's head from the cache (loaded from the index on a miss);
  // nullptr when the stream was never written and !create. Valid until the
  // next evict_streams().
  Result<StreamEntry*> cached_stream(std::string_view name, bool create);
  // Drops streams not used since the last sweep while the cache is over its
  // budget. REQUIRES: no stream is dirty (after finish_batch's write).
  void evict_streams();
  Status read_recorded(const EventLocation& location, std::string* scratch, log::LogRecord* record);

  // --- reads (file_store_cursors.cc; check_open in file_store.cc) ---
  class BackwardAllCursor;
  class FileStreamCursor;
  Status check_open() const;
  // A log cursor at `position` (from the sparse index entry at or before it;
  // records before `position` are the caller's to skip), reading up to `end`.
  Result<LogCursor> cursor_at(Position position, Position end);

  const std::string directory_;
  const StoreOptions options_;
  Env* const env_;
  std::unique_ptr<FileLock> lock_;
  SegmentSet segments_;
  std::unique_ptr<Index> index_;
  // Opened by recover(); closed (not destroyed) by close().
  std::unique_ptr<SnapshotDb> snapshots_;

  // Writer state: owned by the current leader (and by open, before any).
  // The stream cache: the heads of recently written streams (custom metadata
  // left out), at most about options_.stream_cache_bytes (evict_streams).
  struct CachedStream {
    StreamEntry entry;
    bool referenced = true;  // used since the last eviction sweep
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
  };
  std::unordered_map<std::string, CachedStream, NameHash, std::equal_to<>> streams_;
  std::size_t stream_cache_bytes_ = 0;
  std::unordered_set<std::string> dirty_streams_;
  std::unordered_map<Uuid, EventLocation, UuidHash> group_ids_;
  IndexBatch batch_;
  EventRun run_;                  // run being built (count 0: none)
  std::uint64_t run_stream_id_ = 0;
  LogLocation run_group_;
  IndexCheckpoint totals_;        // next position / location / counters
  std::string group_;             // records of the group being built
  LogLocation group_location_;    // where the group being built starts
  Position group_first_position_ = 0;
  std::uint32_t group_records_ = 0;
  Timestamp group_time_{};

  // Queue of requests waiting for a commit. The writer state above belongs
  // to the leader: at most one thread at a time (leader_active_), handed
  // over under queue_mutex_.
  std::mutex queue_mutex_;
  std::deque<Request*> queue_;
  bool leader_active_ = false;
  std::condition_variable leader_idle_cv_;
  bool stopping_ = false;
  Status failed_;  // set once a write or sync failed; guarded by queue_mutex_

  // Published to readers.
  std::atomic<Position> committed_end_{0};
  std::atomic<bool> closed_{false};
  std::mutex commit_mutex_;
  std::condition_variable commit_cv_;
  std::mutex stats_mutex_;
  IndexCheckpoint published_totals_;
};

}  // namespace evsrc
