// The no-skip test of the PostgreSQL backend (DESIGN §6): 16 writers, each
// with a store object of its own (as 16 processes would have), hold every
// write transaction open for a random 0..20 ms before its COMMIT, so that
// without care a later position would commit before an earlier one; followers
// of $all (subscriptions on a reader store and on a writer's store, and a
// read_all poller resuming by `next`) run meanwhile. Each must see every
// acknowledged event exactly once, in a consistent order. The workload is
// shared with the DynamoDB backend's test (no_skip_workload.h); the delayed
// commits are this backend's own.
//
// The oracle (check_followed_history) is tested first on fabricated histories
// with a gap, a duplicate, an unacknowledged event and reordering, so the
// test is known to be able to fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "postgres/followed_history.h"
#include "postgres/no_skip_workload.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

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
  EXPECT_NE(joined_problems(problems).find("b@0 (position 3) id " + history_[2].id.to_string() + " was never seen"),
            std::string::npos)
      << joined_problems(problems);
}

TEST_F(FollowedHistoryCheck, FindsAnEventSeenTwice) {
  std::vector<RecordedEvent> seen = history_;
  seen.push_back(history_[2]);
  const std::string problems = joined_problems(check(seen));
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
  const std::string problems = joined_problems(check(seen));
  EXPECT_NE(problems.find("a@3 (position 5, id " + ghost.id.to_string() + ") was never acknowledged"),
            std::string::npos)
      << problems;
}

TEST_F(FollowedHistoryCheck, FindsPositionsOutOfOrderAndARevisionGap) {
  std::vector<RecordedEvent> seen = history_;
  std::swap(seen[2], seen[3]);  // a-2 at 4 before b-0 at 3
  std::string problems = joined_problems(check(seen));
  EXPECT_NE(problems.find("position 3 of b@0"), std::string::npos) << problems;

  seen = history_;
  seen.erase(seen.begin() + 1);  // a-1 missing: a-2 follows a-0
  problems = joined_problems(check(seen));
  EXPECT_NE(problems.find("a@2 (position 4, id " + history_[3].id.to_string() + ") follows revision 0"),
            std::string::npos)
      << problems;
}

TEST_F(FollowedHistoryCheck, FindsAWrongPositionAndAnInterleavedCall) {
  std::vector<RecordedEvent> seen = history_;
  seen[1].position = 7;  // a-1 was acknowledged at 2
  seen[2].position = 8;
  seen[3].position = 9;
  EXPECT_NE(joined_problems(check(seen)).find("was acknowledged as a@1 at position 2"), std::string::npos);

  // b-0 (call 2) between a-0 and a-1 (call 1), positions still increasing.
  seen = {history_[0], history_[2], history_[1], history_[3]};
  seen[1].position = 2;
  seen[2].position = 3;
  acknowledged_[1].position.reset();
  acknowledged_[2].position.reset();
  const std::string problems = joined_problems(check(seen));
  EXPECT_NE(problems.find("of call 2 lies inside call 1"), std::string::npos) << problems;
}

// ---- the backend ---------------------------------------------------------------------

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

TEST_F(NoSkipTest, FollowersOfAllSeeEveryCommittedEventOnceWhileCommitsAreDelayed) {
  // 16 writer stores, each holding its write transactions open 0..20 ms.
  std::atomic<int> delayed_commits{0};
  const NoSkipStoreOpener open_store = [&](std::optional<int> writer) {
    if (!writer) return open();
    return open([&delayed_commits, seed = static_cast<unsigned>(*writer) * 7919u + std::random_device{}()] {
      thread_local std::mt19937 random(seed);
      delayed_commits.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(random() % 20001));
    });
  };
  const NoSkipFigures figures = run_no_skip_workload(open_store, NoSkipWorkloadOptions{});

  EXPECT_GT(delayed_commits.load(), 0) << "before_commit_for_testing was never called: no commit was delayed";
  RecordProperty("acknowledged_events", figures.acknowledged_events);
  RecordProperty("conflicts_retried", figures.conflicts_retried);
  RecordProperty("delayed_commits", delayed_commits.load());
  for (std::size_t i = 0; i < figures.seen_while_writing.size(); ++i) {
    RecordProperty("follower_" + std::to_string(i) + "_seen_while_writing",
                   static_cast<int>(figures.seen_while_writing[i]));
  }
}

}  // namespace
}  // namespace evsrc_test
