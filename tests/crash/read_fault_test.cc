// Read errors (EIO) at every read of the log that a read path takes, through
// FaultInjectionEnv on the in-memory file system (a real disk cannot be made
// to fail reads without root).
//
// Contract checked: a read that hits an injected read error reports io_error
// naming the file — never corruption, never a crash, never a short or empty
// result passed off as complete — and the store stays usable: the same read
// without the fault returns exactly the events of a fault-free read, writes
// are still accepted, and a subscription that got the error resumes without
// a gap or a duplicate. An open that hits a read error fails with io_error
// naming the file and changes nothing: the next open finds every event.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crash/crash_support.h"
#include "engine/fault_injection_env.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"
#include "evsrc/subscription.h"

namespace evsrc {
namespace {

constexpr char kInjectedRead[] = "injected input/output error (EIO) in read /store/log/segment-";

std::vector<Uuid> ids_of(const std::vector<RecordedEvent>& events) {
  std::vector<Uuid> ids;
  for (const RecordedEvent& event : events) ids.push_back(event.id);
  return ids;
}

class ReadFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_env_ = new_memory_env();
    fault_env_ = std::make_unique<FaultInjectionEnv>(memory_env_.get());
    store_ = open();
    ASSERT_TRUE(store_);
    // Several segments, groups of several events, interleaved streams.
    for (int i = 0; i < 60; ++i) {
      std::vector<EventData> events;
      for (int e = 0; e < 1 + i % 4; ++e) {
        EventData event;
        event.id = Uuid::random();
        event.type = i % 2 == 0 ? "Even" : "Odd";
        event.data = "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(600, 'r') + "\"}";
        events.push_back(std::move(event));
      }
      ASSERT_TRUE(store_->append(stream_name(i % kStreams), ExpectedRevision::any(), events).ok());
    }
    std::vector<std::string> problems;
    Result<std::vector<RecordedEvent>> all = crash::read_whole_store(*store_, &problems);
    ASSERT_TRUE(all.ok()) << all.status().to_string();
    ASSERT_TRUE(problems.empty());
    expected_ = std::move(*all);
    Result<StoreStats> stats = store_->stats();
    ASSERT_TRUE(stats.ok());
    ASSERT_GE(stats->segments, 2u) << "the history should span several segments";
  }

  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->close().ok());
    }
  }

  static constexpr int kStreams = 4;
  static std::string stream_name(int i) { return "read-" + std::to_string(i); }

  StoreOptions options() const {
    StoreOptions options;
    options.env = fault_env_.get();
    options.segment_bytes = 64 << 10;  // the engine's minimum: several segments
    return options;
  }

  std::unique_ptr<EventStore> open() {
    Result<std::unique_ptr<EventStore>> store = open_store("file:/store", options());
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<Uuid> expected_ids_of(const std::string& stream) const {
    std::vector<Uuid> ids;
    for (const RecordedEvent& event : expected_) {
      if (event.stream == stream) ids.push_back(event.id);
    }
    return ids;
  }

  // Runs `read` once without a fault to count its reads of the log, then
  // once with a read error at each of them. `read` returns the ids it read
  // or the error. Returns the number of fault points.
  std::size_t fail_every_read(const std::string& what, const std::vector<Uuid>& expected,
                              const std::function<Result<std::vector<Uuid>>()>& read) {
    const std::uint64_t before = fault_env_->count(EnvOp::read);
    Result<std::vector<Uuid>> clean = read();
    const std::uint64_t reads = fault_env_->count(EnvOp::read) - before;
    EXPECT_TRUE(clean.ok()) << what << ": " << clean.status().to_string();
    if (clean.ok()) {
      EXPECT_EQ(*clean, expected) << what << " without a fault";
    }
    EXPECT_GT(reads, 0u) << what << " never read the log";
    for (std::uint64_t k = 0; k < reads; ++k) {
      const std::string context = what + ", read error at read " + std::to_string(k);
      const std::uint64_t injected = fault_env_->injected_faults();
      fault_env_->fail_nth(EnvOp::read, k);
      Result<std::vector<Uuid>> faulted = read();
      fault_env_->reset();
      EXPECT_EQ(fault_env_->injected_faults(), injected + 1) << context << ": the fault did not fire";
      EXPECT_FALSE(faulted.ok()) << context << ": the read succeeded (" << faulted->size() << " of "
                                 << expected.size() << " events) although a read of the log failed";
      EXPECT_EQ(faulted.status().code(), ErrorCode::io_error) << context << ": " << faulted.status().to_string();
      EXPECT_NE(faulted.status().message().find(kInjectedRead), std::string::npos)
          << context << ": the error should name the file: " << faulted.status().to_string();
      // The store is still usable: the same read, now whole.
      Result<std::vector<Uuid>> again = read();
      EXPECT_TRUE(again.ok()) << context << ", read again: " << again.status().to_string();
      if (again.ok()) {
        EXPECT_EQ(*again, expected) << context << ", read again";
      }
      if (HasFailure()) break;
    }
    return reads;
  }

  std::unique_ptr<Env> memory_env_;
  std::unique_ptr<FaultInjectionEnv> fault_env_;
  std::unique_ptr<EventStore> store_;
  std::vector<RecordedEvent> expected_;
};

