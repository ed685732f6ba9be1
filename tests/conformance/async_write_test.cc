// Asynchronous writes (append_async / commit_async, event_store.h): the same
// decisions as the blocking calls, each callback called exactly once, never
// before the write is visible, in log order; queued requests are completed
// by close().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

using namespace std::chrono_literals;

// Collects the results of asynchronous appends, in the order of the calls.
class AppendResults {
 public:
  EventStore::AppendCallback slot(std::size_t index) {
    std::lock_guard lock(mutex_);
    if (results_.size() <= index) results_.resize(index + 1);
    return [this, index](Result<AppendResult> result) {
      std::lock_guard lock(mutex_);
      if (results_[index]) ++duplicates_;
      results_[index] = std::move(result);
      order_.push_back(index);
      cv_.notify_all();
    };
  }

  // Waits (bounded: a hang is a failure, not a stuck test) for `count` calls.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 60s, [&] { return order_.size() >= count; });
  }

  std::vector<std::optional<Result<AppendResult>>> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  std::vector<std::size_t> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }
  std::size_t duplicates() {
    std::lock_guard lock(mutex_);
    return duplicates_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::optional<Result<AppendResult>>> results_;
  std::vector<std::size_t> order_;
  std::size_t duplicates_ = 0;
};

TEST_P(StoreConformance, AsyncAppendsCompleteOnceInLogOrder) {
  constexpr std::size_t kAppends = 400;
  AppendResults results;
  std::vector<std::vector<EventData>> sent;
  for (std::size_t i = 0; i < kAppends; ++i) {
    std::vector<EventData> events = make_events(1 + i % 3);
    sent.push_back(events);
    store().append_async("async-" + std::to_string(i % 10), ExpectedRevision::any(), std::move(events),
                         results.slot(i));
  }
  ASSERT_TRUE(results.wait_for(kAppends)) << "not every callback was called";
  EXPECT_EQ(results.duplicates(), 0u);
  const auto all = results.results();
  const auto order = results.order();
  // Completions in log order: positions grow along the order of callbacks.
  Position last = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& result = all[order[k]];
    ASSERT_TRUE(result.has_value());
    ASSERT_OK(*result);
    if (k > 0) {
      EXPECT_GT((*result)->position, last) << "completion " << k << " out of log order";
    }
    last = (*result)->position;
  }
  // Every append is where its result says, with its events.
  for (std::size_t i = 0; i < kAppends; ++i) {
    const AppendResult& result = **all[i];
    StreamReadOptions options;
    options.from = result.first_revision;
    options.limit = sent[i].size();
    Result<StreamPage> page = store().read_stream("async-" + std::to_string(i % 10), options);
    ASSERT_OK(page);
    ASSERT_EQ(page->events.size(), sent[i].size());
    for (std::size_t e = 0; e < sent[i].size(); ++e) EXPECT_EQ(page->events[e].id, sent[i][e].id);
    EXPECT_EQ(page->events.back().position, result.position);
    EXPECT_EQ(page->events.back().revision, result.last_revision);
  }
}

TEST_P(StoreConformance, AsyncAppendIsVisibleWhenItsCallbackRuns) {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t done = 0;
  std::vector<std::string> problems;
  constexpr std::size_t kAppends = 50;
  for (std::size_t i = 0; i < kAppends; ++i) {
    std::vector<EventData> events = make_events(1);
    const Uuid id = events[0].id;
    const std::string stream = "seen-" + std::to_string(i % 5);
    store().append_async(stream, ExpectedRevision::any(), std::move(events), [&, id, stream](Result<AppendResult> r) {
      std::string problem;
      if (!r.ok()) {
        problem = r.status().to_string();
      } else {
        // The callback may call the store: the event is already readable.
        StreamReadOptions options;
        options.from = r->last_revision;
        Result<StreamPage> page = store().read_stream(stream, options);
        if (!page.ok() || page->events.empty() || page->events.front().id != id) {
          problem = "event of " + stream + "@" + std::to_string(r->last_revision) + " not readable in its callback";
        }
      }
      std::lock_guard lock(mutex);
      if (!problem.empty()) problems.push_back(problem);
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return done == kAppends; }));
  EXPECT_TRUE(problems.empty()) << problems.front();
}

