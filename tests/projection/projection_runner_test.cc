// ProjectionRunner against an in-memory RecordingSink, on every backend.
#include <thread>

#include "projection/projection_fixture.h"

namespace evsrc_projection_test {
namespace {

std::vector<Position> positions_of(const std::vector<RecordedEvent>& events) {
  std::vector<Position> positions;
  for (const RecordedEvent& event : events) positions.push_back(event.position);
  return positions;
}

ProjectionOptions options_named(std::string name, std::uint64_t batch_size = 1000) {
  ProjectionOptions options;
  options.name = std::move(name);
  options.batch_size = batch_size;
  options.poll_interval = std::chrono::milliseconds(20);
  return options;
}

TEST_P(ProjectionTest, CatchUpThenLive) {
  append("user-1", "NameSet", "Homer", 3);
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options_named("all"));
  ASSERT_TRUE(IsOk(runner.catch_up()));
  EXPECT_EQ(runner.status().state, ProjectionState::caught_up);
  EXPECT_EQ(positions_of(sink.events()), all_positions(store()));

  runner.start();
  const Position live = append("user-2", "NameSet", "Bart", 2);
  ASSERT_TRUE(runner.wait_for(live, kLongWait));
  runner.stop();
  EXPECT_EQ(positions_of(sink.events()), all_positions(store()));
  EXPECT_EQ(sink.events().size(), 5u);
  EXPECT_EQ(runner.status().state, ProjectionState::stopped);
  EXPECT_EQ(runner.status().events_applied, 5u);
}

TEST_P(ProjectionTest, BatchesOfBatchSize) {
  append("user-1", "NameSet", "x", 7);
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options_named("all", 3));
  ASSERT_TRUE(IsOk(runner.catch_up()));
  // 3 + 3 + 1; no empty batch at the end since the checkpoint does not move.
  EXPECT_EQ(sink.batch_sizes(), (std::vector<std::size_t>{3, 3, 1}));
  EXPECT_EQ(sink.stored_checkpoint(), all_positions(store()).back());
  // Nothing new: catch_up applies nothing.
  ASSERT_TRUE(IsOk(runner.catch_up()));
  EXPECT_EQ(sink.batch_sizes().size(), 3u);
}

TEST_P(ProjectionTest, ResumesFromTheSinkCheckpoint) {
  append("user-1", "NameSet", "x", 4);
  RecordingSink sink;
  {
    ProjectionRunner runner(store(), sink, options_named("all"));
    ASSERT_TRUE(IsOk(runner.catch_up()));
  }
  append("user-1", "NameSet", "y", 2);
  ProjectionRunner again(store(), sink, options_named("all"));
  ASSERT_TRUE(IsOk(again.catch_up()));
  EXPECT_EQ(positions_of(sink.events()), all_positions(store()));  // nothing twice, nothing lost
  EXPECT_EQ(again.status().events_applied, 2u);
}

TEST_P(ProjectionTest, FilteredProjectionAdvancesPastWhatItDoesNotSee) {
  append("user-1", "NameSet", "Homer");
  const Position group = append("group-1", "GroupCreated", "g", 3);
  EventFilter users;
  users.category = "user";
  ProjectionOptions options = options_named("users");
  options.filter = users;
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options);
  runner.start();
  // The last events are not the projection's, yet their position is passed.
  ASSERT_TRUE(runner.wait_for(group, kLongWait));
  EXPECT_EQ(positions_of(sink.events()), all_positions(store(), users));
  const Position later_group = append("group-2", "GroupCreated", "g");
  ASSERT_TRUE(runner.wait_for(later_group, kLongWait));
  const Position user = append("user-2", "NameSet", "Bart");
  ASSERT_TRUE(runner.wait_for(user, kLongWait));
  runner.stop();
  EXPECT_EQ(positions_of(sink.events()), all_positions(store(), users));
  EXPECT_EQ(sink.events().size(), 2u);
}

