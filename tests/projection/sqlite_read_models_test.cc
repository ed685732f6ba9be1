// SqliteReadModels: exactly-once batches, resume, failures, rebuild and
// read-your-writes, on every backend.
#include <atomic>
#include <thread>

#include "projection/projection_fixture.h"

namespace evsrc_projection_test {
namespace {

class SqliteReadModelsTest : public ProjectionTest {
 protected:
  std::unique_ptr<SqliteReadModels> open_models(std::uint64_t batch_size = 1000, bool drop_retired = true) {
    SqliteReadModelsOptions options;
    options.database_path = sqlite_path();
    options.batch_size = batch_size;
    options.poll_interval = std::chrono::milliseconds(20);
    options.drop_retired_tables = drop_retired;
    Result<std::unique_ptr<SqliteReadModels>> models = SqliteReadModels::open(store(), options);
    EXPECT_TRUE(IsOk(models));
    return models.ok() ? std::move(*models) : nullptr;
  }

  std::optional<SqliteBuild> build_of(SqliteReadModels& models, std::int64_t number) {
    Result<std::vector<SqliteBuild>> builds = models.builds("users");
    EXPECT_TRUE(IsOk(builds));
    if (!builds.ok()) return std::nullopt;
    for (const SqliteBuild& build : *builds) {
      if (build.build == number) return build;
    }
    return std::nullopt;
  }
};

TEST_P(SqliteReadModelsTest, CatchUpFillsTheServingTables) {
  append("user-1", "NameSet", "Homer");
  append("user-2", "NameSet", "Bart");
  append("user-1", "NameSet", "Homer J.");
  auto models = open_models(2);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  Result<std::string> suffix = models->serving_suffix("users");
  ASSERT_TRUE(IsOk(suffix));
  EXPECT_EQ(*suffix, "_v1");
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), all_positions(store()));
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-1"), "Homer J.");
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-2"), "Bart");
  const std::optional<SqliteBuild> build = build_of(*models, 1);
  ASSERT_TRUE(build.has_value());
  EXPECT_EQ(build->role, SqliteBuildRole::serving);
  EXPECT_EQ(build->position, all_positions(store()).back());
  EXPECT_EQ(models->serving_version("users").value(), 1u);
  // Queries through their own connection, in one read transaction.
  Result<SqliteDatabase> reader = models->connect();
  ASSERT_TRUE(IsOk(reader));
  SqliteReadTransaction transaction(*reader);
  EXPECT_EQ(serving_table_suffix(*reader, "users").value(), "_v1");
  EXPECT_EQ(serving_table_suffix(*reader, "nothing").status().code(), ErrorCode::not_found);
}

TEST_P(SqliteReadModelsTest, ReadYourWritesWhileLive) {
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  models->start();
  for (int i = 0; i < 20; ++i) {
    const std::string stream = "user-" + std::to_string(i);
    const Position written = append(stream, "NameSet", "name " + std::to_string(i));
    ASSERT_TRUE(IsOk(models->wait_for(written, kLongWait)));
    EXPECT_EQ(user_name(sqlite_path(), "_v1", stream), "name " + std::to_string(i));  // visible at once
  }
  models->stop();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), all_positions(store()));
  const std::vector<ProjectionStatus> status = models->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].name, "users");
  EXPECT_EQ(status[0].lag_positions, 0u);
}

TEST_P(SqliteReadModelsTest, WaitForTimesOutWhenNotApplied) {
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  const Position written = append("user-1", "NameSet", "Homer");
  const Status waited = models->wait_for(written, std::chrono::milliseconds(60));  // not started
  EXPECT_EQ(waited.code(), ErrorCode::timeout) << waited.to_string();
  EXPECT_EQ(models->wait_for("nothing", written, std::chrono::milliseconds(1)).code(), ErrorCode::not_found);
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_TRUE(IsOk(models->wait_for("users", written, std::chrono::milliseconds(0))));
}

