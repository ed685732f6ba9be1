// FileStore: the embedded engine behind "file:<dir>" (DESIGN §3).
//
// Layout of <dir>: LOCK (held while open), log/segment-*.evlog (the log, the
// only source of truth), index/ (RocksDB, derived, rebuilt from the log).
//
// Write path (file_store_pipeline.cc, file_store_writer.cc): callers validate their request and
// queue it (append/commit wait for it; append_async/commit_async return and
// are called back; they wait while the queue is full). A pipeline of three
// roles commits the queue; any thread may hold a role, one at a time each:
// - the encoder takes the queued requests, decides them (plan_write over its
//   stream cache), and encodes the accepted ones into the open group (records
//   and index batch, in memory; at most max_group_bytes plus one request);
// - the syncer seals the open group, writes it with one pwrite (zeroing the
//   segment ahead of it), fdatasyncs once and queues it for publication;
// - the publisher applies each synced group's index batch, publishes the new
//   committed end, and completes its requests, in log order.
// So the next group is decided and encoded while the current one syncs, and
// the one before is indexed and answered meanwhile; only one group at a time
// is written and not yet synced: the log on disk never holds data after an
// unsynced group. A blocking caller plays the roles itself when they are free
// (a lone writer pays no thread hand-off); store threads (writer, sync,
// publish) play them otherwise — the sync thread keeps the syncer role while
// more is open — and a fourth runs asynchronous callbacks (so a callback may
// block on the store).
// Nothing is acknowledged before it is synced and indexed; after a failed
// write, sync or index write that group and every later one fail, and the
// store refuses writes until it is reopened (DESIGN §3: no fsync retry).
//
// Read path: cursors (event_cursor.h) lend views of the log bytes they read;
// stream cursors go through the index's runs, $all cursors find the nearest
// sparse entry and scan the log. read_stream / read_all are pages of owned
// copies from the same cursors. $all readers never look past the committed
// end, so they never see a group that is not synced and indexed; a stream
// read may see a group between its index write and the committed end's
// publication (it is synced then).
//
// Files: file_store.cc (API), file_store_cursors.cc (reads: cursors and the
// pages built on them), file_store_pipeline.cc (group commit: queue, roles,
// syncer), file_store_writer.cc (decide and encode a request),
// file_store_open.cc (open, recovery, rebuild).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/stream_state.h"
#include "core/write_plan.h"
#include "engine/file_store.h"
#include "engine/index.h"
#include "engine/log_cursor.h"
#include "engine/segment_set.h"
#include "engine/snapshot_db.h"

