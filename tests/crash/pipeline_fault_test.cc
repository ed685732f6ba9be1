// A failed sync in the pipelined group commit, with groups in flight: many
// asynchronous appends from one thread and blocking appends from others
// while the k-th log sync fails (every k up to the first that does not fire).
//
// Contract checked: every request completes exactly once; asynchronous
// completions come in log order, and from the first failure on every later
// one fails (a failed sync fails its group and every later one); blocking
// appends after it fail too; after a power loss and a reopen, exactly the
// acknowledged events are present, each where its result said; the reopened
// store accepts appends.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crash/crash_support.h"
#include "engine/fault_injection_env.h"
#include "engine/log_format.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

using namespace std::chrono_literals;

struct Place {
  std::string stream;
  StreamRevision revision = 0;
};

EventData make_event(int n) {
  EventData event;
  event.id = Uuid::random();
  event.type = "Pipelined";
  event.data = "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(150, 'p') + "\"}";
  return event;
}

// Holds the first operation `op` on a log file: the thread doing it blocks
// in the Env's observer until release() (or destruction), so the pipeline
// behind it fills up as behind a stuck write or sync.
class LogOpHold {
 public:
  LogOpHold(FaultInjectionEnv& env, EnvOp op) : env_(env) {
    env_.set_observer([this, op](EnvOp seen, const std::string& path) {
      if (seen != op || path.find("/log/") == std::string::npos) return;
      std::unique_lock lock(mutex_);
      if (held_) return;
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    });
  }
  ~LogOpHold() {
    release();
    env_.set_observer({});
  }
  LogOpHold(const LogOpHold&) = delete;
  LogOpHold& operator=(const LogOpHold&) = delete;

  // False when no such operation came within a minute.
  bool wait_until_held() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 60s, [&] { return held_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  FaultInjectionEnv& env_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
};

class PipelineFaultTest : public ::testing::Test {
 protected:
  // An empty in-memory file system with faults on demand.
  void fresh_env() {
    fault_env_.reset();
    memory_env_ = new_memory_env();
    fault_env_ = std::make_unique<FaultInjectionEnv>(memory_env_.get());
  }

  StoreOptions options() const {
    StoreOptions options;
    options.env = fault_env_.get();
    return options;
  }

