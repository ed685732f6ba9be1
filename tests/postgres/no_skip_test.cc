// The no-skip test of the PostgreSQL backend (DESIGN §6): 16 writers, each
// with a store object of its own (as 16 processes would have), hold every
// write transaction open for a random 0..20 ms before its COMMIT, so that
// without care a later position would commit before an earlier one; followers
// of $all (subscriptions on a reader store and on a writer's store, and a
// read_all poller resuming by `next`) run meanwhile. Each must see every
// acknowledged event exactly once, in a consistent order.
//
// The oracle (check_followed_history) is tested first on fabricated histories
// with a gap, a duplicate, an unacknowledged event and reordering, so the
// test is known to be able to fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "postgres/followed_history.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

std::string joined(const std::vector<std::string>& problems) {
  std::string text;
  for (const std::string& problem : problems) text += "\n  " + problem;
  return text;
}

// ---- the oracle on fabricated histories ------------------------------------------

class FollowedHistoryCheck : public ::testing::Test {
 protected:
  // Three calls: a-0 a-1 (call 1), b-0 (call 2), a-2 (call 3) at positions 1..4.
  void SetUp() override {
    add(1, "a", 0, 1, false);
    add(1, "a", 1, 2, true);
    add(2, "b", 0, 3, true);
    add(3, "a", 2, 4, true);
  }
  void add(std::uint64_t call, const std::string& stream, StreamRevision revision, Position position,
           bool position_known) {
    AcknowledgedEvent event;
    event.stream = stream;
    event.revision = revision;
    if (position_known) event.position = position;
    event.id = Uuid::random();
    event.call = call;
    acknowledged_.push_back(event);
    RecordedEvent recorded;
    recorded.stream = stream;
    recorded.revision = revision;
    recorded.position = position;
    recorded.id = event.id;
    recorded.type = "T";
    history_.push_back(recorded);
  }
  std::vector<std::string> check(const std::vector<RecordedEvent>& seen) {
    return check_followed_history(acknowledged_, seen);
  }

  std::vector<AcknowledgedEvent> acknowledged_;
  std::vector<RecordedEvent> history_;
};

TEST_F(FollowedHistoryCheck, AcceptsTheTrueHistory) { EXPECT_EQ(check(history_), std::vector<std::string>{}); }

TEST_F(FollowedHistoryCheck, FindsASkippedEvent) {
  std::vector<RecordedEvent> seen = history_;
  seen.erase(seen.begin() + 2);  // b-0: what a subscriber skipping a late commit misses
  const std::vector<std::string> problems = check(seen);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(joined(problems).find("b@0 (position 3) id " + history_[2].id.to_string() + " was never seen"),
            std::string::npos)
      << joined(problems);
}

TEST_F(FollowedHistoryCheck, FindsAnEventSeenTwice) {
  std::vector<RecordedEvent> seen = history_;
  seen.push_back(history_[2]);
  const std::string problems = joined(check(seen));
  EXPECT_NE(problems.find("seen again"), std::string::npos) << problems;
  EXPECT_NE(problems.find("follows position 4"), std::string::npos) << problems;
}

TEST_F(FollowedHistoryCheck, FindsAnUnacknowledgedEvent) {
  std::vector<RecordedEvent> seen = history_;
  RecordedEvent ghost = history_.back();
  ghost.revision = 3;
  ghost.position = 5;
  ghost.id = Uuid::random();
  seen.push_back(ghost);
  const std::string problems = joined(check(seen));
  EXPECT_NE(problems.find("a@3 (position 5, id " + ghost.id.to_string() + ") was never acknowledged"),
            std::string::npos)
      << problems;
}

TEST_F(FollowedHistoryCheck, FindsPositionsOutOfOrderAndARevisionGap) {
  std::vector<RecordedEvent> seen = history_;
  std::swap(seen[2], seen[3]);  // a-2 at 4 before b-0 at 3
  std::string problems = joined(check(seen));
  EXPECT_NE(problems.find("position 3 of b@0"), std::string::npos) << problems;

  seen = history_;
  seen.erase(seen.begin() + 1);  // a-1 missing: a-2 follows a-0
  problems = joined(check(seen));
  EXPECT_NE(problems.find("a@2 (position 4, id " + history_[3].id.to_string() + ") follows revision 0"),
            std::string::npos)
      << problems;
}

