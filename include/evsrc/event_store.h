// EventStore: the store contract (DESIGN §1), one interface for every backend.
//
// Open a store with open_store(uri): "memory:" (in-process, for tests) or
// "file:<dir>" (the embedded, crash-safe engine; the directory is created when
// absent). Later backends plug in by URI scheme.
//
// Thread-safety: every method may be called concurrently from any thread.
// close() must not race with other calls; after close() every call fails with
// ErrorCode::closed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_cursor.h"
#include "evsrc/options.h"
#include "evsrc/snapshot_store.h"
#include "evsrc/status.h"
#include "evsrc/subscription.h"
#include "evsrc/types.h"

namespace evsrc {

struct AppendResult {
  StreamRevision first_revision = 0;  // revision of the first appended event
  StreamRevision last_revision = 0;   // the stream's new last revision
  Position position = 0;              // position of the last appended event
  friend bool operator==(const AppendResult&, const AppendResult&) = default;
};

// One part of a multi-stream transaction. A part without events is a
// condition only: it checks `expected` and writes nothing to that stream.
struct TransactionPart {
  std::string stream;
  ExpectedRevision expected = ExpectedRevision::any();
  std::vector<EventData> events;
};

// Result of one transaction part. For a condition-only part the revisions
// describe the stream as checked (last_revision = first_revision = its head,
// or nullopt when absent) and position is the transaction's last position.
struct TransactionPartResult {
  std::optional<StreamRevision> first_revision;
  std::optional<StreamRevision> last_revision;
  Position position = 0;
};

struct TransactionResult {
  std::vector<TransactionPartResult> parts;  // one per part, in order
  Position position = 0;                     // position of the last record
};

enum class Direction : std::uint8_t { forward, backward };

struct StreamReadOptions {
  // Inclusive start. Forward: nullopt = the first revision; backward:
  // nullopt = the last revision.
  std::optional<StreamRevision> from;
  Direction direction = Direction::forward;
  std::uint64_t limit = 1000;  // at most this many events in the page
};

struct StreamPage {
  std::vector<RecordedEvent> events;
  // `from` of the next page; nullopt when the read reached the end.
  std::optional<StreamRevision> next;
  StreamRevision last_revision = 0;  // the stream's head when read
};

struct AllReadOptions {
  // Inclusive start. Forward: nullopt = the beginning; backward: nullopt =
  // the end.
  std::optional<Position> from;
  Direction direction = Direction::forward;
  std::uint64_t limit = 1000;
  EventFilter filter;
  // At most this many positions are examined (0: no bound). A filtered page
  // that stops here holds fewer than `limit` events, possibly none, and its
  // `next` says where to go on: a read that matches little costs bounded
  // work per page.
  std::uint64_t scan_limit = 0;
};

struct AllPage {
  std::vector<RecordedEvent> events;
  // `from` of the next page; nullopt when the read reached the end of what
  // is committed (forward) or the beginning (backward).
  std::optional<Position> next;
};

// Per-stream settings. Reads hide what these exclude; space is reclaimed later.
struct StreamMetadata {
  std::optional<std::uint64_t> max_count;         // keep only the newest N events
  std::optional<std::chrono::seconds> max_age;    // hide events older than this
  std::optional<StreamRevision> truncate_before;  // hide revisions below this
  std::string custom;                             // application JSON object (may be empty)
  friend bool operator==(const StreamMetadata&, const StreamMetadata&) = default;
};

struct StreamInfo {
  std::string name;
  // Last revision ever written, also across soft deletes; nullopt if never.
  std::optional<StreamRevision> last_revision;
  bool soft_deleted = false;
  bool tombstoned = false;
  StreamMetadata metadata;
};

struct StoreStats {
  std::uint64_t events = 0;
  std::uint64_t streams = 0;
  std::uint64_t bytes = 0;     // bytes of log records
  std::uint64_t segments = 0;  // log segment files (0 for memory:)
  std::optional<Position> last_position;
  // ok while the store accepts writes; otherwise why it refuses every write
  // (e.g. io_error after a failed sync: reopen it).
  Status write_status;
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Appends `events` to `stream` atomically if `expected` holds.
  // - wrong expectation: wrong_expected_revision with the actual revision;
  //   nothing written.
  // - all event ids already recorded at exactly this place with the same
  //   content: succeeds with the original result, writes nothing.
  // - some ids already recorded elsewhere or with other content:
  //   idempotency_conflict; nothing written.
  // - empty `events`: only checks the expectation.
  virtual Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                                      std::span<const EventData> events) = 0;

  // Commits every part or none. A failing part yields its error with the
  // part index in the message ("part 2: ...").
  virtual Result<TransactionResult> commit(std::span<const TransactionPart> parts) = 0;