TEST_P(SqliteReadModelsTest, FilteredReadModelPassesOtherEvents) {
  EventFilter users;
  users.category = "user";
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1, nullptr, users))));
  models->start();
  append("user-1", "NameSet", "Homer");
  const Position group = append("group-1", "GroupCreated", "g");
  ASSERT_TRUE(IsOk(models->wait_for(group, kLongWait)));
  models->stop();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), all_positions(store(), users));
  EXPECT_EQ(build_of(*models, 1)->position, group);
}

// Reopening needs a store that survives it: file: only.
class SqliteReadModelsReopenTest : public SqliteReadModelsTest {};

TEST_P(SqliteReadModelsReopenTest, ResumesAfterReopenWithNothingTwiceNothingLost) {
  for (int i = 0; i < 25; ++i) append("user-" + std::to_string(i % 4), "NameSet", "v" + std::to_string(i));
  {
    auto models = open_models(7);
    ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
    ASSERT_TRUE(IsOk(models->catch_up()));
  }
  reopen_store();
  for (int i = 25; i < 40; ++i) append("user-" + std::to_string(i % 4), "NameSet", "v" + std::to_string(i));
  auto models = open_models(7);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  models->start();
  const Position last = all_positions(store()).back();
  // applied.position is a primary key: an event applied twice would fail the projection.
  ASSERT_TRUE(IsOk(models->wait_for(last, kLongWait)));
  models->stop();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), all_positions(store()));
  EXPECT_EQ(models->status()[0].events_applied, 15u);
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-3"), "v39");
}

TEST_P(SqliteReadModelsTest, FailedBatchRollsBackEntirely) {
  auto poisoned = std::make_shared<std::atomic<bool>>(true);
  const Position first = append("user-1", "NameSet", "Homer", 2);
  append("user-2", "NameSet", "Bart");
  append("user-4", "NameSet", "Marge");
  const Position poison = append("user-2", "Poison", "");
  append("user-3", "NameSet", "Lisa");
  auto models = open_models(/*batch_size=*/3);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1, poisoned))));
  const Status failed = models->catch_up();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("poisoned event user-2"), std::string::npos) << failed.to_string();
  EXPECT_NE(failed.message().find("at position " + std::to_string(poison)), std::string::npos) << failed.to_string();

  // Batches: [user-1@0, user-1@1, user-2@0] committed; [user-4@0, Poison,
  // user-3@0] rolled back entirely, also what was applied before the poison.
  const std::vector<Position> all = all_positions(store());
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), std::vector<Position>(all.begin(), all.begin() + 3));
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-4"), std::nullopt);
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-3"), std::nullopt);
  const std::optional<SqliteBuild> build = build_of(*models, 1);
  ASSERT_TRUE(build.has_value());
  EXPECT_EQ(build->position, all[2]);
  EXPECT_EQ(build->state, "failed");
  EXPECT_NE(build->error.find("poisoned"), std::string::npos);
  const ProjectionStatus status = models->status()[0];
  EXPECT_EQ(status.state, ProjectionState::failed);
  EXPECT_EQ(status.position, all[2]);
  EXPECT_GT(first, 0u);

  // Live, the failure is reported to waiters rather than a timeout.
  models->start();
  const Status waited = models->wait_for(poison, kLongWait);
  EXPECT_EQ(waited.code(), ErrorCode::io_error) << waited.to_string();
  EXPECT_NE(waited.message().find("poisoned"), std::string::npos);
  models->stop();

  // Fixed handler, new process: resumes at the failed event.
  poisoned->store(false);
  models.reset();
  models = open_models(3);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1, poisoned))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), all);
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-3"), "Lisa");
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-4"), "Marge");
  EXPECT_EQ(build_of(*models, 1)->state, "running");
  EXPECT_EQ(build_of(*models, 1)->error, "");
}

TEST_P(SqliteReadModelsTest, AddRefusesAVersionThatDoesNotServe) {
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  EXPECT_EQ(models->add(std::make_unique<UsersProjection>(1)).code(), ErrorCode::invalid_argument);
  EXPECT_EQ(models->add(std::make_unique<UsersProjection>(2)).code(), ErrorCode::invalid_argument);
  EXPECT_EQ(models->rebuild("other", std::make_unique<UsersProjection>(2)).code(), ErrorCode::invalid_argument);
}