TEST_F(FollowedHistoryCheck, FindsAWrongPositionAndAnInterleavedCall) {
  std::vector<RecordedEvent> seen = history_;
  seen[1].position = 7;  // a-1 was acknowledged at 2
  seen[2].position = 8;
  seen[3].position = 9;
  EXPECT_NE(joined(check(seen)).find("was acknowledged as a@1 at position 2"), std::string::npos);

  // b-0 (call 2) between a-0 and a-1 (call 1), positions still increasing.
  seen = {history_[0], history_[2], history_[1], history_[3]};
  seen[1].position = 2;
  seen[2].position = 3;
  acknowledged_[1].position.reset();
  acknowledged_[2].position.reset();
  const std::string problems = joined(check(seen));
  EXPECT_NE(problems.find("of call 2 lies inside call 1"), std::string::npos) << problems;
}

// ---- the backend ---------------------------------------------------------------------

constexpr int kWriters = 16;
constexpr int kCallsPerWriter = 20;
constexpr int kSharedStreams = 4;
constexpr int kAnyStreams = 3;
// Bounds the wait of a follower for events it is still owed: reaching it
// fails the test (a follower that skipped an event never catches up to the
// count it owes, but does reach the last position).
constexpr auto kFollowDeadline = std::chrono::minutes(3);

struct Follower {
  std::string name;
  std::vector<RecordedEvent> seen;
  std::size_t seen_while_writing = 0;  // how much was followed live (reported, not asserted)
  std::string error;
};

class NoSkipTest : public FreshPostgresSchema {
 protected:

  std::unique_ptr<EventStore> open(std::function<void()> before_commit = {}) {
    PostgresStoreOptions options;
    options.before_commit_for_testing = std::move(before_commit);
    Result<std::unique_ptr<EventStore>> store = open_postgres_store(uri_, options);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

};

std::vector<EventData> make_events(int writer, int call, int count) {
  std::vector<EventData> events(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    events[i].id = Uuid::random();
    events[i].type = "NoSkip";
    events[i].data = R"({"writer":)" + std::to_string(writer) + R"(,"call":)" + std::to_string(call) + R"(,"event":)" +
                     std::to_string(i) + "}";
  }
  return events;
}

// What one writer was told: its acknowledged events, and calls that failed
// in a way the test does not expect.
struct WriterLog {
  std::vector<AcknowledgedEvent> acknowledged;
  std::vector<std::string> unexpected;
  int conflicts = 0;
  std::optional<Position> last_position;
};

void record(WriterLog& log, std::uint64_t call, const std::string& stream, StreamRevision first,
            const std::vector<EventData>& events, Position position) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    AcknowledgedEvent event;
    event.stream = stream;
    event.revision = first + i;
    if (i + 1 == events.size()) event.position = position;
    event.id = events[i].id;
    event.call = call;
    log.acknowledged.push_back(std::move(event));
  }
  log.last_position = std::max(log.last_position.value_or(0), position);
}

ExpectedRevision expectation(std::optional<StreamRevision> head) {
  return head ? ExpectedRevision::exact(*head) : ExpectedRevision::no_stream();
}