TEST_P(ProjectionTest, WaitForTimesOut) {
  const Position last = append("user-1", "NameSet", "x");
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options_named("all"));
  // Not started: nothing applies, the wait ends at its timeout.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(runner.wait_for(last, std::chrono::milliseconds(50)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
  ASSERT_TRUE(IsOk(runner.catch_up()));
  EXPECT_TRUE(runner.wait_for(last, std::chrono::milliseconds(0)));
  EXPECT_FALSE(runner.wait_for(last + 1000, std::chrono::milliseconds(10)));
}

TEST_P(ProjectionTest, FailingSinkStopsWithErrorAndPositionAndNeverSkips) {
  const Position good = append("user-1", "NameSet", "x", 2);
  const Position bad = append("user-1", "Bad", "boom");
  append("user-1", "NameSet", "y");
  RecordingSink sink;
  sink.fail_on_type("Bad");
  ProjectionRunner runner(store(), sink, options_named("all", 2));
  const Status status = runner.catch_up();
  EXPECT_FALSE(status.ok());
  ProjectionStatus failed = runner.status();
  EXPECT_EQ(failed.state, ProjectionState::failed);
  EXPECT_NE(failed.error.find("cannot apply Bad at " + std::to_string(bad)), std::string::npos) << failed.error;
  EXPECT_EQ(failed.position, good);
  EXPECT_FALSE(runner.wait_for(bad, std::chrono::milliseconds(10)));

  // Live: the runner stops on the failure and stays there.
  runner.start();
  const auto deadline = std::chrono::steady_clock::now() + kLongWait;
  EXPECT_FALSE(runner.wait_for(bad, kLongWait));  // returns early because the projection failed
  EXPECT_LT(std::chrono::steady_clock::now(), deadline);
  EXPECT_EQ(runner.status().state, ProjectionState::failed);
  EXPECT_EQ(sink.stored_checkpoint(), good);

  // Fixed: starting again (no stop() needed after a failure) resumes at the
  // failed event.
  sink.fail_on_type("");
  runner.start();
  const Position later = append("user-2", "NameSet", "z");
  ASSERT_TRUE(runner.wait_for(later, kLongWait));
  runner.stop();
  EXPECT_EQ(positions_of(sink.events()), all_positions(store()));
  EXPECT_TRUE(runner.status().error.empty());
  EXPECT_EQ(runner.status().state, ProjectionState::stopped);
}

TEST_P(ProjectionTest, FailedCatchUpResumesAtTheFailedEvent) {
  append("user-1", "NameSet", "x", 3);
  const Position bad = append("user-1", "Bad", "boom");
  RecordingSink sink;
  sink.fail_on_type("Bad");
  ProjectionRunner runner(store(), sink, options_named("all", 1));
  EXPECT_FALSE(runner.catch_up().ok());
  EXPECT_EQ(runner.status().position, bad - 1);
  sink.fail_on_type("");
  ASSERT_TRUE(IsOk(runner.catch_up()));
  EXPECT_EQ(positions_of(sink.events()), all_positions(store()));
  EXPECT_EQ(runner.status().state, ProjectionState::caught_up);
  EXPECT_TRUE(runner.status().error.empty());
}

TEST_P(ProjectionTest, StatusReportsLag) {
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options_named("all", 2));
  EXPECT_EQ(runner.status().lag_positions, 0u);  // empty store
  append("user-1", "NameSet", "x", 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a recorded-at gap to measure, not a synchronisation
  const Position last = append("user-1", "NameSet", "y", 2);
  const std::vector<Position> all = all_positions(store());

  ProjectionStatus before = runner.status();
  EXPECT_EQ(before.position, std::nullopt);
  EXPECT_EQ(before.lag_positions, last + 1);
  EXPECT_GE(before.lag_seconds, 0.019);
  EXPECT_EQ(before.state, ProjectionState::stopped);

  ASSERT_TRUE(IsOk(runner.catch_up()));
  ProjectionStatus after = runner.status();
  EXPECT_EQ(after.position, last);
  EXPECT_EQ(after.lag_positions, 0u);
  EXPECT_EQ(after.lag_seconds, 0);
  EXPECT_EQ(after.events_applied, all.size());
  EXPECT_EQ(after.name, "all");
  EXPECT_EQ(projection_state_name(after.state), "caught_up");
}