namespace evsrc {

class FileStore final : public EventStore {
 public:
  static Result<std::unique_ptr<EventStore>> open(const std::string& directory, const StoreOptions& options);
  ~FileStore() override;

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> events) override;
  Result<TransactionResult> commit(std::span<const TransactionPart> parts) override;
  void append_async(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                    AppendCallback done) override;
  void commit_async(std::vector<TransactionPart> parts, CommitCallback done) override;
  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override;
  Result<AllPage> read_all(const AllReadOptions& options) override;
  Result<std::unique_ptr<EventCursor>> open_all_cursor(const AllReadOptions& options) override;
  Result<std::unique_ptr<StreamCursor>> open_stream_cursor(std::string_view stream,
                                                           const StreamReadOptions& options) override;
  bool cursors_borrow() const override { return true; }
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
  // Wakes one blocking caller: a thread's, shared with the requests it
  // submits, so that a wake-up that comes after its request is gone (the
  // caller saw it done and returned) only costs the thread a spurious wake.
  struct Waker {
    std::atomic<std::uint32_t> epoch{0};
    void wake() {
      epoch.fetch_add(1, std::memory_order_release);
      epoch.notify_one();
    }
  };
  static const std::shared_ptr<Waker>& thread_waker();
  struct Request {
    RequestKind kind = RequestKind::write;
    std::vector<WritePart> parts;
    // append() rather than commit(): errors do not name the part.
    bool single_append = false;
    const StreamMetadata* metadata = nullptr;
    std::size_t bytes = 0;  // encoded size, for group sizing
    Status status;
    TransactionResult result;
    // Asynchronous requests: called once complete (outside every lock); it
    // owns the request and frees it. Blocking requests (no callback): the
    // caller sleeps on its thread's `waker` until its request is `done` or
    // it is given a role to play (encode_turn, sync_turn). Set under
    // queue_mutex_; `done` is also read without it: a done request has no
    // turn pending (encode turns go to the front of the queue, sync turns to
    // a request of the open group that its own encoder just encoded, and
    // that group is sealed by the holder of that turn), so once it is done
    // its caller returns without taking the lock.
    std::function<void(Request*)> on_complete;
    std::shared_ptr<Waker> waker;
    std::atomic<bool> done{false};
    bool encode_turn = false;
    bool sync_turn = false;
    bool sealed = false;  // its group was synced: it needs no sync turn
  };
  struct AsyncRequest;
  struct CachedStream;
  // A group taken from the open group by the syncer: written and synced
  // outside group_mutex_, then indexed, published and completed by the
  // publisher, in log order.
  struct SealedGroup {
    std::vector<Request*> requests;
    Status failure;          // an encoding failure: the whole group fails
    bool has_bytes = false;  // the group has records (sealed_bytes_)
    bool wrote = false;      // the index batch has entries (batch)
    bool published = true;   // false: failed before publication, statuses set
    IndexBatch batch;
    IndexCheckpoint totals;  // as of the group's end
    std::uint64_t seq = 0;
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