TEST_F(ReadFaultTest, ReadStreamReportsEveryReadError) {
  std::size_t points = 0;
  for (int s = 0; s < kStreams; ++s) {
    const std::string stream = stream_name(s);
    for (Direction direction : {Direction::forward, Direction::backward}) {
      std::vector<Uuid> expected = expected_ids_of(stream);
      if (direction == Direction::backward) std::reverse(expected.begin(), expected.end());
      points += fail_every_read(stream + (direction == Direction::forward ? " forwards" : " backwards"), expected,
                                [&]() -> Result<std::vector<Uuid>> {
                                  StreamReadOptions options;
                                  options.direction = direction;
                                  if (direction == Direction::backward) options.from = UINT64_MAX;
                                  options.limit = 100000;
                                  Result<StreamPage> page = store_->read_stream(stream, options);
                                  if (!page.ok()) return page.status();
                                  return ids_of(page->events);
                                });
      if (HasFailure()) return;
    }
  }
  // Writes are still accepted after all these read errors.
  EventData event;
  event.type = "AfterReadErrors";
  event.data = "{}";
  EXPECT_TRUE(store_->append(stream_name(0), ExpectedRevision::any(), std::vector<EventData>{event}).ok());
  std::cout << "fault points: " << points << " reads of " << kStreams << " streams read both ways" << std::endl;
}

TEST_F(ReadFaultTest, ReadAllReportsEveryReadError) {
  std::size_t points = 0;
  for (Direction direction : {Direction::forward, Direction::backward}) {
    std::vector<Uuid> expected = ids_of(expected_);
    if (direction == Direction::backward) std::reverse(expected.begin(), expected.end());
    points += fail_every_read(std::string("$all ") + (direction == Direction::forward ? "forwards" : "backwards"),
                              expected, [&]() -> Result<std::vector<Uuid>> {
                                AllReadOptions options;
                                options.direction = direction;
                                options.limit = 100000;
                                Result<AllPage> page = store_->read_all(options);
                                if (!page.ok()) return page.status();
                                return ids_of(page->events);
                              });
    if (HasFailure()) return;
  }
  // A filtered read from the middle, in pages.
  std::vector<Uuid> odd;
  for (const RecordedEvent& event : expected_) {
    if (event.type == "Odd" && event.position >= expected_[expected_.size() / 2].position) odd.push_back(event.id);
  }
  points += fail_every_read("$all filtered, paged", odd, [&]() -> Result<std::vector<Uuid>> {
    AllReadOptions options;
    options.from = expected_[expected_.size() / 2].position;
    options.filter.event_type = "Odd";
    options.limit = 7;
    std::vector<Uuid> ids;
    for (;;) {
      Result<AllPage> page = store_->read_all(options);
      if (!page.ok()) return page.status();
      for (const Uuid& id : ids_of(page->events)) ids.push_back(id);
      if (!page->next) return ids;
      options.from = page->next;
    }
  });
  std::cout << "fault points: " << points << " reads of $all (forwards, backwards, filtered)" << std::endl;
}

