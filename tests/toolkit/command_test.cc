// Commands: exact-revision appends, retry on conflict, rejections, atomic
// multi-stream decisions, revert.
#include <atomic>
#include <thread>

#include "toolkit/counter.h"

namespace evsrc_test {
namespace {

Decide<Counter> add(std::int64_t amount) {
  return [amount](const VersionedState<Counter>&) -> Result<Decision> {
    return Decision{{encoded(Added{amount})}, {}};
  };
}

Restore<Counter> set_back() {
  return [](const VersionedState<Counter>&, const VersionedState<Counter>& target) -> Result<Decision> {
    return Decision{{encoded(ValueSet{target.state.value})}, {}};
  };
}

TEST_P(ToolkitTest, ExecuteAppendsExpectingTheLoadedRevision) {
  ViewLoader<Counter> loader(store(), counter_view());
  auto first = execute(loader, "counter-1", add(5));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->revision, 0u);
  EXPECT_TRUE(first->position.has_value());
  EXPECT_EQ(first->attempts, 1u);
  EXPECT_EQ(first->conflicts, 0u);
  auto second = execute(loader, "counter-1", add(6));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->revision, 1u);
  EXPECT_GT(*second->position, *first->position);
  EXPECT_EQ(loader.state("counter-1")->state.value, 11);
}

TEST_P(ToolkitTest, ExecuteRetriesAfterAConcurrentWrite) {
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(execute(loader, "counter-1", add(1)).ok());
  int calls = 0;
  auto result = execute(loader, "counter-1",
                        Decide<Counter>([&](const VersionedState<Counter>& current) -> Result<Decision> {
                          if (++calls == 1) {
                            // Another writer gets in between load and commit.
                            EXPECT_TRUE(store().append("counter-1", ExpectedRevision::any(), std::vector<EventData>{encoded(Added{100})}).ok());
                          }
                          return Decision{{encoded(ValueSet{current.state.value * 2})}, {}};
                        }));
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->attempts, 2u);
  EXPECT_EQ(result->conflicts, 1u);
  EXPECT_EQ(loader.state("counter-1")->state.value, 202);  // decided on the reloaded state
}

TEST_P(ToolkitTest, ExecuteGivesUpAfterMaxAttemptsWithTheConflict) {
  ViewLoader<Counter> loader(store(), counter_view());
  auto result = execute(loader, "counter-1",
                        Decide<Counter>([&](const VersionedState<Counter>&) -> Result<Decision> {
                          EXPECT_TRUE(store().append("counter-1", ExpectedRevision::any(), std::vector<EventData>{encoded(Added{1})}).ok());
                          return Decision{{encoded(Added{1000})}, {}};
                        }),
                        RetryPolicy{3, std::chrono::microseconds(10), std::chrono::microseconds(100)});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::wrong_expected_revision);
  EXPECT_NE(result.status().message().find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(loader.state("counter-1")->state.value, 3);  // none of the command's events landed
}

TEST_P(ToolkitTest, RejectionIsNotRetriedAndWritesNothing) {
  ViewLoader<Counter> loader(store(), counter_view());
  int calls = 0;
  auto result = execute(loader, "counter-1", Decide<Counter>([&](const VersionedState<Counter>&) -> Result<Decision> {
                          ++calls;
                          return Status::rejected("counter is closed");
                        }));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::rejected);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(loader.state("counter-1")->revision.has_value());
}

TEST_P(ToolkitTest, EmptyDecisionWritesNothing) {
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(execute(loader, "counter-1", add(1)).ok());
  auto result = execute(loader, "counter-1",
                        Decide<Counter>([](const VersionedState<Counter>&) -> Result<Decision> { return Decision{}; }));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->revision, 0u);
  EXPECT_FALSE(result->position.has_value());
}

