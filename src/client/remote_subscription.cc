#include "client/remote_subscription.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "client/remote_codec.h"

namespace evsrc::client {
namespace {

// The server sends a heartbeat comment every 15 s by default: a connection
// silent for this long is dead and is replaced.
constexpr std::chrono::milliseconds kIdleTimeout{45'000};
// Consecutive attempts that deliver nothing before next() reports the error.
constexpr int kMaxFailures = 5;
// The queue holds at least two batches (one being filled while next() takes
// the other).
constexpr std::size_t kMinQueuedEvents = 1024;
constexpr std::size_t kMaxQueuedBytes = 16 << 20;

std::size_t event_bytes(const RecordedEvent& event) {
  return sizeof(RecordedEvent) + event.stream.size() + event.type.size() + event.data.size() + event.metadata.size();
}

// Errors that asking again cannot cure; anything else (a dropped slow
// subscriber, a server restarting) is resumed.
bool is_final(const Status& status) {
  switch (status.code()) {
    case ErrorCode::stream_deleted:
    case ErrorCode::invalid_argument:
    case ErrorCode::not_found:
    case ErrorCode::rejected:
    case ErrorCode::corruption:
    case ErrorCode::too_large:
      return true;
    default:
      return false;
  }
}

class Feed final : public SubscriptionHandle {
 public:
  Feed(std::unique_ptr<HttpClient> client, SubscriptionSource source)
      : client_(std::move(client)),
        source_(std::move(source)),
        max_queued_events_(std::max<std::size_t>(kMinQueuedEvents, 2 * source_.batch_size)),
        next_from_(source_.from) {}

  void cancel() override {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    changed_.notify_all();
    client_->cancel_stream();
  }

  Result<std::vector<RecordedEvent>> next(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    // Like a local subscription's first read, the first answer of the server
    // is waited for whatever `timeout` says (the client's own timeouts bound
    // it): an error such as a tombstoned stream is then reported at once.
    changed_.wait(lock, [&] { return cancelled_ || answered_; });
    changed_.wait_for(lock, timeout, [&] { return cancelled_ || failed_ || !queue_.empty(); });
    if (cancelled_) return Status::closed("subscription cancelled");
    if (queue_.empty()) {
      if (failed_) return error_;
      return std::vector<RecordedEvent>();
    }
    const std::size_t count = std::min<std::size_t>(queue_.size(), source_.batch_size);
    std::vector<RecordedEvent> batch;
    batch.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      queued_bytes_ -= event_bytes(queue_.front());
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    changed_.notify_all();
    return batch;
  }

  // The background thread.
  void run() {
    int failures = 0;
    while (!is_cancelled()) {
      const std::string target = source_.target + (source_.target.find('?') == std::string::npos ? "?" : "&") +
                                 "from=" + std::to_string(next_from_);
      progressed_ = false;
      final_error_ = Status();
      bool opened = false;  // the server answered with a stream
      std::string error_body;
      HttpClient::StreamHooks hooks;
      hooks.on_head = [this, &opened](unsigned head_status) {
        opened = head_status == 200;
        if (opened) mark_answered();
      };
      hooks.on_pause = [this] { (void)flush(); };
      const Result<unsigned> status = client_->stream_events(
          target, {},
          [this](std::string_view, std::string_view event, std::string_view data) { return deliver(event, data); },
          kIdleTimeout, &error_body, hooks);
      if (!flush() || is_cancelled()) return;
      if (!final_error_.ok()) return fail(final_error_);
      if (status.ok() && *status != 200) {
        const Status error = status_from_response(*status, error_body);
        if (is_final(error) || ++failures > kMaxFailures) return fail(error);
        mark_answered();
      } else if (opened) {
        // A stream that ran (and ended, or went silent past kIdleTimeout)
        // is resumed; only failures to get one count.
        failures = 0;
      } else if (++failures > kMaxFailures) {
        return fail(status.ok() ? Status::io_error("the server answered without an event stream") : status.status());
      }
      mark_answered();
      // Back off before asking again: at once after progress, a little after
      // a stream that brought nothing, more after each failure.
      const std::chrono::milliseconds pause(failures > 0 ? std::min(100 << failures, 2000) : progressed_ ? 0 : 100);
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, pause, [&] { return cancelled_; });
    }
  }

 private:
  bool is_cancelled() {
    std::lock_guard lock(mutex_);
    return cancelled_;
  }

  void fail(const Status& error) {
    {
      std::lock_guard lock(mutex_);
      failed_ = true;
      answered_ = true;
      error_ = error;
    }
    changed_.notify_all();
  }

  void mark_answered() {
    {
      std::lock_guard lock(mutex_);
      if (answered_) return;
      answered_ = true;
    }
    changed_.notify_all();
  }

  // One SSE frame; false ends the stream.
  bool deliver(std::string_view event_type, std::string_view data) {
    if (event_type == "error") {
      const Status error = status_from_response(0, data);
      if (is_final(error)) final_error_ = error;
      return false;
    }
    auto event = parse_recorded_event(data);
    if (!event.ok()) {
      final_error_ = event.status();
      return false;
    }
    const std::uint64_t key = source_.by_revision ? event->revision : event->position;
    if (key < next_from_) return true;  // already delivered before a resume
    next_from_ = key + 1;
    progressed_ = true;
    pending_bytes_ += event_bytes(*event);
    pending_.push_back(std::move(event).value());
    return pending_.size() < source_.batch_size || flush();
  }

  // Moves the pending events to the queue, waiting while it is full; false
  // when cancelled. Events go over in bursts (one read of the socket), so
  // next() is woken once per burst rather than once per event.
  bool flush() {
    if (pending_.empty()) return true;
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return cancelled_ || queue_.empty() ||
             (queue_.size() + pending_.size() <= max_queued_events_ &&
              queued_bytes_ + pending_bytes_ <= kMaxQueuedBytes);
    });
    if (cancelled_) return false;
    for (RecordedEvent& event : pending_) queue_.push_back(std::move(event));
    queued_bytes_ += pending_bytes_;
    pending_.clear();
    pending_bytes_ = 0;
    lock.unlock();
    changed_.notify_all();
    return true;
  }

