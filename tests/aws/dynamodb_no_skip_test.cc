// The no-skip test on the DynamoDB backend: the PostgreSQL backend's workload
// (tests/postgres/no_skip_workload.h) on dynamodb://. Writers with a store
// object each (as processes would have) contend for the head item that every
// commit is conditioned on: a writer whose condition failed re-reads and
// tries again (up to 40 attempts, then io_error "gave up after 40 attempts",
// which this test counts as a failure). Meanwhile three followers of $all run
// (subscriptions on a reader store and on writer 0's store, a read_all
// poller); each, and a fresh store afterwards, must see every acknowledged
// event exactly once, in a consistent order.
//
// The local test server serializes every request (tests/aws/README.md), so
// commits never really overlap there, but the stores' reads and conditional
// writes do interleave: a stale head makes a commit fail and retry.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "aws/aws_test_env.h"
#include "evsrc/dynamodb.h"
#include "evsrc/event_store.h"
#include "postgres/no_skip_workload.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

// As on PostgreSQL, 16 store objects (16 "processes"), every commit of every
// store contending for the head item: on the test server (some 50 to 90
// transactions a second) a run takes some 35 s and ~30 requests per
// acknowledged call. (With a 40-attempt limit 4-5 of the 320 calls gave up;
// the writer now retries contention for up to 30 s: none did in the plain
// build, 2 of 320 under AddressSanitizer in CI — tolerated below, checked.)
constexpr int kWriters = 16;
constexpr int kCallsPerWriter = 20;

class DynamoNoSkipTest : public ::testing::Test {
 protected:
  void SetUp() override { uri_ = evsrc::testing::dynamodb_test_uri(evsrc::testing::fresh_dynamodb_prefix("noskip")); }
  void TearDown() override {
    if (uri_.empty()) return;
    const Status deleted = delete_dynamodb_tables(uri_);
    EXPECT_TRUE(deleted.ok()) << deleted.to_string();
  }

  std::unique_ptr<EventStore> open() {
    Result<std::unique_ptr<EventStore>> store = open_dynamodb_store(uri_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string uri_;
};

TEST_F(DynamoNoSkipTest, FollowersOfAllSeeEveryCommittedEventOnceWhileStoresContendForTheHead) {
  // One store first, so that the tables exist before the others race to open.
  std::unique_ptr<EventStore> first = open();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->close().ok());

  NoSkipWorkloadOptions options;
  options.writers = kWriters;
  options.calls_per_writer = kCallsPerWriter;
  // Under heavy contention (16 stores, a slow test server, sanitizers) a
  // write may lose the head item for 30 s and give up — with io_error saying
  // nothing was written, which the oracle then checks (none of its events may
  // ever be seen). A few are tolerated; many would mean the retry is broken.
  options.refused_without_writing = [](const Status& status) {
    return status.code() == ErrorCode::io_error &&
           status.message().find("nothing was written") != std::string::npos &&
           status.message().find("gave up") != std::string::npos;
  };
  const std::uint64_t requests_before = dynamodb_requests_sent();
  const auto started = std::chrono::steady_clock::now();
  const NoSkipFigures figures = run_no_skip_workload([this](std::optional<int>) { return open(); }, options);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  const std::uint64_t requests = dynamodb_requests_sent() - requests_before;

  RecordProperty("acknowledged_events", figures.acknowledged_events);
  RecordProperty("acknowledged_calls", figures.acknowledged_calls);
  RecordProperty("conflicts_retried", figures.conflicts_retried);
  RecordProperty("unexpected_failures", figures.unexpected_failures);
  RecordProperty("gave_up_under_contention", figures.refused_calls);
  EXPECT_LE(figures.refused_calls, kWriters * kCallsPerWriter / 20) << "more than 5% of the calls gave up";
  RecordProperty("writing_ms", static_cast<int>(figures.writing_time.count()));
  RecordProperty("dynamodb_requests", static_cast<int>(requests));
  for (std::size_t i = 0; i < figures.seen_while_writing.size(); ++i) {
    RecordProperty("follower_" + std::to_string(i) + "_seen_while_writing",
                   static_cast<int>(figures.seen_while_writing[i]));
  }
  std::printf(
      "no-skip on dynamodb: %d writers x %d calls: %d calls (%d events) acknowledged, %d unexpected "
      "failures, %d gave up under contention (nothing written), %d expectation conflicts retried; writing %lld ms, all %lld ms; %llu DynamoDB requests "
      "(followers' included)\n",
      kWriters, kCallsPerWriter, figures.acknowledged_calls, figures.acknowledged_events, figures.unexpected_failures,
      figures.refused_calls, figures.conflicts_retried, static_cast<long long>(figures.writing_time.count()),
      static_cast<long long>(elapsed.count()), static_cast<unsigned long long>(requests));
}

}  // namespace
}  // namespace evsrc_test