TEST_P(ToolkitTest, DecisionWithOtherPartsCommitsAllOrNothing) {
  ViewLoader<Counter> loader(store(), counter_view());
  // A reservation stream that already exists makes the no_stream part fail:
  // the counter's own event must not land either (no partial batches).
  ASSERT_TRUE(store().append("reservation-x", ExpectedRevision::any(), std::vector<EventData>{encoded(Added{0})}).ok());
  auto reserve = [](const VersionedState<Counter>&) -> Result<Decision> {
    Decision decision{{encoded(Added{1})}, {}};
    decision.other_parts.push_back(TransactionPart{"reservation-x", ExpectedRevision::no_stream(), {encoded(Added{0})}});
    return decision;
  };
  auto result = execute(loader, "counter-1", Decide<Counter>(reserve), RetryPolicy{2, {}, {}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::wrong_expected_revision);
  EXPECT_FALSE(loader.state("counter-1")->revision.has_value());

  auto other = [](const VersionedState<Counter>&) -> Result<Decision> {
    Decision decision{{encoded(Added{1})}, {}};
    decision.other_parts.push_back(TransactionPart{"reservation-y", ExpectedRevision::no_stream(), {encoded(Added{0})}});
    return decision;
  };
  auto committed = execute(loader, "counter-1", Decide<Counter>(other));
  ASSERT_TRUE(committed.ok()) << committed.status().to_string();
  EXPECT_EQ(committed->revision, 0u);
  EXPECT_TRUE(store().stream_info("reservation-y").ok());
}

TEST_P(ToolkitTest, ConcurrentCommandsLoseNoUpdate) {
  ViewLoader<Counter> loader(store(), counter_view(), SnapshotPolicy{16, 4});
  constexpr int kThreads = 4;
  constexpr int kCommands = 25;
  std::atomic<std::uint32_t> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCommands; ++i) {
        // Read-modify-write: each command sets value + 1, so a lost update
        // would show as a smaller final value.
        auto result = execute(loader, "counter-1",
                              Decide<Counter>([](const VersionedState<Counter>& current) -> Result<Decision> {
                                return Decision{{encoded(ValueSet{current.state.value + 1})}, {}};
                              }),
                              RetryPolicy{1000, std::chrono::microseconds(50), std::chrono::microseconds(2000)});
        EXPECT_TRUE(result.ok()) << result.status().to_string();
        if (result.ok()) conflicts += result->conflicts;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  auto final_state = loader.state("counter-1");
  ASSERT_TRUE(final_state.ok());
  EXPECT_EQ(final_state->state.value, kThreads * kCommands);
  EXPECT_EQ(final_state->revision, static_cast<StreamRevision>(kThreads * kCommands - 1));
}

TEST_P(ToolkitTest, ExecuteOnAStreamWhoseEventsAreAllHiddenExpectsItsHead) {
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(execute(loader, "counter-1", add(5)).ok());
  ASSERT_TRUE(execute(loader, "counter-1", add(5)).ok());
  StreamMetadata metadata;
  metadata.truncate_before = 2;  // nothing readable, but the stream exists at revision 1
  ASSERT_TRUE(store().set_stream_metadata("counter-1", metadata).ok());
  auto loaded = loader.state("counter-1");
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->revision.has_value());
  EXPECT_EQ(loaded->head, 1u);
  auto result = execute(loader, "counter-1", add(1));
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->revision, 2u);
  EXPECT_EQ(result->conflicts, 0u);
}

TEST(CommandEncodingTest, MetadataThatIsNotUtf8IsABadRequestNotACrash) {
  Result<EventData> data = counter_codec().encode(Added{1}, nlohmann::json{{"actor", "\xe9"}});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), ErrorCode::invalid_argument);
  std::vector<EventData> events{encoded(Added{1})};
  events[0].metadata = "{}";
  EXPECT_TRUE(command_detail::mark_revert(events, 3).ok());
  EXPECT_EQ(nlohmann::json::parse(events[0].metadata).at("revertedTo"), 3);
}

TEST_P(ToolkitTest, RevertAppendsEventsThatRestoreTheOldState) {
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(execute(loader, "counter-1", add(5)).ok());
  ASSERT_TRUE(execute(loader, "counter-1", add(7)).ok());
  ASSERT_TRUE(execute(loader, "counter-1", add(9)).ok());
  auto reverted = revert(loader, "counter-1", 0, set_back());
  ASSERT_TRUE(reverted.ok()) << reverted.status().to_string();
  EXPECT_EQ(reverted->revision, 3u);
  auto state = loader.state("counter-1");
  EXPECT_EQ(state->state.value, 5);
  auto history = loader.history("counter-1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 4u);  // history kept, revert recorded
  const nlohmann::json metadata = nlohmann::json::parse(history->back().event.metadata);
  EXPECT_EQ(metadata.at("revertedTo"), 0);
  EXPECT_EQ(history->back().event.type, "ValueSet");
}

TEST_P(ToolkitTest, RevertBeyondHistoryOrRejectedWritesNothing) {
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(execute(loader, "counter-1", add(5)).ok());
  auto beyond = revert(loader, "counter-1", 1, set_back());
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), ErrorCode::invalid_argument);
  auto rejected = revert(loader, "counter-1", 0,
                         Restore<Counter>([](const VersionedState<Counter>&, const VersionedState<Counter>&)
                                              -> Result<Decision> { return Status::rejected("no"); }));
  EXPECT_EQ(rejected.status().code(), ErrorCode::rejected);
  EXPECT_EQ(loader.state("counter-1")->revision, 0u);
}

}  // namespace
}  // namespace evsrc_test
