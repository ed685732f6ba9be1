// GroupWriter: the PostgreSQL backend's group commit. Appends and
// transactions of all threads of a store queue here; one writer thread takes
// everything queued, and commits it in ONE database transaction:
//
//   BEGIN; SELECT ... FROM evsrc_head FOR UPDATE          -- the head lock
//   SELECT the streams' rows; SELECT events by the batch's ids
//   decide every write in order (plan_write: expectations, idempotent
//     replays), assign positions last_position + 1, ...
//   one INSERT ... unnest(arrays) of all events, upsert of the stream rows,
//     UPDATE of the head (+ NOTIFY) in one statement
//   COMMIT
//
// The head lock is taken before anything is read and held to COMMIT, so
// writers (also of other processes) are serialised and positions become
// visible in position order: a reader never sees position p + 1 before p.
// Group commit pays for that serialisation: one commit (one WAL flush) and
// five round trips for a whole group instead of per append.
//
// A write that fails its checks gets its error and the others of the group
// still commit. A statement error that is not a connection error (it should
// not happen; e.g. a constraint violated by a concurrent non-evsrc writer)
// rolls the group back and retries its writes one by one, so only the
// culprit fails. A lost connection fails the group's writes with io_error:
// before COMMIT nothing was written; during COMMIT the outcome is unknown and
// the message says so (retrying with the same event ids is safe: idempotent).
//
// Thread-safety: write() may be called from any thread; stop() from one.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres_connection.h"

namespace evsrc::pg {

class GroupWriter {
 public:
  struct Options {
    std::string uri;  // libpq URI
    PostgresConnectOptions connect;
    std::string notify_channel;
    std::function<void()> before_commit_for_testing;
    // Called after each commit that wrote events, with its last position.
    std::function<void(Position)> committed;
  };

  explicit GroupWriter(Options options);
  ~GroupWriter();
  GroupWriter(const GroupWriter&) = delete;
  GroupWriter& operator=(const GroupWriter&) = delete;

  // Commits `parts` (ids assigned, validated) in the next group and waits for
  // the outcome. `single_append`: errors without "part N: " and the result of
  // a condition-only part carries the stream's last position (an append of no
  // events). closed after stop().
  Result<TransactionResult> write(std::vector<TransactionPart> parts, bool single_append);

  // Commits what is queued, then stops; later writes fail with closed.
  void stop();

 private:
  struct Pending;
  void run();
  void commit_group(std::vector<Pending*>& group);
  // One attempt at the group in one transaction. Sets the outcomes of
  // `group` on success and returns ok; returns the transaction's error
  // otherwise (outcomes unset), with `at_commit` telling whether COMMIT
  // itself failed.
  Status try_group(std::vector<Pending*>& group, bool& at_commit);
  Status ensure_connection();

  const Options options_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::condition_variable done_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::optional<PostgresConnection> connection_;  // the writer thread's
  std::thread thread_;
};

}  // namespace evsrc::pg