// A subscription that catches up through a read error reports it from
// next(), and the next call resumes where it stopped.
TEST_F(ReadFaultTest, SubscriptionCatchUpReportsReadErrorsAndResumes) {
  const auto catch_up = [&](Subscription& subscription, std::size_t wanted, std::vector<Uuid>* ids,
                            std::vector<Status>* errors) {
    for (int polls = 0; ids->size() < wanted && polls < 10000; ++polls) {
      Result<std::vector<RecordedEvent>> batch = subscription.next(std::chrono::milliseconds(0));
      if (!batch.ok()) {
        errors->push_back(batch.status());
        continue;
      }
      for (const Uuid& id : ids_of(*batch)) ids->push_back(id);
    }
  };
  struct Kind {
    std::string name;
    std::vector<Uuid> expected;
    std::function<Result<std::unique_ptr<Subscription>>()> subscribe;
  };
  std::vector<Kind> kinds;
  kinds.push_back({"$all subscription", ids_of(expected_), [&] {
                     AllSubscriptionOptions options;
                     options.batch_size = 16;
                     return store_->subscribe_all(options);
                   }});
  kinds.push_back({"stream subscription", expected_ids_of(stream_name(1)), [&] {
                     StreamSubscriptionOptions options;
                     options.batch_size = 5;
                     return store_->subscribe_stream(stream_name(1), options);
                   }});
  std::size_t points = 0;
  for (const Kind& kind : kinds) {
    std::uint64_t reads = 0;
    {
      Result<std::unique_ptr<Subscription>> subscription = kind.subscribe();
      ASSERT_TRUE(subscription.ok()) << subscription.status().to_string();
      std::vector<Uuid> ids;
      std::vector<Status> errors;
      const std::uint64_t before = fault_env_->count(EnvOp::read);
      catch_up(**subscription, kind.expected.size(), &ids, &errors);
      reads = fault_env_->count(EnvOp::read) - before;
      ASSERT_TRUE(errors.empty()) << kind.name << ": " << errors.front().to_string();
      ASSERT_EQ(ids, kind.expected) << kind.name;
    }
    for (std::uint64_t k = 0; k < reads; ++k) {
      const std::string context = kind.name + ", read error at read " + std::to_string(k);
      Result<std::unique_ptr<Subscription>> subscription = kind.subscribe();
      ASSERT_TRUE(subscription.ok()) << context;
      fault_env_->fail_nth(EnvOp::read, k);
      std::vector<Uuid> ids;
      std::vector<Status> errors;
      catch_up(**subscription, kind.expected.size(), &ids, &errors);
      fault_env_->reset();
      ASSERT_EQ(errors.size(), 1u) << context << ": the read error was not reported exactly once";
      EXPECT_EQ(errors[0].code(), ErrorCode::io_error) << context << ": " << errors[0].to_string();
      EXPECT_NE(errors[0].message().find(kInjectedRead), std::string::npos) << context << ": " << errors[0].to_string();
      EXPECT_EQ(ids, kind.expected) << context << ": events lost or repeated around the error";
      if (HasFailure()) return;
    }
    points += reads;
  }
  std::cout << "fault points: " << points << " reads of two subscriptions' catch-up" << std::endl;
}

