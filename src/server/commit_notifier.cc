#include "server/commit_notifier.h"

#include <utility>

namespace evsrc::server {
namespace {
// How long one wait_for_commit() lasts before stop() is checked again.
constexpr std::chrono::milliseconds kPollInterval{200};
}  // namespace

CommitNotifier::CommitNotifier(EventStore& store) : store_(store) {
  thread_ = std::thread([this] { run(); });
}

CommitNotifier::~CommitNotifier() { stop(); }

void CommitNotifier::when_after(std::uint64_t seen, std::function<void()> wake) {
  {
    std::lock_guard lock(mutex_);
    // Checked under the lock run() takes to bump the generation, so a wake-up
    // cannot fall between this check and the registration.
    if (generation_.load(std::memory_order_acquire) <= seen && !stopping_.load(std::memory_order_acquire)) {
      waiters_.push_back(std::move(wake));
      return;
    }
  }
  wake();
}

void CommitNotifier::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    return;
  }
  if (thread_.joinable()) thread_.join();
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    waiters.swap(waiters_);
  }
  for (auto& wake : waiters) wake();
}

void CommitNotifier::run() {
  std::optional<Position> head;
  if (auto stats = store_.stats(); stats.ok()) head = stats.value().last_position;
  while (!stopping_.load(std::memory_order_acquire)) {
    const auto started = std::chrono::steady_clock::now();
    if (!store_.wait_for_commit(head, kPollInterval)) {
      // A closed store answers at once: do not spin.
      if (std::chrono::steady_clock::now() - started < kPollInterval / 2) std::this_thread::sleep_for(kPollInterval);
      continue;
    }
    auto stats = store_.stats();
    if (!stats.ok()) {
      // The store closed or failed: nothing more will come; keep idling until
      // stop() so waiters are woken once, there.
      std::this_thread::sleep_for(kPollInterval);
      continue;
    }
    head = stats.value().last_position;
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mutex_);
      generation_.fetch_add(1, std::memory_order_acq_rel);
      waiters.swap(waiters_);
    }
    for (auto& wake : waiters) wake();
  }
}

}  // namespace evsrc::server