// Appends and commits to shared streams with exact expectations (retrying
// conflicts), to shared streams with `any`, to its own stream, and
// transactions over its own streams and a shared one.
void run_writer(EventStore& store, int writer, WriterLog& log) {
  std::mt19937 random(std::random_device{}() + static_cast<unsigned>(writer));
  std::map<std::string, std::optional<StreamRevision>> believed_head;
  const std::string own = "writer-" + std::to_string(writer);
  for (int call = 0; call < kCallsPerWriter; ++call) {
    const std::uint64_t call_id = static_cast<std::uint64_t>(writer) * 1000 + static_cast<std::uint64_t>(call);
    const int count = 1 + static_cast<int>(random() % 3);
    const std::vector<EventData> events = make_events(writer, call, count);
    const unsigned kind = random() % 10;
    if (kind < 4) {
      // A shared stream with an exact expectation: conflicts are expected and
      // retried with the actual revision.
      const std::string stream = "shared-" + std::to_string(random() % kSharedStreams);
      for (int attempt = 0;; ++attempt) {
        Result<AppendResult> result = store.append(stream, expectation(believed_head[stream]), events);
        if (result.ok()) {
          record(log, call_id, stream, result->first_revision, events, result->position);
          believed_head[stream] = result->last_revision;
          break;
        }
        if (result.status().code() != ErrorCode::wrong_expected_revision || attempt == 50) {
          log.unexpected.push_back(stream + ": " + result.status().to_string());
          break;
        }
        ++log.conflicts;
        believed_head[stream] = result.status().actual_revision();
      }
    } else if (kind < 6) {
      const std::string stream = "anyone-" + std::to_string(random() % kAnyStreams);
      Result<AppendResult> result = store.append(stream, ExpectedRevision::any(), events);
      if (!result.ok()) {
        log.unexpected.push_back(stream + ": " + result.status().to_string());
        continue;
      }
      record(log, call_id, stream, result->first_revision, events, result->position);
    } else if (kind < 8) {
      Result<AppendResult> result = store.append(own, expectation(believed_head[own]), events);
      if (!result.ok()) {
        log.unexpected.push_back(own + ": " + result.status().to_string());
        continue;
      }
      record(log, call_id, own, result->first_revision, events, result->position);
      believed_head[own] = result->last_revision;
    } else {
      // A transaction: a condition on the writer's own stream (always true:
      // only this writer writes it), events to a stream of its own and to a
      // shared `any` stream.
      const std::string mine = own + "-tx";
      const std::string shared = "anyone-" + std::to_string(random() % kAnyStreams);
      std::vector<EventData> second = make_events(writer, call, 1);
      std::vector<TransactionPart> parts(3);
      parts[0].stream = own;
      parts[0].expected = expectation(believed_head[own]);
      parts[1].stream = mine;
      parts[1].events = events;
      parts[2].stream = shared;
      parts[2].events = second;
      Result<TransactionResult> result = store.commit(parts);
      if (!result.ok()) {
        log.unexpected.push_back("transaction: " + result.status().to_string());
        continue;
      }
      if (result->parts.size() != 3 || !result->parts[1].first_revision || !result->parts[2].first_revision) {
        log.unexpected.push_back("transaction: a result without the revisions of its parts");
        continue;
      }
      record(log, call_id, mine, *result->parts[1].first_revision, events, result->parts[1].position);
      record(log, call_id, shared, *result->parts[2].first_revision, second, result->parts[2].position);
    }
  }
}

// Follows $all with a subscription until it has seen `final_position` (known
// once the writers are done), then asks once more for anything extra.
void follow_by_subscription(EventStore& store, Follower& follower, const std::atomic<bool>& writers_done,
                            const std::atomic<Position>& final_position) {
  AllSubscriptionOptions options;
  options.batch_size = 16;
  Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
  if (!subscription.ok()) {
    follower.error = subscription.status().to_string();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kFollowDeadline;
  bool caught_up = false;
  for (;;) {
    Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(caught_up ? 300 : 50));
    if (!batch.ok()) {
      follower.error = batch.status().to_string();
      return;
    }
    follower.seen.insert(follower.seen.end(), batch->begin(), batch->end());
    if (!writers_done.load()) follower.seen_while_writing = follower.seen.size();
    if (caught_up) return;
    caught_up = writers_done.load() && !follower.seen.empty() && follower.seen.back().position >= final_position.load();
    if (std::chrono::steady_clock::now() > deadline) {
      follower.error = "did not reach the last acknowledged position in time";
      return;
    }
  }
}

// Follows $all with small read_all pages, resuming from each page's `next`
// (or after the last event seen when the read reached the end).
void follow_by_polling(EventStore& store, Follower& follower, const std::atomic<bool>& writers_done,
                       const std::atomic<Position>& final_position) {
  AllReadOptions options;
  options.limit = 7;
  const auto deadline = std::chrono::steady_clock::now() + kFollowDeadline;
  bool caught_up = false;
  for (;;) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) {
      follower.error = page.status().to_string();
      return;
    }
    follower.seen.insert(follower.seen.end(), page->events.begin(), page->events.end());
    if (!writers_done.load()) follower.seen_while_writing = follower.seen.size();
    if (page->next) {
      options.from = page->next;
    } else if (!page->events.empty()) {
      options.from = page->events.back().position + 1;
    }
    if (page->next) continue;
    if (caught_up) return;
    caught_up = writers_done.load() && !follower.seen.empty() && follower.seen.back().position >= final_position.load();
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (std::chrono::steady_clock::now() > deadline) {
      follower.error = "did not reach the last acknowledged position in time";
      return;
    }
  }
}