  // Runs the workload with the k-th operation `op` failing (a log sync, or
  // an index write); returns false when fewer than k+1 of them happened (the
  // fault never fired).
  bool run_with_failed(EnvOp op, std::uint64_t k) {
    fresh_env();
    Result<std::unique_ptr<EventStore>> opened = open_store("file:/store", options());
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    if (!opened.ok()) return false;
    std::unique_ptr<EventStore> store = std::move(*opened);
    fault_env_->reset_counters();
    fault_env_->fail_nth(op, k);
    const std::string context = std::string(env_op_name(op)) + " " + std::to_string(k) + " fails";
    // A group whose index write fails was synced before: its requests (and
    // those of later groups already synced) are answered io_error, "outcome
    // unknown", and may be found after a reopen; nothing else may. A failed
    // sync's are lost.
    const bool failed_may_survive = op == EnvOp::index_write;

    std::mutex mutex;
    std::condition_variable cv;
    std::map<Uuid, Place> acknowledged;
    std::set<Uuid> unknown_outcome;  // answered io_error
    std::vector<Result<AppendResult>> async_order;  // in completion order, by the store's threads
    std::size_t async_done = 0;
    constexpr int kAsync = 400;
    constexpr int kBlockingThreads = 3;
    constexpr int kBlockingAppends = 40;
    std::atomic<bool> blocking_failed{false};
    std::atomic<int> blocking_ok_after_failure{0};
    std::atomic<bool> async_failure_seen{false};

    std::vector<std::thread> threads;
    for (int t = 0; t < kBlockingThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kBlockingAppends; ++i) {
          std::vector<EventData> events{make_event(i)};
          const std::string stream = "blocking-" + std::to_string(t);
          // A success submitted after a failure was returned breaks the
          // contract (one submitted before may have completed before it).
          const bool submitted_after_failure = blocking_failed.load();
          Result<AppendResult> result = store->append(stream, ExpectedRevision::any(), events);
          if (result.ok()) {
            if (submitted_after_failure) ++blocking_ok_after_failure;
            std::lock_guard lock(mutex);
            acknowledged[events[0].id] = {stream, result->last_revision};
          } else {
            blocking_failed = true;
            std::lock_guard lock(mutex);
            if (result.status().code() == ErrorCode::io_error) unknown_outcome.insert(events[0].id);
          }
        }
      });
    }
    const std::thread::id submitter = std::this_thread::get_id();
    for (int i = 0; i < kAsync; ++i) {
      EventData event = make_event(i);
      const Uuid id = event.id;
      const std::string stream = "async-" + std::to_string(i % 7);
      store->append_async(stream, ExpectedRevision::any(), {event}, [&, id, stream](Result<AppendResult> result) {
        std::lock_guard lock(mutex);
        if (result.ok()) {
          acknowledged[id] = {stream, result->last_revision};
        } else {
          async_failure_seen = true;
          if (result.status().code() == ErrorCode::io_error) unknown_outcome.insert(id);
        }
        // A refusal after the failure completes at once on this thread,
        // possibly before requests queued earlier (in groups before the
        // failed one) complete: it is no part of the log order.
        if (std::this_thread::get_id() == submitter) {
          EXPECT_FALSE(result.ok()) << "only refusals complete on the submitting thread";
        } else {
          async_order.push_back(std::move(result));
        }
        ++async_done;
        cv.notify_all();
      });
    }
    for (std::thread& thread : threads) thread.join();
    {
      std::unique_lock lock(mutex);
      EXPECT_TRUE(cv.wait_for(lock, 60s, [&] { return async_done == kAsync; })) << context << ": callbacks missing";
    }
    const bool fired = fault_env_->injected_faults() > 0;
    fault_env_->reset();
    // Log order, and a failure fails everything after it.
    bool failed = false;
    Position last = 0;
    for (std::size_t i = 0; i < async_order.size(); ++i) {
      const Result<AppendResult>& result = async_order[i];
      if (!result.ok()) {
        failed = true;
        continue;
      }
      EXPECT_FALSE(failed) << context << ": completion " << i << " succeeded after a failed one";
      if (i > 0 && last > 0) {
        EXPECT_GT(result->position, last) << context << ": out of log order";
      }
      last = result->position;
    }
    EXPECT_EQ(blocking_ok_after_failure.load(), 0) << context << ": a blocking append succeeded after one failed";
    if (fired) {
      EXPECT_TRUE(failed || blocking_failed.load()) << context << ": the fault fired but nothing failed";
      // Refused from now on, with the reason.
      Result<AppendResult> after =
          store->append("after", ExpectedRevision::any(), std::vector<EventData>{make_event(0)});
      EXPECT_EQ(after.status().code(), ErrorCode::io_error) << context << ": " << after.status().to_string();
    }
    (void)store->close();
    store.reset();
    // Power loss: only what was synced survives.
    EXPECT_TRUE(fault_env_->drop_unsynced_data().ok());
    Result<std::unique_ptr<EventStore>> reopened = open_store("file:/store", options());
    EXPECT_TRUE(reopened.ok()) << context << ": reopen: " << reopened.status().to_string();
    if (!reopened.ok()) return fired;
    std::vector<std::string> problems;
    Result<std::vector<RecordedEvent>> events = crash::read_whole_store(**reopened, &problems);
    EXPECT_TRUE(events.ok()) << context;
    if (events.ok()) {
      crash::check_streams_match(**reopened, *events, &problems);
      std::map<Uuid, const RecordedEvent*> present;
      for (const RecordedEvent& event : *events) present[event.id] = &event;
      for (const auto& [id, place] : acknowledged) {
        const auto it = present.find(id);
        if (it == present.end()) {
          problems.push_back("acknowledged event of " + place.stream + "@" + std::to_string(place.revision) +
                             " is lost");
        } else if (it->second->stream != place.stream || it->second->revision != place.revision) {
          problems.push_back("acknowledged event moved from " + place.stream + "@" + std::to_string(place.revision));
        }
      }
      for (const RecordedEvent& event : *events) {
        if (!acknowledged.contains(event.id) && !(failed_may_survive && unknown_outcome.contains(event.id))) {
          problems.push_back("unacknowledged event " + event.stream + "@" + std::to_string(event.revision) +
                             " is present");
        }
      }
    }
    for (const std::string& problem : problems) ADD_FAILURE() << context << ": " << problem;
    EXPECT_TRUE((*reopened)->append("after", ExpectedRevision::any(), std::vector<EventData>{make_event(1)}).ok())
        << context;
    EXPECT_TRUE((*reopened)->close().ok());
    return fired;
  }

  std::unique_ptr<Env> memory_env_;
  std::unique_ptr<FaultInjectionEnv> fault_env_;
};

