// CommitListener: what wait_for_commit() of the PostgreSQL backend waits on.
// A thread LISTENs on the store's channel (writers NOTIFY the last position
// of each commit) and wakes the waiters. The notification is only a wake-up:
// readers always read the tables, and after (re)connecting the listener
// reads the head row, so a notification lost while it was disconnected
// costs a little latency, never an event. While it is disconnected, waiters
// fall back to asking the head row themselves.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "evsrc/postgres_connection.h"
#include "evsrc/types.h"

namespace evsrc::pg {

class CommitListener {
 public:
  // `read_head` returns the store's last position (nullopt: empty), or an
  // error; used after connecting and as the fallback.
  CommitListener(std::string uri, PostgresConnectOptions options, std::string channel,
                 std::function<Result<std::optional<Position>>()> read_head);
  ~CommitListener();
  CommitListener(const CommitListener&) = delete;
  CommitListener& operator=(const CommitListener&) = delete;

  // A commit up to `position` is known (from this process's writer or a
  // notification).
  void committed(Position position);
  // See EventStore::wait_for_commit.
  bool wait(std::optional<Position> after, std::chrono::milliseconds timeout);
  // Wakes every waiter (they return false) and stops the thread.
  void stop();

 private:
  void run();
  bool has_new(std::optional<Position> after) const {
    return known_ && (!after || *known_ > *after);
  }

  const std::string uri_;
  const PostgresConnectOptions options_;
  const std::string channel_;
  const std::function<Result<std::optional<Position>>()> read_head_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Position> known_;  // newest committed position known
  bool stopped_ = false;
  std::atomic<bool> listening_{false};
  int wake_pipe_[2] = {-1, -1};  // wakes the thread's poll() on stop()
  std::thread thread_;
};

}  // namespace evsrc::pg