TEST_P(StoreConformance, AsyncAppendDecidesLikeAppend) {
  ASSERT_OK(store().append("decided", ExpectedRevision::no_stream(), make_events(2)));
  AppendResults results;
  // A wrong expectation: the actual revision, nothing written.
  store().append_async("decided", ExpectedRevision::exact(7), make_events(1), results.slot(0));
  // An idempotent retry: the original result.
  std::vector<EventData> once = make_events(1);
  Result<AppendResult> original = store().append("decided", ExpectedRevision::any(), once);
  ASSERT_OK(original);
  store().append_async("decided", ExpectedRevision::any(), once, results.slot(1));
  // Bad input: invalid_argument (before queuing).
  store().append_async("$reserved", ExpectedRevision::any(), make_events(1), results.slot(2));
  // A tombstoned stream refuses.
  ASSERT_OK(store().append("gone", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().tombstone_stream("gone", ExpectedRevision::any()));
  store().append_async("gone", ExpectedRevision::any(), make_events(1), results.slot(3));
  // An expectation-only append reports the head.
  store().append_async("decided", ExpectedRevision::exact(2), {}, results.slot(4));
  ASSERT_TRUE(results.wait_for(5));
  const auto all = results.results();
  ASSERT_CODE(*all[0], wrong_expected_revision);
  EXPECT_EQ(all[0]->status().actual_revision(), std::optional<std::uint64_t>(1));
  ASSERT_OK(*all[1]);
  EXPECT_EQ(**all[1], *original);
  EXPECT_CODE(*all[2], invalid_argument);
  EXPECT_CODE(*all[3], stream_deleted);
  ASSERT_OK(*all[4]);
  EXPECT_EQ((*all[4])->last_revision, 2u);
  EXPECT_EQ(read_whole_stream(store(), "decided").size(), 3u);
}

TEST_P(StoreConformance, AsyncCommitWritesEveryPartOrNone) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Result<TransactionResult>> results;
  const auto collect = [&](Result<TransactionResult> result) {
    std::lock_guard lock(mutex);
    results.push_back(std::move(result));
    cv.notify_all();
  };
  std::vector<TransactionPart> both(2);
  both[0].stream = "tx-a";
  both[0].events = make_events(2);
  both[1].stream = "tx-b";
  both[1].expected = ExpectedRevision::no_stream();
  both[1].events = make_events(1);
  store().commit_async(both, collect);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return results.size() == 1; }));
  }
  ASSERT_OK(results[0]);
  ASSERT_EQ(results[0]->parts.size(), 2u);
  EXPECT_EQ(results[0]->parts[1].last_revision, std::optional<StreamRevision>(0));
  // The second part's expectation fails now: nothing of either part is written.
  std::vector<TransactionPart> failing(2);
  failing[0].stream = "tx-a";
  failing[0].events = make_events(1);
  failing[1].stream = "tx-b";
  failing[1].expected = ExpectedRevision::no_stream();
  failing[1].events = make_events(1);
  store().commit_async(std::move(failing), collect);
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return results.size() == 2; }));
  }
  ASSERT_CODE(results[1], wrong_expected_revision);
  EXPECT_NE(results[1].status().message().find("part 1"), std::string::npos) << results[1].status().to_string();
  EXPECT_EQ(read_whole_stream(store(), "tx-a").size(), 2u);
  EXPECT_EQ(read_whole_stream(store(), "tx-b").size(), 1u);
}

// A callback may make blocking calls to the same store, writes included.
TEST_P(StoreConformance, AsyncCallbackMayWriteToTheStore) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Status> nested;
  constexpr std::size_t kAppends = 20;
  for (std::size_t i = 0; i < kAppends; ++i) {
    store().append_async("outer", ExpectedRevision::any(), make_events(1), [&](Result<AppendResult> result) {
      Status status = result.status();
      if (status.ok()) status = store().append("inner", ExpectedRevision::any(), make_events(1)).status();
      std::lock_guard lock(mutex);
      nested.push_back(status);
      cv.notify_all();
    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return nested.size() == kAppends; })) << "a callback's append hangs";
  for (const Status& status : nested) EXPECT_OK(status);
  lock.unlock();
  EXPECT_EQ(read_whole_stream(store(), "inner").size(), kAppends);
}

