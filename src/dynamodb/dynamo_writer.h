// DynamoWriter: the DynamoDB backend's group commit. Appends and
// transactions of all threads of a store queue here; one writer thread takes
// what is queued and commits it with ONE TransactWriteItems:
//
//   Update  meta "head"   lp = last + n ...   IF lp = last       (the order)
//   Put     log item(s)   events at last+1 .. IF attribute_not_exists
//   Put     events items  (stream, revision)  IF attribute_not_exists
//   Put     ids items     (event id)          IF attribute_not_exists
//   Put     streams items new heads           IF v = version read (or absent)
//   ConditionCheck        streams a transaction part only checks
//
// The head condition makes every commit of every process take the positions
// right after the previous commit's, so positions become visible in position
// order and a $all reader never sees position p + 1 before p.
//
// Decisions (plan_write: expectations, idempotent replays) are made on the
// writer's cache of stream heads and the head item: one request per group in
// the steady state. When a condition fails (another process wrote, an event
// id is already recorded), the writer re-reads the head, the streams and the
// group's ids (strongly consistent) and decides again — only the head when
// only its condition failed. A refusal or a replay is only ever answered from
// such fresh reads. Contention is retried with backoff for up to 30 s.
//
// TransactWriteItems takes at most 100 items: a group is cut before it would
// need more, and a single write that needs more fails with too_large (at
// most 48 events per append on this backend). Items hold at most 400 KB.
//
// Thread-safety: write() may be called from any thread; stop() from one.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dynamodb/dynamo_client.h"
#include "dynamodb/dynamo_items.h"
#include "dynamodb/dynamo_tables.h"
#include "evsrc/event_store.h"

namespace evsrc::dynamo {

// The largest event this backend stores (its item holds the event and
// about 100 bytes of keys and names; DynamoDB items hold 400 KB).
inline constexpr std::size_t kMaxEventBytes = 390 * 1024;
// Items of one TransactWriteItems.
inline constexpr std::size_t kMaxTransactionItems = 100;

class DynamoWriter {
 public:
  struct Options {
    DynamoClient* client = nullptr;  // not owned
    DynamoUri uri;
    // Called after each commit that wrote events, with its last position.
    std::function<void(Position)> committed;
  };

  explicit DynamoWriter(Options options);
  ~DynamoWriter();
  DynamoWriter(const DynamoWriter&) = delete;
  DynamoWriter& operator=(const DynamoWriter&) = delete;

  // Commits `parts` (ids assigned, validated) in the next group and waits for
  // the outcome. `single_append`: errors without "part N: " and the result of
  // a condition-only part carries the stream's last position. closed after
  // stop().
  Result<TransactionResult> write(std::vector<TransactionPart> parts, bool single_append);

  // Drops the cached head of `stream` (after a metadata change or delete).
  void forget_stream(std::string_view stream);

  // Commits what is queued, then stops; later writes fail with closed.
  void stop();

 private:
  struct Pending;
  struct Attempt;
  void run();
  void commit_group(std::vector<Pending*>& group);
  // Reads the head (when `fresh`, `reread_head` or not cached) and the
  // group's streams (all when `fresh`, else those not cached) and, when
  // `fresh`, the events recorded under the group's ids.
  Status refresh(const std::vector<Pending*>& group, bool fresh, bool reread_head,
                 std::map<Uuid, RecordedEvent>& recorded);
  void finish(std::vector<Pending*>& group, std::vector<std::optional<Result<TransactionResult>>>& outcomes);

  const Options options_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::condition_variable done_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;

  // The writer thread's view of the store (cache_mutex_: forget_stream()).
  std::mutex cache_mutex_;
  std::optional<Head> head_;
  std::map<std::string, StreamRow, std::less<>> streams_;

  std::thread thread_;
};

}  // namespace evsrc::dynamo