  // --- writer (file_store_pipeline.cc: roles and syncer; file_store_writer.cc: decide and encode) ---
  // Queues a blocking request and waits for its result, playing the roles it
  // is given meanwhile.
  Status submit(Request& request);
  // Queues an asynchronous request (its on_complete is called, also when it
  // is refused here).
  void submit_async(Request* request);
  // Checks and submits a metadata write, soft delete or tombstone.
  Status submit_lifecycle(RequestKind kind, std::string_view stream, ExpectedRevision expected,
                          const StreamMetadata* metadata);
  // The roles. `self` (encode_turn) is the blocking request whose thread plays it,
  // nullptr for the store threads. REQUIRES: lock holds queue_mutex_ (it is
  // released while working), and the caller holds the role.
  // `self` of sync_turn is the blocking request whose thread plays it
  // (nullptr: the sync thread); of publish_turn the same, where the turn
  // ends once that request is done (nullptr: the publisher thread, which
  // publishes until the queue is empty).
  void encode_turn(std::unique_lock<std::mutex>& lock, Request* self);
  void sync_turn(std::unique_lock<std::mutex>& lock, Request* self);
  void publish_turn(std::unique_lock<std::mutex>& lock, const Request* self);
  // REQUIRES: lock holds queue_mutex_, !queue_.empty(), the encoder role is free.
  void give_encoder_role();
  // After an encoding turn: makes sure the open group gets a syncer.
  void ensure_syncer(Request* self);
  // Hands the syncer role on after a round (or frees it).
  void pass_syncer_role();
  // Marks blocking requests done and queues the asynchronous ones for the
  // completion thread, in order; the blocking callers are to be woken with
  // `wakes`, best after queue_mutex_ is released. REQUIRES: queue_mutex_.
  void complete(std::vector<Request*>& requests, std::vector<std::shared_ptr<Waker>>& wakes);
  // After a syncer round, before the group is queued for publication: its
  // requests are sealed (their encoders need no sync turn). REQUIRES:
  // queue_mutex_.
  void mark_sealed(const SealedGroup& group);
  static void run_completion(Request* request);
  static void run_completions(std::vector<Request*>& requests);
  // The store threads: started by open, stopped by close.
  void start_threads();
  void writer_loop();
  void sync_loop();
  void publish_loop();
  void completion_loop();
  template <typename Play>
  void play_turns(std::condition_variable& cv, bool& turn, Play play);
  // Encodes `batch` into the open group (takes group_mutex_ per request).
  void encode_batch(std::vector<Request*>& batch);
  // One syncer round: seals the open group, writes and syncs it. Returns it
  // for publication (statuses set when it failed). REQUIRES: the syncer
  // role; `group_lock` holds group_mutex_ (taken here when not owned).
  std::unique_ptr<SealedGroup> sync_round(std::unique_lock<std::mutex>& group_lock);
  // The publisher: writes the group's index batch and publishes its end to
  // readers (nothing for a group that failed in the syncer). REQUIRES: the
  // publisher role.
  void publish(SealedGroup& group);
  // Gives every request of `group` that must not be acknowledged the
  // failure (every request after an I/O failure, io_failure) and stops the
  // store's writes.
  void fail_group(SealedGroup& group, const Status& failure, bool io_failure);
  static Status refusal_after_failure();
  // REQUIRES: group_mutex_.
  void seal_open_group(SealedGroup& sealed);
  // Called by the encoder (holding group_mutex_ through `group_lock`) before
  // a new segment: waits for the syncer role, syncs what the open group
  // holds, and keeps the role until release_syncer_after_roll().
  void drain_for_roll(std::unique_lock<std::mutex>& group_lock);
  void release_syncer_after_roll();
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
  // Makes room in the current segment for `bytes` more of the open group,
  // starting a new segment (after syncing everything before it) if needed.
  // REQUIRES: the encoder role, group_mutex_ held through `group_lock`.
  Status make_room(std::size_t bytes);
  // Applies one record to the stream cache, totals and the index batch.
  Status apply(const log::LogRecord& record, LogLocation group, LogLocation location, std::size_t framed_size);
  // Records a client-chosen event id for idempotent retries. Ids the store
  // generated are fresh random UUIDs that no client can retry with, so they
  // are not indexed (it halves the index writes of an append).
  void index_event_id(const Uuid& id, const EventLocation& location);
  // Extends the run being built by one event, or starts a new one.
  void add_to_run(std::uint64_t stream_id, const log::LogRecord& record, LogLocation group, LogLocation location);
  void flush_run();
  // Every index write goes through here: Env::before_index_write first.
  Status write_index(IndexBatch& batch);
  Status finish_batch();
  // The stream's head from the cache (loaded from the index on a miss);
  // nullptr when the stream was never written and !create. Valid until the
  // next evict_streams().
  Result<CachedStream*> cached_stream(std::string_view name, bool create);
  // Drops streams not used since the last sweep while the cache is over its
  // budget; never one written by a group not yet indexed.
  void evict_streams();
  Status read_recorded(const EventLocation& location, std::string* scratch, log::LogRecord* record);
  // Called by the syncer after writing a group that ends at `end`, before
  // its fdatasync: keeps the next 256 KiB to 1 MiB of the segment written
  // with zeros, so that later groups land in written blocks and their
  // fdatasync has no block allocation to commit (on ext4/XFS a preallocated
  // block written for the first time costs a metadata write at the next
  // fdatasync: 2x the sync time of small groups, measured). The zeros read
  // as the never-written, preallocated tail that recovery expects.
  Status zero_ahead(File& file, LogLocation end, std::uint64_t capacity);

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