TEST_P(SqliteReadModelsTest, RebuildBesideTheServingVersionThenSwitch) {
  auto v2_poisoned = std::make_shared<std::atomic<bool>>(true);
  append("user-1", "NameSet", "Homer");
  append("user-2", "NameSet", "Bart");
  auto models = open_models(/*batch_size=*/2);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));

  // v2 builds beside v1 but cannot pass the poison yet: v1 keeps serving and
  // keeps following the store.
  append("user-3", "Poison", "");
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2, v2_poisoned))));
  EXPECT_EQ(build_of(*models, 2)->role, SqliteBuildRole::building);
  EXPECT_EQ(build_of(*models, 2)->table_suffix, "_v2");
  EXPECT_FALSE(models->catch_up().ok());  // the rebuild failed; v1 went on
  const Position maggie = append("user-3", "NameSet", "Maggie");
  ASSERT_TRUE(IsOk(models->wait_for(maggie - 1, std::chrono::milliseconds(0))));
  EXPECT_FALSE(models->catch_up().ok());
  EXPECT_EQ(models->serving_suffix("users").value(), "_v1");
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-3"), "Maggie");
  EXPECT_TRUE(IsOk(models->wait_for(maggie, std::chrono::milliseconds(0))));  // v1 serves: read-your-writes holds
  EXPECT_TRUE(table_exists(sqlite_path(), "users_v2"));
  EXPECT_EQ(models->wait_for_rebuild("users", kLongWait).code(), ErrorCode::io_error);

  // Fixed: v2 catches up and takes over in one transaction; v1's tables go.
  v2_poisoned->store(false);
  ASSERT_TRUE(IsOk(models->catch_up()));
  ASSERT_TRUE(IsOk(models->wait_for_rebuild("users", kLongWait)));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  EXPECT_EQ(models->serving_version("users").value(), 2u);
  EXPECT_EQ(build_of(*models, 1)->role, SqliteBuildRole::dropped);
  EXPECT_EQ(build_of(*models, 2)->role, SqliteBuildRole::serving);
  EXPECT_FALSE(table_exists(sqlite_path(), "users_v1"));
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2"), all_positions(store()));
  EXPECT_EQ(user_name(sqlite_path(), "_v2", "user-3"), "Maggie");

  // The new version serves and follows.
  models->start();
  const Position lisa = append("user-4", "NameSet", "Lisa");
  ASSERT_TRUE(IsOk(models->wait_for(lisa, kLongWait)));
  EXPECT_EQ(user_name(sqlite_path(), "_v2", "user-4"), "Lisa");
  models->stop();
  ASSERT_EQ(models->status().size(), 1u);
  EXPECT_EQ(models->status()[0].version, 2u);

  // A later process adds the serving version.
  models.reset();
  models = open_models();
  EXPECT_EQ(models->add(std::make_unique<UsersProjection>(1)).code(), ErrorCode::invalid_argument);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(2))));
  ASSERT_TRUE(IsOk(models->catch_up()));
}

TEST_P(SqliteReadModelsTest, LiveRebuildSwitchesWhenCaughtUpAndKeepsOldTablesOnRequest) {
  for (int i = 0; i < 30; ++i) append("user-" + std::to_string(i % 5), "NameSet", "n" + std::to_string(i));
  auto models = open_models(/*batch_size=*/4, /*drop_retired=*/false);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  models->start();
  ASSERT_TRUE(IsOk(models->wait_for(all_positions(store()).back(), kLongWait)));
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2))));
  for (int i = 30; i < 40; ++i) append("user-" + std::to_string(i % 5), "NameSet", "n" + std::to_string(i));
  ASSERT_TRUE(IsOk(models->wait_for_rebuild("users", kLongWait)));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  const Position last = append("user-9", "NameSet", "last");
  ASSERT_TRUE(IsOk(models->wait_for(last, kLongWait)));
  EXPECT_EQ(user_name(sqlite_path(), "_v2", "user-9"), "last");
  models->stop();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2"), all_positions(store()));

  // Kept: retired until dropped on request.
  EXPECT_EQ(build_of(*models, 1)->role, SqliteBuildRole::retired);
  EXPECT_TRUE(table_exists(sqlite_path(), "users_v1"));
  ASSERT_TRUE(IsOk(models->drop_retired("users")));
  EXPECT_EQ(build_of(*models, 1)->role, SqliteBuildRole::dropped);
  EXPECT_FALSE(table_exists(sqlite_path(), "users_v1"));
}

