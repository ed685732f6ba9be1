// The default subscriptions of every EventStore: pulled pages of read_all /
// read_stream from a cursor the subscription keeps, and wait_for_commit when
// caught up. Nothing is buffered beyond the page being returned, so a slow
// subscriber costs writers nothing (back-pressure by pull).
//
// A subscription refers to its store: the store must outlive it.
#include <algorithm>
#include <atomic>
#include <string>

#include "evsrc/event_store.h"

namespace evsrc {
namespace {

// Longest single wait, so that cancel() from another thread is seen promptly.
constexpr std::chrono::milliseconds kWaitSlice{50};

// Position of the newest committed record (events and the store's system
// records alike); nullopt when the store is empty. Waiting past it with
// wait_for_commit() sleeps until something new is committed, so records a
// read skips (system records, events a filter drops) never make a caught-up
// subscription spin.
Result<std::optional<Position>> last_committed_position(EventStore& store) {
  Result<StoreStats> stats = store.stats();
  if (!stats.ok()) return stats.status();
  return stats->last_position;
}

class PollingSubscription : public Subscription {
 public:
  explicit PollingSubscription(EventStore& store) : store_(store) {}

  Result<std::vector<RecordedEvent>> next(std::chrono::milliseconds timeout) final {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (cancelled_.load()) return Status::closed("subscription cancelled");
      Result<std::vector<RecordedEvent>> batch = poll();
      if (!batch.ok() || !batch->empty()) return batch;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return batch;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      // The answer does not matter: the next poll() reads what is there.
      (void)store_.wait_for_commit(caught_up_at_, std::min(kWaitSlice, left));
    }
  }

  void cancel() final { cancelled_.store(true); }

 protected:
  // Reads the next page from the cursor and moves the cursor past it. When
  // the page is empty, caught_up_at_ must be a position such that every
  // event at or before it has been delivered or can never match.
  virtual Result<std::vector<RecordedEvent>> poll() = 0;

  EventStore& store_;
  std::optional<Position> caught_up_at_;

 private:
  std::atomic<bool> cancelled_{false};
};

class AllSubscription final : public PollingSubscription {
 public:
  AllSubscription(EventStore& store, const AllSubscriptionOptions& options)
      : PollingSubscription(store),
        cursor_(options.from.value_or(0)),
        filter_(options.filter),
        batch_size_(options.batch_size) {}

 private:
  Result<std::vector<RecordedEvent>> poll() override {
    // A page may be empty although records were committed (filtered out,
    // or system records): the head read before the page tells how far the
    // page surely scanned.
    Result<std::optional<Position>> last = last_committed_position(store_);
    if (!last.ok()) return last.status();
    const std::optional<Position> head = *last;
    AllReadOptions options;
    options.from = cursor_;
    options.limit = batch_size_;
    options.filter = filter_;
    Result<AllPage> page = store_.read_all(options);
    if (!page.ok()) return page.status();
    if (!page->events.empty()) cursor_ = page->events.back().position + 1;
    if (page->next) {
      cursor_ = std::max(cursor_, *page->next);
    } else if (head) {
      cursor_ = std::max(cursor_, *head + 1);
    }
    caught_up_at_ = cursor_ == 0 ? std::nullopt : std::optional<Position>(cursor_ - 1);
    return std::move(page->events);
  }

  Position cursor_;  // the next position to read
  const EventFilter filter_;
  const std::uint64_t batch_size_;
};

class StreamSubscription final : public PollingSubscription {
 public:
  StreamSubscription(EventStore& store, std::string_view stream, const StreamSubscriptionOptions& options)
      : PollingSubscription(store),
        stream_(stream),
        next_revision_(options.from.value_or(0)),
        batch_size_(options.batch_size) {}

 private:
  Result<std::vector<RecordedEvent>> poll() override {
    // Commits to any stream wake the wait; the store head read before the
    // page is the point up to which this stream has surely been read.
    Result<std::optional<Position>> head = last_committed_position(store_);
    if (!head.ok()) return head.status();
    StreamReadOptions options;
    options.from = next_revision_;
    options.limit = batch_size_;
    Result<StreamPage> page = store_.read_stream(stream_, options);
    if (!page.ok()) {
      // Not written yet, or soft-deleted: wait for it to (re)appear.
      if (page.status().code() != ErrorCode::not_found) return page.status();
      caught_up_at_ = *head;
      return std::vector<RecordedEvent>();
    }
    if (!page->events.empty()) {
      next_revision_ = page->events.back().revision + 1;
    } else if (page->next) {
      next_revision_ = *page->next;
    } else {
      next_revision_ = std::max(next_revision_, page->last_revision + 1);
    }
    caught_up_at_ = *head;
    return std::move(page->events);
  }

  const std::string stream_;
  StreamRevision next_revision_;
  const std::uint64_t batch_size_;
};

Status check_batch_size(std::uint64_t batch_size) {
  if (batch_size == 0) return Status::invalid_argument("subscription batch_size must be at least 1");
  return Status();
}

}  // namespace

Result<std::unique_ptr<Subscription>> EventStore::subscribe_all(const AllSubscriptionOptions& options) {
  if (Status status = check_batch_size(options.batch_size); !status.ok()) return status;
  return std::unique_ptr<Subscription>(std::make_unique<AllSubscription>(*this, options));
}

Result<std::unique_ptr<Subscription>> EventStore::subscribe_stream(std::string_view stream,
                                                                   const StreamSubscriptionOptions& options) {
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  if (Status status = check_batch_size(options.batch_size); !status.ok()) return status;
  return std::unique_ptr<Subscription>(std::make_unique<StreamSubscription>(*this, stream, options));
}

}  // namespace evsrc