TEST_F(NoSkipTest, FollowersOfAllSeeEveryCommittedEventOnceWhileCommitsAreDelayed) {
  // 16 writer stores, each holding its write transactions open 0..20 ms.
  std::vector<std::unique_ptr<EventStore>> writer_stores;
  std::atomic<int> delayed_commits{0};
  for (int writer = 0; writer < kWriters; ++writer) {
    auto delay = [&delayed_commits, seed = static_cast<unsigned>(writer) * 7919u + std::random_device{}()] {
      thread_local std::mt19937 random(seed);
      delayed_commits.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 20001));
    };
    writer_stores.push_back(open(delay));
    ASSERT_NE(writer_stores.back(), nullptr);
  }
  std::unique_ptr<EventStore> reader = open();
  ASSERT_NE(reader, nullptr);

  std::atomic<bool> writers_done{false};
  std::atomic<Position> final_position{0};
  std::vector<Follower> followers(3);
  followers[0].name = "subscription on a reader store";
  followers[1].name = "subscription on writer 0's store";
  followers[2].name = "read_all poller on a reader store";
  std::vector<std::thread> follower_threads;
  follower_threads.emplace_back([&] { follow_by_subscription(*reader, followers[0], writers_done, final_position); });
  follower_threads.emplace_back(
      [&] { follow_by_subscription(*writer_stores[0], followers[1], writers_done, final_position); });
  follower_threads.emplace_back([&] { follow_by_polling(*reader, followers[2], writers_done, final_position); });

  std::vector<WriterLog> logs(kWriters);
  std::vector<std::thread> writer_threads;
  for (int writer = 0; writer < kWriters; ++writer) {
    writer_threads.emplace_back([&, writer] { run_writer(*writer_stores[writer], writer, logs[writer]); });
  }
  for (std::thread& thread : writer_threads) thread.join();

  std::vector<AcknowledgedEvent> acknowledged;
  int conflicts = 0;
  Position last = 0;
  for (int writer = 0; writer < kWriters; ++writer) {
    EXPECT_EQ(logs[writer].unexpected, std::vector<std::string>{}) << "writer " << writer;
    acknowledged.insert(acknowledged.end(), logs[writer].acknowledged.begin(), logs[writer].acknowledged.end());
    conflicts += logs[writer].conflicts;
    last = std::max(last, logs[writer].last_position.value_or(0));
  }
  final_position.store(last);
  writers_done.store(true);
  for (std::thread& thread : follower_threads) thread.join();

  ASSERT_FALSE(acknowledged.empty());
  EXPECT_GT(delayed_commits.load(), 0) << "before_commit_for_testing was never called: no commit was delayed";
  for (const Follower& follower : followers) {
    EXPECT_EQ(follower.error, "") << follower.name;
    EXPECT_EQ(joined(check_followed_history(acknowledged, follower.seen)), "")
        << follower.name << " saw " << follower.seen.size() << " events of " << acknowledged.size() << " acknowledged";
  }

  // And a fresh store object reading the finished store agrees, page by page
  // and stream by stream.
  std::unique_ptr<EventStore> fresh = open();
  ASSERT_NE(fresh, nullptr);
  std::vector<RecordedEvent> all;
  AllReadOptions options;
  options.limit = 100;
  for (;;) {
    Result<AllPage> page = fresh->read_all(options);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    all.insert(all.end(), page->events.begin(), page->events.end());
    if (!page->next) break;
    options.from = page->next;
  }
  EXPECT_EQ(joined(check_followed_history(acknowledged, all)), "");
  std::map<std::string, std::vector<RecordedEvent>> by_stream;
  for (const RecordedEvent& event : all) by_stream[event.stream].push_back(event);
  for (const auto& [stream, events] : by_stream) {
    Result<StreamPage> page = fresh->read_stream(stream, StreamReadOptions{});
    ASSERT_TRUE(page.ok()) << stream << ": " << page.status().to_string();
    EXPECT_EQ(page->events, events) << stream;
  }
  RecordProperty("acknowledged_events", static_cast<int>(acknowledged.size()));
  RecordProperty("conflicts_retried", conflicts);
  RecordProperty("delayed_commits", delayed_commits.load());
  for (std::size_t i = 0; i < followers.size(); ++i) {
    RecordProperty("follower_" + std::to_string(i) + "_seen_while_writing",
                   static_cast<int>(followers[i].seen_while_writing));
  }

  for (auto& store : writer_stores) EXPECT_TRUE(store->close().ok());
  EXPECT_TRUE(reader->close().ok());
  EXPECT_TRUE(fresh->close().ok());
}

}  // namespace
}  // namespace evsrc_test
