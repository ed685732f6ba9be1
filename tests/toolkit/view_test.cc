// Views: load with snapshots, time travel by revision and time, history.
#include <thread>

#include "toolkit/counter.h"

namespace evsrc_test {
namespace {

void append_added(EventStore& store, const std::string& stream, int count, std::int64_t amount = 1) {
  std::vector<EventData> events;
  for (int i = 0; i < count; ++i) events.push_back(encoded(Added{amount}));
  ASSERT_TRUE(store.append(stream, ExpectedRevision::any(), events).ok());
}

TEST_P(ToolkitTest, AbsentStreamLoadsAsInitialState) {
  ViewLoader<Counter> loader(store(), counter_view());
  auto loaded = loader.state("counter-1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->state, Counter{});
  EXPECT_FALSE(loaded->revision.has_value());
}

TEST_P(ToolkitTest, StateFoldsEveryEvent) {
  append_added(store(), "counter-1", 10, 2);
  ASSERT_TRUE(store().append("counter-1", ExpectedRevision::any(), std::vector<EventData>{encoded(ValueSet{100})}).ok());
  append_added(store(), "counter-1", 3, 1);
  ViewLoader<Counter> loader(store(), counter_view());
  auto loaded = loader.state("counter-1");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->state, (Counter{103, 14}));
  EXPECT_EQ(loaded->revision, 13u);
  EXPECT_EQ(loaded->events_folded, 14u);
  EXPECT_TRUE(loaded->recorded_at.has_value());
}

TEST_P(ToolkitTest, SnapshotsBoundTheEventsFolded) {
  append_added(store(), "counter-1", 2'500);
  ViewLoader<Counter> loader(store(), counter_view(), SnapshotPolicy{1000, 0});
  auto first = loader.state("counter-1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->events_folded, 2'500u);  // wrote snapshots at 999 and 1999
  auto listed = store().snapshots().list("counter-1", "counter", 1);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<StreamRevision>{999, 1999}));

  auto second = loader.state("counter-1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->state, first->state);
  EXPECT_EQ(second->snapshot_revision, 1999u);
  EXPECT_EQ(second->events_folded, 500u);

  auto at = loader.state_at("counter-1", 1500);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->state, (Counter{1501, 1501}));
  EXPECT_EQ(at->snapshot_revision, 999u);
  EXPECT_EQ(at->events_folded, 501u);
}

TEST_P(ToolkitTest, SnapshotOfAnotherViewVersionIsIgnored) {
  append_added(store(), "counter-1", 20);
  ViewLoader<Counter> v1(store(), counter_view(1));
  ASSERT_TRUE(v1.take_snapshot("counter-1").ok());
  auto from_snapshot = v1.state("counter-1");
  ASSERT_TRUE(from_snapshot.ok());
  EXPECT_EQ(from_snapshot->snapshot_revision, 19u);  // proves the snapshot is used where it belongs
  ViewLoader<Counter> v2(store(), counter_view(2));
  auto loaded = v2.state("counter-1");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->state, (Counter{20, 20}));
  EXPECT_FALSE(loaded->snapshot_revision.has_value());
  EXPECT_EQ(loaded->events_folded, 20u);
}

TEST_P(ToolkitTest, SnapshotFromBeforeATruncationIsIgnored) {
  append_added(store(), "counter-1", 250);
  ViewLoader<Counter> loader(store(), counter_view(), SnapshotPolicy{100, 0});
  ASSERT_TRUE(loader.state("counter-1").ok());  // snapshots at 99 and 199, folded from revision 0
  StreamMetadata metadata;
  metadata.max_count = 100;  // revisions 150..249 stay readable
  ASSERT_TRUE(store().set_stream_metadata("counter-1", metadata).ok());
  auto now = loader.state("counter-1");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->state, (Counter{100, 100}));  // the fold of exactly the readable events
  EXPECT_EQ(now->first_revision, 150u);
  auto at = loader.state_at("counter-1", 199);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->state, (Counter{50, 50}));
}

TEST_P(ToolkitTest, SnapshotOfAnotherLogIsIgnored) {
  append_added(store(), "counter-1", 10);
  // A snapshot whose last event sat at another position describes a log that
  // was replaced (e.g. lost its tail and was written again): never used.
  const std::string state = view_detail::wrap_snapshot_state({0, 123456}, R"({"value":-1,"events":10})");
  ASSERT_TRUE(store().snapshots().put(Snapshot{"counter-1", "counter", 1, 9, state}).ok());
  ViewLoader<Counter> loader(store(), counter_view());
  auto loaded = loader.state("counter-1");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->state, (Counter{10, 10}));
  EXPECT_FALSE(loaded->snapshot_revision.has_value());
}