// The same under a steady stream of asynchronous appends (the store's own
// threads busy): a callback's blocking append must not wait for the thread
// that runs it.
TEST_P(StoreConformance, AsyncCallbackMayBlockOnTheStoreUnderLoad) {
  constexpr int kAppends = 2000;
  constexpr int kInFlight = 64;
  std::mutex mutex;
  std::condition_variable cv;
  int in_flight = 0;
  int done = 0;
  std::vector<Status> failures;
  for (int i = 0; i < kAppends; ++i) {
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return in_flight < kInFlight; })) << "stuck at " << done;
      ++in_flight;
    }
    store().append_async("load-" + std::to_string(i % 16), ExpectedRevision::any(), make_events(1),
                         [&, i](Result<AppendResult> result) {
                           Status status = result.status();
                           if (status.ok() && i % 10 == 0) {
                             status = store().append("nested", ExpectedRevision::any(), make_events(1)).status();
                           }
                           std::lock_guard lock(mutex);
                           if (!status.ok()) failures.push_back(status);
                           --in_flight;
                           ++done;
                           cv.notify_all();
                         });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return done == kAppends; })) << "a callback's blocking append hangs";
  EXPECT_TRUE(failures.empty()) << failures.front().to_string();
  lock.unlock();
  EXPECT_EQ(read_whole_stream(store(), "nested").size(), static_cast<std::size_t>(kAppends / 10));
}

// Counts how deeply completion callbacks nest on one thread: a callback that
// writes again must see its own write completed after it returns, never
// inside it (the stack stays flat however long the chain).
class NestingProbe {
 public:
  // Wraps `body` so that its nesting depth on this thread is recorded.
  template <typename Body>
  void run(Body&& body) {
    const int depth = ++depth_;
    int seen = deepest_.load();
    while (depth > seen && !deepest_.compare_exchange_weak(seen, depth)) {
    }
    body();
    --depth_;
  }
  int deepest() const { return deepest_.load(); }

 private:
  static thread_local int depth_;
  std::atomic<int> deepest_{0};
};
thread_local int NestingProbe::depth_ = 0;

// Each callback starts the next append of a chain.
TEST_P(StoreConformance, AsyncCallbackChainDoesNotRecurse) {
  constexpr int kChain = 300;
  NestingProbe probe;
  std::mutex mutex;
  std::condition_variable cv;
  int completed = 0;
  Status failure;
  std::function<void(int)> start = [&](int link) {
    store().append_async("chain", ExpectedRevision::any(), make_events(1), [&, link](Result<AppendResult> result) {
      probe.run([&] {
        if (result.ok() && link + 1 < kChain) start(link + 1);
        std::lock_guard lock(mutex);
        if (!result.ok() && failure.ok()) failure = result.status();
        ++completed;
        cv.notify_all();
      });
    });
  };
  start(0);
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return completed == kChain || !failure.ok(); })) << completed;
  ASSERT_OK(failure);
  lock.unlock();
  EXPECT_EQ(probe.deepest(), 1) << "a callback ran inside the callback that started its write";
  EXPECT_EQ(read_whole_stream(store(), "chain").size(), static_cast<std::size_t>(kChain));
}

// A callback that retries a refused write (here: the store is closed) loops,
// one completion after the other, instead of recursing.
TEST_P(StoreConformance, AsyncRetryAfterRefusalDoesNotRecurse) {
  constexpr int kRetries = 2000;
  ASSERT_OK(store().close());
  NestingProbe probe;
  int attempts = 0;
  std::vector<ErrorCode> codes;
  std::function<void()> attempt = [&] {
    ++attempts;
    store().append_async("refused", ExpectedRevision::any(), make_events(1), [&](Result<AppendResult> result) {
      probe.run([&] {
        codes.push_back(result.status().code());
        if (attempts < kRetries) attempt();
      });
    });
  };
  attempt();  // refusals complete on this thread: all of them before it returns
  EXPECT_EQ(attempts, kRetries);
  ASSERT_EQ(codes.size(), static_cast<std::size_t>(kRetries));
  for (ErrorCode code : codes) EXPECT_EQ(code, ErrorCode::closed);
  EXPECT_EQ(probe.deepest(), 1) << "a refusal completed inside the callback that retried";
  store_ = nullptr;
}

// A write a callback starts happens at once (only its own callback may come
// later): a blocking call right after it sees it.
TEST_P(StoreConformance, AsyncWriteStartedInACallbackHappensAtOnce) {
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
  Status seen;
  store().append_async("outer-w", ExpectedRevision::any(), make_events(1), [&](Result<AppendResult> result) {
    Status status = result.status();
    if (status.ok()) {
      store().append_async("inner-w", ExpectedRevision::no_stream(), make_events(1), [](Result<AppendResult>) {});
      status = store().append("inner-w", ExpectedRevision::exact(0), make_events(1)).status();
    }
    std::lock_guard lock(mutex);
    seen = status;
    finished = true;
    cv.notify_all();
  });
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return finished; }));
  ASSERT_OK(seen);
  lock.unlock();
  EXPECT_EQ(read_whole_stream(store(), "inner-w").size(), 2u);
}