TEST_P(ProjectionTest, LagAfterAPartialCatchUp) {
  append("user-1", "NameSet", "x", 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a recorded-at gap to measure, not a synchronisation
  append("user-2", "Bad", "y", 1);
  const Position last = append("user-2", "NameSet", "z", 1);
  RecordingSink sink;
  sink.fail_on_type("Bad");
  ProjectionRunner runner(store(), sink, options_named("all", 2));
  EXPECT_FALSE(runner.catch_up().ok());
  const ProjectionStatus status = runner.status();
  ASSERT_TRUE(status.position.has_value());
  EXPECT_EQ(status.lag_positions, last - *status.position);
  EXPECT_GE(status.lag_seconds, 0.019);
}

// Regression: a checkpoint beyond the store's head (the store was replaced or
// lost its tail while the sink was kept) used to skip the new events at
// positions <= the checkpoint silently.
TEST_P(ProjectionTest, CheckpointAheadOfTheStoreFailsTheProjection) {
  append("user-1", "NameSet", "x", 5);
  RecordingSink sink;
  {
    ProjectionRunner runner(store(), sink, options_named("all"));
    ASSERT_TRUE(IsOk(runner.catch_up()));
  }
  const std::optional<Position> checkpoint = sink.stored_checkpoint();
  ASSERT_TRUE(checkpoint.has_value());

  replace_store();
  {
    // An empty store: no last position at all.
    ProjectionRunner runner(store(), sink, options_named("all"));
    const Status status = runner.catch_up();
    EXPECT_EQ(status.code(), ErrorCode::corruption) << status.to_string();
    EXPECT_NE(status.message().find("checkpoint " + std::to_string(*checkpoint) +
                                    " is ahead of the store's last position none"),
              std::string::npos)
        << status.to_string();
    EXPECT_EQ(runner.status().state, ProjectionState::failed);
  }
  const Position head = append("user-2", "NameSet", "y", 2);
  ASSERT_LT(head, *checkpoint);
  ProjectionRunner runner(store(), sink, options_named("all"));
  const Status status = runner.catch_up();
  EXPECT_EQ(status.code(), ErrorCode::corruption) << status.to_string();
  EXPECT_NE(status.message().find("projection all v1: checkpoint " + std::to_string(*checkpoint) +
                                  " is ahead of the store's last position " + std::to_string(head)),
            std::string::npos)
      << status.to_string();
  EXPECT_NE(status.message().find("rebuild"), std::string::npos) << status.to_string();
  EXPECT_EQ(runner.status().state, ProjectionState::failed);
  EXPECT_EQ(runner.status().error, status.to_string());
  EXPECT_FALSE(runner.wait_for(head, std::chrono::milliseconds(10)));
  EXPECT_EQ(sink.events().size(), 5u);  // nothing of the new store was applied (or skipped)

  // Live, the failure is reported too (not a silent wait for commits).
  runner.start();
  const auto deadline = std::chrono::steady_clock::now() + kLongWait;
  EXPECT_FALSE(runner.wait_for(*checkpoint + 1, kLongWait));
  EXPECT_LT(std::chrono::steady_clock::now(), deadline);
  EXPECT_EQ(runner.status().state, ProjectionState::failed);
  runner.stop();
}

// Regression: wait_for(milliseconds::max()) overflowed the deadline and
// returned at once.
TEST_P(ProjectionTest, WaitForWithAHugeTimeoutWaitsForThePosition) {
  const Position last = append("user-1", "NameSet", "x", 3);
  RecordingSink sink;
  ProjectionRunner runner(store(), sink, options_named("all"));
  std::thread applier([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(IsOk(runner.catch_up()));
  });
  const bool reached = runner.wait_for(last, std::chrono::milliseconds::max());
  applier.join();
  EXPECT_TRUE(reached);
  EXPECT_EQ(sink.stored_checkpoint(), last);
  // A negative timeout is no wait at all.
  EXPECT_FALSE(runner.wait_for(last + 1000, std::chrono::milliseconds::min()));
  EXPECT_TRUE(runner.wait_for(last, std::chrono::milliseconds::min()));
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectionTest, ::testing::Values("memory", "file"), backend_name);

}  // namespace
}  // namespace evsrc_projection_test