  const std::unique_ptr<HttpClient> client_;
  const SubscriptionSource source_;
  const std::size_t max_queued_events_;

  std::mutex mutex_;
  std::condition_variable changed_;  // queue, failure or cancellation changed
  std::deque<RecordedEvent> queue_;  // GUARDED_BY(mutex_)
  std::size_t queued_bytes_ = 0;     // GUARDED_BY(mutex_)
  bool cancelled_ = false;           // GUARDED_BY(mutex_)
  bool failed_ = false;              // GUARDED_BY(mutex_)
  bool answered_ = false;            // GUARDED_BY(mutex_): the first attempt got an answer (or failed)
  Status error_;                     // GUARDED_BY(mutex_)

  // Only the background thread touches these.
  std::vector<RecordedEvent> pending_;  // parsed, not yet queued (at most batch_size)
  std::size_t pending_bytes_ = 0;
  std::uint64_t next_from_;
  bool progressed_ = false;
  Status final_error_;
};

class SseSubscription final : public Subscription {
 public:
  explicit SseSubscription(std::shared_ptr<Feed> feed)
      : feed_(std::move(feed)), thread_([feed = feed_] { feed->run(); }) {}
  ~SseSubscription() override {
    feed_->cancel();
    thread_.join();
  }
  Result<std::vector<RecordedEvent>> next(std::chrono::milliseconds timeout) override { return feed_->next(timeout); }
  void cancel() override { feed_->cancel(); }

 private:
  std::shared_ptr<Feed> feed_;
  std::thread thread_;
};

}  // namespace

StartedSubscription start_sse_subscription(std::unique_ptr<HttpClient> client, SubscriptionSource source) {
  auto feed = std::make_shared<Feed>(std::move(client), std::move(source));
  StartedSubscription started;
  started.handle = feed;
  started.subscription = std::make_unique<SseSubscription>(std::move(feed));
  return started;
}

}  // namespace evsrc::client