TEST_F(PipelineFaultTest, FailedSyncFailsItsGroupAndEveryLaterOne) {
  std::uint64_t fired = 0;
  // The first syncs (and then every eighth) until one does not fire: the
  // workload takes tens of groups.
  for (std::uint64_t k = 0; k < 200; k += (k < 8 ? 1 : 8)) {
    if (!run_with_failed(EnvOp::sync, k)) break;
    ++fired;
    if (HasFailure()) return;
  }
  std::cout << "failed syncs tried: " << fired << std::endl;
  EXPECT_GE(fired, 8u) << "the workload should take more than 8 syncs";
}

// The publisher's index write fails (the group is already synced): that
// group and every later one fail with io_error, in log order, the store
// refuses writes until reopened, and a reopen recovers every acknowledged
// event from the log, in place.
TEST_F(PipelineFaultTest, FailedIndexWriteFailsItsGroupAndEveryLaterOne) {
  std::uint64_t fired = 0;
  for (std::uint64_t k = 0; k < 200; k += (k < 8 ? 1 : 8)) {
    if (!run_with_failed(EnvOp::index_write, k)) break;
    ++fired;
    if (HasFailure()) return;
  }
  std::cout << "failed index writes tried: " << fired << std::endl;
  EXPECT_GE(fired, 8u) << "the workload should take more than 8 index writes";
}

// A refusal decided against a group whose sync then fails rests on state
// that never became durable: it gets the I/O failure too, not a definite
// answer (here: the stream the failed group created "already exists").
TEST_F(PipelineFaultTest, RefusalsBehindAFailedSyncGetTheFailure) {
  fresh_env();
  Result<std::unique_ptr<EventStore>> store = open_store("file:/store", options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  fault_env_->fail_nth(EnvOp::sync, 0);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Status> results(2);
  int done = 0;
  for (int i = 0; i < 2; ++i) {
    (*store)->append_async("created-" + std::string("once"),
                           i == 0 ? ExpectedRevision::any() : ExpectedRevision::no_stream(), {make_event(i)},
                           [&, i](Result<AppendResult> result) {
                             std::lock_guard lock(mutex);
                             results[static_cast<std::size_t>(i)] = result.status();
                             ++done;
                             cv.notify_all();
                           });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return done == 2; }));
  }
  EXPECT_EQ(results[0].code(), ErrorCode::io_error) << results[0].to_string();
  EXPECT_EQ(results[1].code(), ErrorCode::io_error) << results[1].to_string();
  fault_env_->reset();
  (void)(*store)->close();
}

