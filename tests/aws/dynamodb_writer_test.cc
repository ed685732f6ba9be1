// The DynamoDB backend's group commit when one group holds a retried write
// together with its first attempt (the same event ids twice) and unrelated
// writes: every caller gets the right answer, and nothing is written twice.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aws/aws_test_env.h"
#include "evsrc/dynamodb.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

TEST(DynamoWriterTest, RetriesSharingAGroupWithTheirFirstAttemptAreAnsweredOnce) {
  const std::string uri = evsrc::testing::dynamodb_test_uri(evsrc::testing::fresh_dynamodb_prefix("retries"));
  auto opened = open_store(uri);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(opened).value();
  for (int round = 0; round < 5; ++round) {
    std::vector<EventData> batch(2);
    for (EventData& event : batch) {
      event.id = Uuid::random();
      event.type = "Retried";
      event.data = R"({"round":)" + std::to_string(round) + "}";
    }
    // 6 callers send the same batch at once (an append and its retries), 6
    // others write streams of their own: they share groups.
    std::vector<Result<AppendResult>> same(6, Status::io_error("not run"));
    std::atomic<int> other_failures{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] { same[i] = store->append("shared", ExpectedRevision::any(), batch); });
      threads.emplace_back([&, i] {
        EventData event;
        event.type = "Other";
        event.data = "{}";
        if (!store->append("other-" + std::to_string(i), ExpectedRevision::any(), {&event, 1}).ok()) ++other_failures;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(other_failures.load(), 0) << "round " << round;
    for (const auto& result : same) {
      ASSERT_TRUE(result.ok()) << "round " << round << ": " << result.status().to_string();
      EXPECT_EQ(*result, *same[0]) << "round " << round;
    }
    EXPECT_EQ(same[0]->first_revision, static_cast<StreamRevision>(2 * round));
  }
  auto stats = store->stats();
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->events, 5u * 2 + 5u * 6);
  EXPECT_TRUE(store->close().ok());
  EXPECT_TRUE(delete_dynamodb_tables(uri).ok());
}

}  // namespace
}  // namespace evsrc