TEST_P(ToolkitTest, SnapshotFromBeforeASoftDeleteIsIgnored) {
  append_added(store(), "counter-1", 5, 10);
  ViewLoader<Counter> loader(store(), counter_view());
  ASSERT_TRUE(loader.take_snapshot("counter-1").ok());
  ASSERT_TRUE(store().delete_stream("counter-1", ExpectedRevision::any()).ok());
  auto deleted = loader.state("counter-1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->revision.has_value());
  append_added(store(), "counter-1", 1, 1);  // recreated at revision 5
  auto recreated = loader.state("counter-1");
  ASSERT_TRUE(recreated.ok());
  EXPECT_EQ(recreated->state, (Counter{1, 1}));
  EXPECT_EQ(recreated->revision, 5u);
}

TEST_P(ToolkitTest, SnapshotPolicyKeepsTheNewest) {
  append_added(store(), "counter-1", 50);
  ViewLoader<Counter> loader(store(), counter_view(), SnapshotPolicy{10, 2});
  ASSERT_TRUE(loader.state("counter-1").ok());
  auto listed = store().snapshots().list("counter-1", "counter", 1);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, (std::vector<StreamRevision>{39, 49}));
}

TEST_P(ToolkitTest, StateAtRevisionBeyondTheStreamIsInvalid) {
  append_added(store(), "counter-1", 3);
  ViewLoader<Counter> loader(store(), counter_view());
  auto beyond = loader.state_at("counter-1", 3);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), ErrorCode::invalid_argument);
  auto absent = loader.state_at("counter-2", 0);
  EXPECT_FALSE(absent.ok());
}

TEST_P(ToolkitTest, StateAtTimeUsesRecordedAt) {
  std::vector<Timestamp> times;
  for (int i = 0; i < 6; ++i) {
    append_added(store(), "counter-1", 1, 1);
    auto page = store().read_stream("counter-1", StreamReadOptions{std::nullopt, Direction::backward, 1});
    ASSERT_TRUE(page.ok());
    times.push_back(page->events.front().recorded_at);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // distinct recorded-at values
  }
  ViewLoader<Counter> loader(store(), counter_view());
  for (int i = 0; i < 6; ++i) {
    auto at = loader.state_at("counter-1", times[i]);
    ASSERT_TRUE(at.ok());
    EXPECT_EQ(at->revision, static_cast<StreamRevision>(i));
    EXPECT_EQ(at->state.value, i + 1);
    auto just_after = loader.state_at("counter-1", times[i] + std::chrono::microseconds(1));
    ASSERT_TRUE(just_after.ok());
    EXPECT_EQ(just_after->revision, static_cast<StreamRevision>(i));
  }
  auto before = loader.state_at("counter-1", times[0] - std::chrono::microseconds(1));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->revision.has_value());
  EXPECT_EQ(before->state, Counter{});
}

TEST_P(ToolkitTest, HistoryGivesEveryEventWithTheStateAfterIt) {
  ASSERT_TRUE(store().append("counter-1", ExpectedRevision::any(),
                             std::vector<EventData>{encoded(Added{2}, {{"actor", "homer"}}), encoded(ValueSet{10}, {{"actor", "marge"}}),
                              encoded(Added{-1}, {{"actor", "bart"}})})
                  .ok());
  ViewLoader<Counter> loader(store(), counter_view());
  auto history = loader.history("counter-1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  const std::vector<std::int64_t> values{2, 10, 9};
  const std::vector<std::string> actors{"homer", "marge", "bart"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*history)[i].event.revision, i);
    EXPECT_EQ((*history)[i].state.value, values[i]);
    EXPECT_EQ(nlohmann::json::parse((*history)[i].event.metadata).at("actor"), actors[i]);
  }
  auto empty = loader.history("counter-2");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_P(ToolkitTest, UndecodableEventFailsTheLoadInsteadOfBeingSkipped) {
  append_added(store(), "counter-1", 2);
  EventData unknown;
  unknown.type = "Multiplied";
  unknown.data = "{}";
  ASSERT_TRUE(store().append("counter-1", ExpectedRevision::any(), std::vector<EventData>{unknown}).ok());
  ViewLoader<Counter> loader(store(), counter_view());
  auto loaded = loader.state("counter-1");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("counter-1@2 (Multiplied)"), std::string::npos);
}

TEST_P(ToolkitTest, TombstonedStreamFailsWithStreamDeleted) {
  append_added(store(), "counter-1", 2);
  ASSERT_TRUE(store().tombstone_stream("counter-1", ExpectedRevision::any()).ok());
  ViewLoader<Counter> loader(store(), counter_view());
  auto loaded = loader.state("counter-1");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::stream_deleted);
}

}  // namespace
}  // namespace evsrc_test