  // Asynchronous writes: the same decisions and results as append() and
  // commit(), without a thread waiting for each. The store takes the
  // arguments (moved in) and calls `done` exactly once, with the result
  // append()/commit() would have returned:
  // - never before the write is durable (its group synced) and visible to
  //   readers; a failed group completes every request of it with the error;
  // - completions of the same store come in log order;
  // - on a store thread, or on the calling thread (errors found before
  //   queuing, e.g. invalid_argument or closed; and backends without a
  //   pipeline of their own, whose default runs the blocking call inline);
  // - `done` should be short (it holds up later completions) and must not
  //   throw (an exception is reported on stderr and dropped, so the other
  //   completions still run); it may call the store, blocking calls
  //   included, but not close or destroy it (close() from a callback fails
  //   with invalid_argument);
  // - a completion due on the calling thread while that thread runs a
  //   completion runs right after the outer one returns: a callback that
  //   writes again (a chain of appends, a retry) loops without recursing,
  //   and must not wait for the completion of a write it starts; a retry
  //   after closed or io_error must be bounded (those refusals repeat, and
  //   an unbounded retry loop keeps the completing thread forever);
  // - io_error means the outcome is unknown (the group may have reached the
  //   disk): retry with the same event ids to find out;
  // - the call may wait while the store's queue is full (backpressure: the
  //   embedded engine queues about 4 x StoreOptions::max_group_bytes of
  //   requests not yet encoded), so memory stays bounded whatever the
  //   callers submit; a callback may call it too (the queue drains without
  //   the callbacks).
  // Requests queued before close() are completed before close() returns.
  using AppendCallback = std::function<void(Result<AppendResult>)>;
  using CommitCallback = std::function<void(Result<TransactionResult>)>;
  virtual void append_async(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                            AppendCallback done);
  virtual void commit_async(std::vector<TransactionPart> parts, CommitCallback done);

  // not_found when the stream does not exist or is soft-deleted;
  // stream_deleted when it is tombstoned.
  virtual Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) = 0;

  virtual Result<AllPage> read_all(const AllReadOptions& options) = 0;

  // Borrowing reads (event_cursor.h): the events read_all / read_stream
  // would return for the same options, `limit` bounding the whole cursor
  // (kNoLimit reads to the end), as views valid until the cursor's next
  // step. Errors at opening as the page reads' (invalid_argument, not_found,
  // stream_deleted, closed). The defaults read pages of owned events
  // underneath; the embedded engine shows its log's bytes directly.
  virtual Result<std::unique_ptr<EventCursor>> open_all_cursor(const AllReadOptions& options);
  virtual Result<std::unique_ptr<StreamCursor>> open_stream_cursor(std::string_view stream,
                                                                   const StreamReadOptions& options);
  // True when this store's cursors show its own bytes, holding at most one
  // append's events at a time (the embedded engine: mapped segments, or a
  // buffer of one index run), whatever their limit: a reader may then read a
  // long range through one cursor and bound its memory by what it keeps
  // itself. False for the defaults, which hold a page of up to 1000 owned
  // events underneath (a reader bounding its memory keeps their limits low).
  virtual bool cursors_borrow() const { return false; }

  // Catch-up from a position then live. See subscription.h.
  virtual Result<std::unique_ptr<Subscription>> subscribe_all(const AllSubscriptionOptions& options);
  virtual Result<std::unique_ptr<Subscription>> subscribe_stream(std::string_view stream,
                                                                 const StreamSubscriptionOptions& options);

  // not_found when the stream was never written.
  virtual Result<StreamInfo> stream_info(std::string_view stream) = 0;
  virtual Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) = 0;

  // Soft delete: the stream reads as absent; appending with no_stream or any
  // recreates it and revisions continue after the last one.
  virtual Status delete_stream(std::string_view stream, ExpectedRevision expected) = 0;
  // Hard delete: every later append fails with stream_deleted, forever.
  virtual Status tombstone_stream(std::string_view stream, ExpectedRevision expected) = 0;

  // Stream names in byte order starting at `after` (exclusive), with `prefix`.
  virtual Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                        std::size_t limit) = 0;

  virtual Result<StoreStats> stats() = 0;

  // Blocks until an event at a position > `after` is committed (or any event
  // when `after` is nullopt), the timeout passes, or the store closes.
  // Returns true when there is something new. Used by subscriptions.
  virtual bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) = 0;

  // Snapshots of views of this store's streams, kept beside the events.
  // Valid as long as the store object lives; fails with closed after close().
  virtual SnapshotStore& snapshots() = 0;

  // Flushes and releases everything; reports errors that happened doing so.
  virtual Status close() = 0;

 protected:
  EventStore() = default;
};

// Opens a store by URI: "memory:" or "file:<dir>".
// invalid_argument for an unknown scheme; io_error / corruption from open.
Result<std::unique_ptr<EventStore>> open_store(std::string_view uri, const StoreOptions& options = {});

// Checks a stream name: 1..1024 bytes of valid UTF-8, no NUL, not starting
// with '$' (reserved for the store).
Status validate_stream_name(std::string_view stream);

}  // namespace evsrc