// What a callback's writes complete on its thread runs as soon as that
// callback returns, before the next callback of the store.
TEST_P(StoreConformance, CompletionsDeferredByACallbackRunBeforeTheNextCallback) {
  Result<std::unique_ptr<EventStore>> side = open_store("memory:", StoreOptions{});
  ASSERT_OK(side);
  constexpr std::size_t kAppends = 50;
  std::vector<int> side_done(kAppends, 0);  // only touched on the completing thread
  std::atomic<int> out_of_order{0};
  AppendResults results;
  for (std::size_t i = 0; i < kAppends; ++i) {
    EventStore::AppendCallback record = results.slot(i);
    store().append_async("deferring", ExpectedRevision::any(), make_events(1),
                         [&, record, i](Result<AppendResult> result) {
                           if (i > 0 && side_done[i - 1] == 0) ++out_of_order;
                           // Recorded once the side write completed: the test
                           // ends only after every side callback ran.
                           (*side)->append_async("side", ExpectedRevision::any(), make_events(1),
                                                 [&side_done, record, i, result](Result<AppendResult>) {
                                                   side_done[i] = 1;
                                                   record(result);
                                                 });
                         });
  }
  ASSERT_TRUE(results.wait_for(kAppends));
  EXPECT_EQ(out_of_order.load(), 0) << "a deferred completion ran after the next callback";
  EXPECT_EQ(read_whole_stream(**side, "side").size(), kAppends);
}

// A callback must not throw; one that does (a caller's bug) has its
// exception dropped: the other callbacks still run once, the store goes on.
TEST_P(StoreConformance, AsyncCallbackThatThrowsDoesNotStopTheStore) {
  constexpr std::size_t kAppends = 50;
  AppendResults results;
  for (std::size_t i = 0; i < kAppends; ++i) {
    EventStore::AppendCallback record = results.slot(i);
    store().append_async("throwing", ExpectedRevision::any(), make_events(1),
                         [record, i](Result<AppendResult> result) {
                           record(std::move(result));
                           if (i % 5 == 0) throw std::runtime_error("a callback's bug");
                         });
  }
  ASSERT_TRUE(results.wait_for(kAppends)) << "a throwing callback stopped the completions";
  EXPECT_EQ(results.duplicates(), 0u);
  for (const auto& result : results.results()) EXPECT_OK(*result);
  ASSERT_OK(store().append("throwing", ExpectedRevision::any(), make_events(1)));
  EXPECT_EQ(read_whole_stream(store(), "throwing").size(), kAppends + 1);
}

// close() completes what was queued: every callback runs before it returns,
// and what was acknowledged is there after a reopen.
TEST_P(StoreConformance, CloseCompletesQueuedAsyncAppends) {
  constexpr std::size_t kAppends = 300;
  AppendResults results;
  std::vector<Uuid> ids;
  for (std::size_t i = 0; i < kAppends; ++i) {
    std::vector<EventData> events = make_events(1);
    ids.push_back(events[0].id);
    store().append_async("closing", ExpectedRevision::any(), std::move(events), results.slot(i));
  }
  ASSERT_OK(store().close());
  EXPECT_EQ(results.order().size(), kAppends) << "close() returned before every callback";
  const auto all = results.results();
  std::vector<Uuid> acknowledged;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_TRUE(all[i].has_value()) << i;
    if (all[i]->ok()) {
      acknowledged.push_back(ids[i]);
    } else {
      EXPECT_CODE(*all[i], closed);
    }
  }
  // After close, an asynchronous append fails with closed at once.
  AppendResults late;
  store().append_async("closing", ExpectedRevision::any(), make_events(1), late.slot(0));
  ASSERT_TRUE(late.wait_for(1));
  EXPECT_CODE(*late.results()[0], closed);
  if (!GetParam().persists) {
    store_ = nullptr;
    return;
  }
  reopen_after_close();
  std::vector<Uuid> present;
  for (const RecordedEvent& event : read_whole_stream(store(), "closing")) present.push_back(event.id);
  EXPECT_EQ(present, acknowledged);
}

}  // namespace
}  // namespace evsrc_test
