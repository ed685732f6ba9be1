// The DynamoDB backend's own limits: one commit is one TransactWriteItems of at
// most 100 items (an event costs 2, plus the head, the log and one per
// stream), and an item holds at most 400 KB. Beyond them a write fails with
// too_large and writes nothing; up to them it succeeds whole.
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

std::vector<EventData> events(std::size_t count, std::size_t data_bytes = 16) {
  std::vector<EventData> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    out[i].type = "Limit";
    out[i].data = "\"" + std::string(data_bytes, 'x') + "\"";
  }
  return out;
}

class DynamoLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = evsrc::testing::dynamodb_test_uri(evsrc::testing::fresh_dynamodb_prefix("limits"));
    auto opened = open_store(uri_);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->close().ok());
    }
    EXPECT_TRUE(delete_dynamodb_tables(uri_).ok());
  }
  std::uint64_t event_count() {
    auto stats = store_->stats();
    EXPECT_TRUE(stats.ok()) << stats.status().to_string();
    return stats.ok() ? stats->events : 0;
  }
  std::string uri_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(DynamoLimitsTest, AnAppendOfAtMost48EventsFitsOneTransaction) {
  auto fits = store_->append("big-1", ExpectedRevision::no_stream(), events(48));
  ASSERT_TRUE(fits.ok()) << fits.status().to_string();
  EXPECT_EQ(fits->last_revision, 47u);
  auto too_many = store_->append("big-2", ExpectedRevision::no_stream(), events(49));
  ASSERT_EQ(too_many.status().code(), ErrorCode::too_large) << too_many.status().to_string();
  EXPECT_NE(too_many.status().message().find("at most 100"), std::string::npos) << too_many.status().message();
  EXPECT_EQ(event_count(), 48u);
  EXPECT_EQ(store_->stream_info("big-2").status().code(), ErrorCode::not_found);
}

TEST_F(DynamoLimitsTest, ATransactionCountsTheItemsOfEveryPart) {
  std::vector<TransactionPart> parts;
  for (int i = 0; i < 3; ++i) parts.push_back({"tx-" + std::to_string(i), ExpectedRevision::any(), events(16)});
  auto too_many = store_->commit(parts);  // 3 x (32 + 1) + head + log = 101 items
  ASSERT_EQ(too_many.status().code(), ErrorCode::too_large) << too_many.status().to_string();
  EXPECT_EQ(event_count(), 0u);
  parts.pop_back();
  auto fits = store_->commit(parts);
  ASSERT_TRUE(fits.ok()) << fits.status().to_string();
  EXPECT_EQ(event_count(), 32u);
}

TEST_F(DynamoLimitsTest, EventsLargerThanAnItemAreRefusedAndLargeOnesSplitTheLog) {
  auto too_large = store_->append("huge", ExpectedRevision::any(), events(1, 400 * 1024));
  ASSERT_EQ(too_large.status().code(), ErrorCode::too_large) << too_large.status().to_string();
  EXPECT_EQ(event_count(), 0u);
  // Three events of 300 KB: one commit, more than one log item.
  auto large = store_->append("large", ExpectedRevision::any(), events(3, 300 * 1024));
  ASSERT_TRUE(large.ok()) << large.status().to_string();
  AllReadOptions options;
  options.limit = 10;
  auto page = store_->read_all(options);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->events.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(page->events[i].revision, i);
    EXPECT_EQ(page->events[i].data.size(), 300u * 1024 + 2);
  }
}

TEST_F(DynamoLimitsTest, ManyConcurrentAppendsAreCutIntoTransactionsThatFit) {
  // 40 threads x 5 appends of 3 events: groups must be cut at 100 items.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 40; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!store_->append("many-" + std::to_string(t), ExpectedRevision::any(), events(3)).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(event_count(), 600u);
}

}  // namespace
}  // namespace evsrc