TEST_P(SqliteReadModelsTest, RebuildOfTheSameVersionGetsNewTables) {
  append("user-1", "NameSet", "Homer");
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  // A second build of v1 (e.g. after repairing data) gets its own suffix.
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v1_b2");
  EXPECT_EQ(user_name(sqlite_path(), "_v1_b2", "user-1"), "Homer");
  EXPECT_FALSE(table_exists(sqlite_path(), "users_v1"));
}

TEST_P(SqliteReadModelsTest, EmptyStoreRebuildSwitchesAtOnce) {
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2))));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
}

TEST_P(SqliteReadModelsTest, PendingRebuildResumesInALaterProcess) {
  auto v2_poisoned = std::make_shared<std::atomic<bool>>(true);
  append("user-1", "NameSet", "Homer");
  append("user-1", "Poison", "");
  append("user-2", "NameSet", "Bart");
  {
    auto models = open_models(/*batch_size=*/1);
    ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
    ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2, v2_poisoned))));
    EXPECT_FALSE(models->catch_up().ok());
  }
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2").size(), 1u);  // v2 stopped at the poison
  v2_poisoned->store(false);
  auto models = open_models(/*batch_size=*/1);
  EXPECT_EQ(models->serving_version("users").value(), 1u);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(2, v2_poisoned))));  // resumes the rebuild
  EXPECT_EQ(models->add(std::make_unique<UsersProjection>(2)).code(), ErrorCode::invalid_argument);
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2"), all_positions(store()));  // resumed, not restarted
  EXPECT_EQ(build_of(*models, 2)->role, SqliteBuildRole::serving);
}

// Regression: a read-models file kept while the store was replaced (a
// "memory:" store restarted, or a "file:" log recreated) has checkpoints
// beyond the new store's head; the new events at positions <= the checkpoint
// used to be skipped silently.
TEST_P(SqliteReadModelsTest, CheckpointAheadOfANewStoreFailsInsteadOfSkipping) {
  for (int i = 0; i < 6; ++i) append("user-" + std::to_string(i), "NameSet", "n" + std::to_string(i));
  const std::vector<Position> before = all_positions(store());
  {
    auto models = open_models();
    ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
    ASSERT_TRUE(IsOk(models->catch_up()));
  }
  replace_store();
  append("user-7", "NameSet", "new 1");
  const Position head = append("user-8", "NameSet", "new 2");
  ASSERT_LT(head, before.back());

  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  const Status status = models->catch_up();
  EXPECT_EQ(status.code(), ErrorCode::corruption) << status.to_string();
  EXPECT_NE(status.message().find("projection users v1: checkpoint " + std::to_string(before.back()) +
                                  " is ahead of the store's last position " + std::to_string(head)),
            std::string::npos)
      << status.to_string();
  ASSERT_EQ(models->status().size(), 1u);
  EXPECT_EQ(models->status()[0].state, ProjectionState::failed);
  const Status waited = models->wait_for(head, kLongWait);
  EXPECT_EQ(waited.code(), ErrorCode::io_error) << waited.to_string();
  EXPECT_NE(waited.message().find("ahead of the store"), std::string::npos) << waited.to_string();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v1"), before);  // unchanged: nothing applied, nothing skipped
  EXPECT_EQ(user_name(sqlite_path(), "_v1", "user-7"), std::nullopt);

  // The way out: a rebuild from position 0 replaces the stale read model.
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2))));
  (void)models->catch_up();  // v1 still fails; v2 builds and switches
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  EXPECT_EQ(user_name(sqlite_path(), "_v2", "user-7"), "new 1");
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2"), all_positions(store()));
}