// A group that is never written because encoding one of its requests failed
// (here: reading an earlier event for an idempotent retry fails) fails every
// request of it: a refusal decided against the group's own records (the
// stream a request before it created) is no answer either (review of the
// three-stage pipeline, finding 1).
TEST_F(PipelineFaultTest, RefusalsInAGroupThatFailsEncodingGetTheFailure) {
  fresh_env();
  EventData recorded = make_event(0);
  {
    Result<std::unique_ptr<EventStore>> store = open_store("file:/store", options());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    ASSERT_TRUE((*store)->append("old", ExpectedRevision::any(), std::vector<EventData>{recorded}).ok());
    ASSERT_TRUE((*store)->close().ok());
  }
  Result<std::unique_ptr<EventStore>> store = open_store("file:/store", options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  // Hold the first group's log write, so that the next requests form one
  // group behind it.
  LogOpHold hold(*fault_env_, EnvOp::write);
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Status> results(4);
  int done = 0;
  auto callback = [&](int i) {
    return [&, i](Result<AppendResult> result) {
      std::lock_guard lock(mutex);
      results[static_cast<std::size_t>(i)] = result.status();
      ++done;
      cv.notify_all();
    };
  };
  (*store)->append_async("first", ExpectedRevision::any(), {make_event(1)}, callback(0));
  ASSERT_TRUE(hold.wait_until_held());
  fault_env_->fail_nth(EnvOp::read, 0);
  (*store)->append_async("created", ExpectedRevision::any(), {make_event(2)}, callback(1));
  (*store)->append_async("created", ExpectedRevision::no_stream(), {make_event(3)}, callback(2));
  (*store)->append_async("old", ExpectedRevision::any(), {recorded}, callback(3));  // reads the log: fails
  std::this_thread::sleep_for(200ms);  // the three are encoded into one group meanwhile
  hold.release();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return done == 4; }));
  }
  EXPECT_TRUE(results[0].ok()) << results[0].to_string();
  for (int i = 1; i < 4; ++i) EXPECT_EQ(results[i].code(), ErrorCode::io_error) << i << ": " << results[i].to_string();
  fault_env_->set_observer({});
  fault_env_->reset();
  (void)(*store)->close();
  store = open_store("file:/store", options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ((*store)->stream_info("created").status().code(), ErrorCode::not_found);
  EXPECT_TRUE((*store)->close().ok());
}