// Open fails cleanly at every read it makes (file opens, directory listing,
// reads of the log) and leaves the store as it was.
TEST_F(ReadFaultTest, OpenReportsEveryReadErrorAndChangesNothing) {
  ASSERT_TRUE(store_->close().ok());
  store_.reset();
  std::map<EnvOp, std::uint64_t> counts;
  {
    fault_env_->reset_counters();
    auto store = open();
    ASSERT_TRUE(store);
    for (EnvOp op : {EnvOp::open, EnvOp::list_dir, EnvOp::read}) counts[op] = fault_env_->count(op);
    ASSERT_TRUE(store->close().ok());
  }
  std::size_t points = 0;
  for (const auto& [op, n] : counts) {
    for (std::uint64_t k = 0; k < n; ++k) {
      ++points;
      const std::string context = "failed " + std::string(env_op_name(op)) + " " + std::to_string(k) + " of open";
      fault_env_->fail_nth(op, k);
      Result<std::unique_ptr<EventStore>> failed = open_store("file:/store", options());
      fault_env_->reset();
      ASSERT_FALSE(failed.ok()) << context << ": open succeeded although a read failed";
      EXPECT_EQ(failed.status().code(), ErrorCode::io_error) << context << ": " << failed.status().to_string();
      EXPECT_NE(failed.status().message().find("injected input/output error (EIO) in " +
                                               std::string(env_op_name(op)) + " /store/"),
                std::string::npos)
          << context << ": the error should name the file: " << failed.status().to_string();
      auto store = open();
      ASSERT_TRUE(store) << context;
      std::vector<std::string> problems;
      Result<std::vector<RecordedEvent>> all = crash::read_whole_store(*store, &problems);
      ASSERT_TRUE(all.ok()) << context << ": " << all.status().to_string();
      crash::check_streams_match(*store, *all, &problems);
      for (const std::string& problem : problems) ADD_FAILURE() << context << ": " << problem;
      EXPECT_EQ(ids_of(*all), ids_of(expected_)) << context;
      ASSERT_TRUE(store->close().ok()) << context;
      if (HasFailure()) return;
    }
  }
  std::cout << "fault points: " << points << " reads of an open (" << counts[EnvOp::open] << " file opens, "
            << counts[EnvOp::list_dir] << " listings, " << counts[EnvOp::read] << " reads)" << std::endl;
}

// An append whose idempotency check must read the log and gets a read error
// fails with io_error and writes nothing; the conservative engine then
// refuses writes until reopened, and the reopened store is whole.
TEST_F(ReadFaultTest, ReadErrorDuringAnIdempotentRetryWritesNothing) {
  StreamReadOptions first;
  first.limit = 1;
  Result<StreamPage> page = store_->read_stream(stream_name(2), first);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  const RecordedEvent& original = page->events[0];
  EventData retry;
  retry.id = original.id;
  retry.type = original.type;
  retry.data = original.data;
  retry.metadata = original.metadata;
  retry.content_type = original.content_type;
  fault_env_->fail_nth(EnvOp::read, 0);
  Result<AppendResult> result = store_->append(stream_name(2), ExpectedRevision::any(), std::vector<EventData>{retry});
  fault_env_->reset();
  ASSERT_FALSE(result.ok()) << "the retry was answered without reading the original";
  EXPECT_EQ(result.status().code(), ErrorCode::io_error) << result.status().to_string();
  EXPECT_NE(result.status().message().find(kInjectedRead), std::string::npos) << result.status().to_string();
  ASSERT_TRUE(store_->close().ok());
  store_ = open();
  ASSERT_TRUE(store_);
  std::vector<std::string> problems;
  Result<std::vector<RecordedEvent>> all = crash::read_whole_store(*store_, &problems);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(ids_of(*all), ids_of(expected_)) << "the failed retry wrote something";
  // Without the fault the retry is recognised and writes nothing.
  Result<AppendResult> again = store_->append(stream_name(2), ExpectedRevision::any(), std::vector<EventData>{retry});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->first_revision, original.revision);
}

}  // namespace
}  // namespace evsrc