  // Writer state: owned by the encoder (and by open, before any), guarded by
  // group_mutex_ (the syncer seals the open group under it).
  std::mutex group_mutex_;
  // The stream cache: the heads of recently written streams (custom metadata
  // left out), at most about options_.stream_cache_bytes (evict_streams).
  struct CachedStream : StreamEntry {
    bool referenced = true;   // used since the last eviction sweep
    std::uint64_t group = 0;  // seq of the last group that wrote it
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
  };
  std::unordered_map<std::string, CachedStream, NameHash, std::equal_to<>> streams_;
  std::size_t stream_cache_bytes_ = 0;
  std::unordered_set<std::string> dirty_streams_;
  // Client ids of the open group and of the sealed groups not yet indexed
  // (by group seq; the index answers for the others).
  std::unordered_map<Uuid, EventLocation, UuidHash> group_ids_;
  std::vector<Uuid> open_ids_;
  std::deque<std::pair<std::uint64_t, std::vector<Uuid>>> sealed_ids_;
  IndexBatch batch_;
  bool batch_written_ = false;  // the open group put something in batch_
  EventRun run_;                // run being built (count 0: none)
  std::uint64_t run_stream_id_ = 0;
  LogLocation run_group_;
  IndexCheckpoint totals_;      // next position / location / counters
  // The open group as it will be written: room for its header (filled in
  // when sealed), then its records.
  std::string group_ = std::string(log::kGroupHeaderSize, '\0');
  LogLocation group_location_;  // where the open group starts
  Position group_first_position_ = 0;
  std::uint32_t group_records_ = 0;
  Timestamp group_time_{};
  std::vector<Request*> open_requests_;
  Status open_failure_;
  std::uint64_t sealed_seq_ = 0;  // groups sealed so far (the open group is sealed_seq_ + 1)
  // The sealed group's bytes (header and records) and place: read by the
  // encoder (under group_mutex_) until they are written; replaced only by
  // the next seal.
  std::string sealed_bytes_;
  LogLocation sealed_location_;
  Position sealed_first_position_ = 0;
  std::atomic<std::uint64_t> indexed_seq_{0};  // groups whose index batch is written
  std::unique_lock<std::mutex>* encoder_lock_ = nullptr;  // group_mutex_, while encoding a request
  // Syncer state: the active segment is written with zeros up to here
  // (zero_ahead); below the write head when nothing was zeroed yet.
  LogLocation zeroed_end_;

  // The queue and the roles, guarded by queue_mutex_ (taken after
  // group_mutex_ when both are held, never before it).
  std::mutex queue_mutex_;
  std::deque<Request*> queue_;
  // Bytes of the requests in queue_: append_async waits while more than
  // kMaxQueuedGroups x max_group_bytes are queued (room_cv_).
  static constexpr std::size_t kMaxQueuedGroups = 4;
  std::size_t queued_bytes_ = 0;
  std::condition_variable room_cv_;
  // Record bytes of the open group (set by the encoder and the seal; read
  // by encode_turn, which waits while it is max_group_bytes or more).
  std::atomic<std::size_t> open_group_bytes_{0};
  bool encoder_busy_ = false;
  bool syncer_busy_ = false;
  bool writer_turn_ = false;           // the encoder role is the writer thread's
  bool sync_thread_turn_ = false;      // the syncer role waits for the sync thread (another may take it)
  // Completed asynchronous requests, in log order: only the completion
  // thread runs their callbacks, one at a time, so they come in that order.
  std::deque<Request*> completions_;
  // Synced groups waiting for the publisher, in log order; at most
  // kMaxPublishBacklog (sync_turn waits), and one more during a segment
  // roll (drain_for_roll does not wait).
  static constexpr std::size_t kMaxPublishBacklog = 4;
  std::deque<std::unique_ptr<SealedGroup>> publish_queue_;
  bool publisher_busy_ = false;
  bool publisher_turn_ = false;  // the publisher role is the publish thread's
  Status publish_failure_;       // the publisher role's: an index write failed
  std::atomic<std::size_t> open_request_count_{0};  // requests in the open group
  std::condition_variable writer_cv_;
  std::condition_variable sync_cv_;
  std::condition_variable publish_cv_;
  std::condition_variable completion_cv_;
  std::condition_variable roles_cv_;  // a role was freed or handed on
  bool stopping_ = false;
  bool threads_stop_ = false;
  Status failed_;  // set once a write or sync failed
  std::atomic<bool> failed_flag_{false};
  std::thread writer_thread_;
  std::thread sync_thread_;
  std::thread publish_thread_;
  std::thread completion_thread_;

  // Published to readers.
  std::atomic<Position> committed_end_{0};
  std::atomic<bool> closed_{false};
  std::mutex commit_mutex_;
  std::condition_variable commit_cv_;
  std::mutex stats_mutex_;
  IndexCheckpoint published_totals_;
};

}  // namespace evsrc