// Backpressure: while a sync is stuck, append_async stops returning once
// the queue holds about 4 x max_group_bytes, and the open group does not
// grow past max_group_bytes: every group in the log is at most that plus
// one request. Nothing is lost once the sync goes on.
TEST_F(PipelineFaultTest, AQueueBehindAStuckSyncIsBounded) {
  fresh_env();
  StoreOptions bounded = options();
  bounded.max_group_bytes = 64 << 10;
  Result<std::unique_ptr<EventStore>> store = open_store("file:/store", bounded);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  LogOpHold hold(*fault_env_, EnvOp::sync);
  constexpr int kAppends = 4000;  // ~1 MiB of ~260-byte records: 16 x max_group_bytes
  std::atomic<int> returned{0};
  std::atomic<int> completed{0};
  std::atomic<int> failed{0};
  std::thread producer([&] {
    for (int i = 0; i < kAppends; ++i) {
      (*store)->append_async("s-" + std::to_string(i % 16), ExpectedRevision::any(), {make_event(i)},
                             [&](Result<AppendResult> result) {
                               if (!result.ok()) failed.fetch_add(1);
                               completed.fetch_add(1);
                             });
      returned.fetch_add(1);
    }
  });
  if (!hold.wait_until_held()) {
    hold.release();
    producer.join();
    FAIL() << "no log sync within a minute";
  }
  std::this_thread::sleep_for(300ms);
  const int returned_while_stuck = returned.load();
  hold.release();
  producer.join();
  for (int i = 0; i < 6000 && completed.load() < kAppends; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(completed.load(), kAppends);
  EXPECT_EQ(failed.load(), 0);
  // Queue (4 x 64 KiB) + open group (64 KiB) + the stuck group, of
  // ~260-byte requests: about 1300 calls; unbounded, all 4000 return.
  EXPECT_LT(returned_while_stuck, 1500) << "append_async did not wait for room";
  EXPECT_GT(returned_while_stuck, 0);
  fault_env_->set_observer({});
  ASSERT_TRUE((*store)->close().ok());

  // Every group in the log: at most max_group_bytes of records plus one
  // request's (the one that opened a batch may be larger than the rest).
  auto file = memory_env_->open_file("/store/log/segment-000000000000.evlog", Env::OpenMode::read_only);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  std::uint64_t offset = log::kSegmentHeaderSize;
  std::uint64_t events = 0;
  std::uint32_t largest = 0;
  while (true) {
    std::string header(log::kGroupHeaderSize, '\0');
    std::size_t read = 0;
    ASSERT_TRUE((*file)->read_at(offset, header.size(), header.data(), &read).ok());
    const auto group = log::decode_group_header(std::string_view(header.data(), read));
    if (!group) break;
    largest = std::max(largest, group->record_bytes);
    events += group->record_count;
    offset += log::kGroupHeaderSize + group->record_bytes;
  }
  EXPECT_EQ(events, static_cast<std::uint64_t>(kAppends));
  EXPECT_LE(largest, bounded.max_group_bytes + 1024) << "a group grew past max_group_bytes";
}

// close() from a completion callback would wait for itself: it is refused
// and the store stays usable.
// After a failed sync a callback that retries is refused inline each time
// (the store refuses writes until reopened): the refusals complete one after
// the other, not nested in the callback that retried.
TEST_F(PipelineFaultTest, RetriesFromACallbackAfterAFailureDoNotRecurse) {
  fresh_env();
  Result<std::unique_ptr<EventStore>> store = open_store("file:/store", options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  fault_env_->fail_nth(EnvOp::sync, 0);
  constexpr int kAttempts = 500;
  std::mutex mutex;
  std::condition_variable cv;
  bool finished = false;
  int attempts = 0;  // on the completing thread after the first
  int depth = 0;
  int deepest = 0;
  std::vector<ErrorCode> codes;
  std::function<void()> attempt = [&] {
    ++attempts;
    (*store)->append_async("retried", ExpectedRevision::any(), {make_event(attempts)}, [&](Result<AppendResult> result) {
      deepest = std::max(deepest, ++depth);
      codes.push_back(result.status().code());
      if (!result.ok() && attempts < kAttempts) {
        attempt();
      } else {
        std::lock_guard lock(mutex);
        finished = true;
        cv.notify_all();
      }
      --depth;
    });
  };
  attempt();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return finished; }));
  }
  EXPECT_EQ(attempts, kAttempts);
  EXPECT_EQ(deepest, 1) << "a refusal completed inside the callback that retried";
  ASSERT_EQ(codes.size(), static_cast<std::size_t>(kAttempts));
  for (ErrorCode code : codes) EXPECT_EQ(code, ErrorCode::io_error);
  fault_env_->reset();
  (void)(*store)->close();
}

TEST_F(PipelineFaultTest, CloseFromACallbackIsRefused) {
  fresh_env();
  Result<std::unique_ptr<EventStore>> opened = open_store("file:/store", options());
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EventStore& store = **opened;
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<Status> closed_in_callback;
  store.append_async("s", ExpectedRevision::any(), {make_event(0)}, [&](Result<AppendResult>) {
    Status status = store.close();
    std::lock_guard lock(mutex);
    closed_in_callback = status;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return closed_in_callback.has_value(); }));
  }
  EXPECT_EQ(closed_in_callback->code(), ErrorCode::invalid_argument) << closed_in_callback->to_string();
  EXPECT_TRUE(store.append("s", ExpectedRevision::any(), std::vector<EventData>{make_event(1)}).ok());
  EXPECT_TRUE(store.close().ok());
}

}  // namespace
}  // namespace evsrc