// "users" v2 whose handler, while it applies the store's last event, commits
// one more event to the store (while `committing`): the head always moves
// between the batch's read and the switch check, as under writes that never
// leave a quiet gap.
class CommittingUsersProjection : public UsersProjection {
 public:
  CommittingUsersProjection(EventStore& store, std::shared_ptr<std::atomic<bool>> committing)
      : UsersProjection(2), store_(store), committing_(std::move(committing)) {}
  Status apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view table_suffix) override {
    if (Status status = UsersProjection::apply(db, event, table_suffix); !status.ok()) return status;
    if (!committing_->load()) return Status();
    Result<StoreStats> stats = store_.stats();
    if (!stats.ok()) return stats.status();
    if (stats->last_position != event.position) return Status();
    std::vector<EventData> events(1);
    events[0].type = "NameSet";
    events[0].data = "during batch";
    return store_.append("user-during", ExpectedRevision::any(), events).status();
  }

 private:
  EventStore& store_;
  std::shared_ptr<std::atomic<bool>> committing_;
};

// Regression: a live rebuild switched only when its checkpoint reached a
// store head read after its batch committed, so under steady writes it never
// switched. Now it switches once it reached the head read before its batch
// (and the serving build's checkpoint).
TEST_P(SqliteReadModelsTest, LiveRebuildSwitchesUnderSteadyWrites) {
  for (int i = 0; i < 200; ++i) append("user-" + std::to_string(i % 7), "NameSet", "n" + std::to_string(i));
  auto models = open_models(/*batch_size=*/50);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  models->start();
  ASSERT_TRUE(IsOk(models->wait_for(all_positions(store()).back(), kLongWait)));

  auto committing = std::make_shared<std::atomic<bool>>(true);
  std::atomic<bool> writing{true};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (writing.load()) {  // one commit every ~0.2 ms
      const int n = written.load();
      append("user-" + std::to_string(n % 7), "NameSet", "w" + std::to_string(n));
      written.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<CommittingUsersProjection>(store(), committing))));
  const Status switched = models->wait_for_rebuild("users", std::chrono::seconds(5));
  const int written_at_switch = written.load();
  committing->store(false);
  // Still writing after the switch: it did not need a quiet gap.
  while (written.load() < written_at_switch + 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  writing.store(false);
  writer.join();
  ASSERT_TRUE(IsOk(switched));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");

  const Position last = append("user-last", "NameSet", "last");
  ASSERT_TRUE(IsOk(models->wait_for(last, kLongWait)));
  models->stop();
  EXPECT_EQ(applied_positions(sqlite_path(), "_v2"), all_positions(store()));
  EXPECT_FALSE(table_exists(sqlite_path(), "users_v1"));
}

// Regression: wait_for / wait_for_rebuild with milliseconds::max() overflowed
// their deadline and timed out at once.
TEST_P(SqliteReadModelsTest, HugeTimeoutsWaitInsteadOfOverflowing) {
  auto models = open_models();
  ASSERT_TRUE(IsOk(models->add(std::make_unique<UsersProjection>(1))));
  const Position first = append("user-1", "NameSet", "Homer");
  std::thread owner([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(IsOk(models->catch_up()));
  });
  const Status waited = models->wait_for(first, std::chrono::milliseconds::max());
  owner.join();
  EXPECT_TRUE(IsOk(waited));

  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<UsersProjection>(2))));
  owner = std::thread([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(IsOk(models->catch_up()));
  });
  const Status rebuilt = models->wait_for_rebuild("users", std::chrono::milliseconds::max());
  owner.join();
  EXPECT_TRUE(IsOk(rebuilt));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  // A negative timeout does not wait.
  EXPECT_EQ(models->wait_for(first + 1000, std::chrono::milliseconds::min()).code(), ErrorCode::timeout);
}

INSTANTIATE_TEST_SUITE_P(Backends, SqliteReadModelsTest, ::testing::Values("memory", "file"), backend_name);
INSTANTIATE_TEST_SUITE_P(Persistent, SqliteReadModelsReopenTest, ::testing::Values("file"), backend_name);

}  // namespace
}  // namespace evsrc_projection_test
