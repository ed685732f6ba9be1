// CommitNotifier: one thread that follows the store's commits and wakes the
// subscriptions waiting for them, so a live subscription costs no thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc::server {

class CommitNotifier {
 public:
  explicit CommitNotifier(EventStore& store);
  ~CommitNotifier();  // stop()
  CommitNotifier(const CommitNotifier&) = delete;
  CommitNotifier& operator=(const CommitNotifier&) = delete;

  // Generation of what has been committed: grows by at least one each time
  // the notifier sees new commits.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Calls `wake` once, from the notifier thread, as soon as generation() >
  // `seen` (at once, on the caller's thread, when it already is), or on
  // stop(). Keep `wake` short: post work elsewhere.
  void when_after(std::uint64_t seen, std::function<void()> wake);

  // Wakes every waiter and joins the thread. Idempotent.
  void stop();

 private:
  void run();

  EventStore& store_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::function<void()>> waiters_;
  std::thread thread_;
};

}  // namespace evsrc::server
