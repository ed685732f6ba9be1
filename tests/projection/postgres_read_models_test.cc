// PostgresReadModels: exactly-once batches (a failing handler rolls back the
// batch and its checkpoint), resume without duplicates, catch_up / live /
// wait_for, a lost connection, side-by-side rebuild. The event store is
// memory: or file: (the read models' database is what is tested); every test
// has a fresh schema in the private test cluster.
#include <atomic>
#include <map>
#include <thread>

#include "evsrc/postgres_read_model.h"
#include "postgres/postgres_test_cluster.h"
#include "projection/projection_fixture.h"

namespace evsrc_projection_test {
namespace {

// users<suffix>(stream PRIMARY KEY, name, revision) and
// applied<suffix>(position PRIMARY KEY): an event applied twice fails the
// batch, a lost one shows as a gap. Events of type "Poison" fail while
// `poisoned` is true.
class PgUsersProjection final : public PostgresProjection {
 public:
  PgUsersProjection(std::uint32_t version, std::shared_ptr<std::atomic<bool>> poisoned = nullptr)
      : version_(version), poisoned_(std::move(poisoned)) {}
  std::string name() const override { return "users"; }
  std::uint32_t version() const override { return version_; }
  Status create_tables(PostgresConnection& db, std::string_view suffix) override {
    const std::string s(suffix);
    return db.exec("CREATE TABLE users" + s + " (stream TEXT PRIMARY KEY, name TEXT NOT NULL, revision BIGINT);" +
                   "CREATE TABLE applied" + s + " (position BIGINT PRIMARY KEY)");
  }
  Status apply(PostgresConnection& db, const RecordedEvent& event, std::string_view suffix) override {
    if (event.type == "Poison" && poisoned_ && poisoned_->load()) return Status::invalid_argument("poisoned event");
    const std::string s(suffix);
    if (Result<std::int64_t> done = db.execute("INSERT INTO applied" + s + " (position) VALUES ($1)",
                                               {static_cast<std::int64_t>(event.position)});
        !done.ok()) {
      return done.status();
    }
    if (event.type != "NameSet") return Status();
    return db
        .execute("INSERT INTO users" + s +
                     " (stream, name, revision) VALUES ($1, $2, $3)"
                     " ON CONFLICT (stream) DO UPDATE SET name = EXCLUDED.name, revision = EXCLUDED.revision",
                 {event.stream, event.data, static_cast<std::int64_t>(event.revision)})
        .status();
  }
  Status drop_tables(PostgresConnection& db, std::string_view suffix) override {
    const std::string s(suffix);
    return db.exec("DROP TABLE IF EXISTS users" + s + "; DROP TABLE IF EXISTS applied" + s);
  }

 private:
  std::uint32_t version_;
  std::shared_ptr<std::atomic<bool>> poisoned_;
};

class PostgresReadModelsTest : public ProjectionTest {
 protected:
  void SetUp() override {
    ProjectionTest::SetUp();
    base_uri_ = evsrc_test::postgres_test_uri();
    ASSERT_FALSE(base_uri_.empty()) << evsrc_test::postgres_test_uri_help();
    schema_ = evsrc_test::fresh_postgres_schema();
    // application_name lets a test find (and terminate) this test's connections.
    uri_ = evsrc_test::with_schema(base_uri_, schema_) + "&application_name=" + schema_;
  }
  void TearDown() override {
    if (!schema_.empty()) evsrc_test::drop_postgres_schema(base_uri_, schema_);
    ProjectionTest::TearDown();
  }

  std::unique_ptr<PostgresReadModels> open_models(std::uint64_t batch_size = 1000) {
    PostgresReadModelsOptions options;
    options.uri = uri_;
    options.batch_size = batch_size;
    options.poll_interval = std::chrono::milliseconds(20);
    options.retry_after = std::chrono::milliseconds(50);
    Result<std::unique_ptr<PostgresReadModels>> models = PostgresReadModels::open(store(), options);
    EXPECT_TRUE(IsOk(models));
    return models.ok() ? std::move(*models) : nullptr;
  }

  SqlRows query(PostgresReadModels& models, const std::string& sql) {
    Result<std::unique_ptr<PostgresSqlSession>> session = models.connect();
    EXPECT_TRUE(IsOk(session));
    if (!session.ok()) return {};
    Result<SqlRows> rows = (*session)->query(sql);
    EXPECT_TRUE(IsOk(rows)) << sql;
    return rows.ok() ? std::move(*rows) : SqlRows{};
  }

  std::vector<Position> applied(PostgresReadModels& models, const std::string& suffix = "_v1") {
    std::vector<Position> positions;
    const SqlRows rows = query(models, "SELECT position FROM applied" + suffix + " ORDER BY position");
    for (std::size_t i = 0; i < rows.size(); ++i) positions.push_back(static_cast<Position>(rows.integer(i, 0)));
    return positions;
  }

  // The read model as a fold of the store: the last NameSet per stream.
  std::map<std::string, std::string> folded_names() {
    std::map<std::string, std::string> names;
    AllReadOptions read;
    read.limit = 100000;
    Result<AllPage> page = store().read_all(read);
    EXPECT_TRUE(IsOk(page));
    if (!page.ok()) return names;
    for (const RecordedEvent& event : page->events) {
      if (event.type == "NameSet") names[event.stream] = event.data;
    }
    return names;
  }

  std::map<std::string, std::string> stored_names(PostgresReadModels& models, const std::string& suffix = "_v1") {
    std::map<std::string, std::string> names;
    const SqlRows rows = query(models, "SELECT stream, name FROM users" + suffix);
    for (std::size_t i = 0; i < rows.size(); ++i) names[rows.text(i, 0)] = rows.text(i, 1);
    return names;
  }

  // Ends every connection of this test's read models (a server-side drop).
  void terminate_connections() {
    Result<PostgresConnection> admin = PostgresConnection::connect(base_uri_);
    ASSERT_TRUE(IsOk(admin));
    Result<PostgresRows> killed = admin->query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", {schema_});
    ASSERT_TRUE(IsOk(killed));
    EXPECT_GT(killed->rows(), 0);
  }

  std::string base_uri_;
  std::string schema_;
  std::string uri_;
};

TEST_P(PostgresReadModelsTest, CatchUpEqualsAFoldOfTheStore) {
  for (int i = 0; i < 7; ++i) append("user-" + std::to_string(i % 3), "NameSet", "name " + std::to_string(i));
  append("user-9", "Other", "x");
  auto models = open_models(/*batch_size=*/2);
  ASSERT_NE(models, nullptr);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(applied(*models), all_positions(store()));
  EXPECT_EQ(stored_names(*models), folded_names());
  EXPECT_EQ(models->serving_suffix("users").value(), "_v1");
  Result<std::vector<PostgresBuild>> builds = models->builds("users");
  ASSERT_TRUE(IsOk(builds));
  ASSERT_EQ(builds->size(), 1u);
  EXPECT_EQ((*builds)[0].role, PostgresBuildRole::serving);
  EXPECT_EQ((*builds)[0].position, all_positions(store()).back());
  // More events: catch_up resumes from the checkpoint (a duplicate would
  // violate applied's primary key and fail).
  append("user-1", "NameSet", "later");
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(applied(*models), all_positions(store()));
  EXPECT_EQ(stored_names(*models), folded_names());
}

TEST_P(PostgresReadModelsTest, FailingHandlerRollsBackTheBatchAndItsCheckpoint) {
  auto poisoned = std::make_shared<std::atomic<bool>>(true);
  append("user-1", "NameSet", "a");
  append("user-2", "NameSet", "b");
  const Position first_batch_end = append("user-3", "NameSet", "c");
  append("user-1", "NameSet", "d");  // in the failing batch, before the poison
  append("user-4", "Poison", "x");
  append("user-5", "NameSet", "e");
  {
    auto models = open_models(/*batch_size=*/3);
    ASSERT_NE(models, nullptr);
    ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1, poisoned))));
    const Status failed = models->catch_up();
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.message().find("poisoned event"), std::string::npos) << failed.to_string();
    // Only the first batch: nothing of the failing one, the checkpoint neither.
    std::vector<Position> expected = all_positions(store());
    expected.resize(3);
    EXPECT_EQ(applied(*models), expected);
    EXPECT_EQ(stored_names(*models).at("user-1"), "a");
    Result<std::vector<PostgresBuild>> builds = models->builds("users");
    ASSERT_TRUE(IsOk(builds));
    EXPECT_EQ((*builds)[0].position, first_batch_end);
    EXPECT_EQ((*builds)[0].state, "failed");
    EXPECT_NE((*builds)[0].error.find("poisoned event"), std::string::npos);
  }
  // A restart (new object, same schema) resumes at the checkpoint: every
  // event once.
  poisoned->store(false);
  auto models = open_models(/*batch_size=*/3);
  ASSERT_NE(models, nullptr);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1, poisoned))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(applied(*models), all_positions(store()));
  EXPECT_EQ(stored_names(*models), folded_names());
}

TEST_P(PostgresReadModelsTest, ReadYourWritesWhileLive) {
  auto models = open_models();
  ASSERT_NE(models, nullptr);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1))));
  models->start();
  for (int i = 0; i < 10; ++i) {
    const std::string stream = "user-" + std::to_string(i);
    const Position written = append(stream, "NameSet", "name " + std::to_string(i));
    ASSERT_TRUE(IsOk(models->wait_for(written, kLongWait)));
    EXPECT_EQ(stored_names(*models).at(stream), "name " + std::to_string(i));  // visible at once
  }
  const Status timed_out = models->wait_for(1000000, std::chrono::milliseconds(50));
  EXPECT_EQ(timed_out.code(), ErrorCode::timeout) << timed_out.to_string();
  models->stop();
  EXPECT_EQ(applied(*models), all_positions(store()));
  const std::vector<ProjectionStatus> status = models->status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].lag_positions, 0u);
}

TEST_P(PostgresReadModelsTest, LostConnectionFailsTheBatchThenResumesFromTheCheckpoint) {
  append("user-1", "NameSet", "a");
  auto models = open_models(/*batch_size=*/2);
  ASSERT_NE(models, nullptr);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));

  // One-shot: the next catch_up fails with the lost connection, the one
  // after reconnects.
  terminate_connections();
  append("user-2", "NameSet", "b");
  const Status lost = models->catch_up();
  EXPECT_EQ(lost.code(), ErrorCode::io_error) << lost.to_string();
  EXPECT_NE(lost.message().find("connection"), std::string::npos) << lost.to_string();
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(applied(*models), all_positions(store()));

  // Live: the runner retries by itself after retry_after.
  models->start();
  terminate_connections();
  Position written = 0;
  for (int i = 0; i < 5; ++i) written = append("user-" + std::to_string(i), "NameSet", "live " + std::to_string(i));
  const auto deadline = std::chrono::steady_clock::now() + kLongWait;
  Status waited;
  do {
    waited = models->wait_for(written, std::chrono::milliseconds(200));
    if (!waited.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (!waited.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(IsOk(waited));
  models->stop();
  EXPECT_EQ(applied(*models), all_positions(store()));
  EXPECT_EQ(stored_names(*models), folded_names());
}

TEST_P(PostgresReadModelsTest, RebuildSwitchesSideBySide) {
  for (int i = 0; i < 5; ++i) append("user-" + std::to_string(i), "NameSet", "n" + std::to_string(i));
  auto models = open_models(/*batch_size=*/2);
  ASSERT_NE(models, nullptr);
  ASSERT_TRUE(IsOk(models->add(std::make_unique<PgUsersProjection>(1))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  ASSERT_TRUE(IsOk(models->rebuild("users", std::make_unique<PgUsersProjection>(2))));
  ASSERT_TRUE(IsOk(models->catch_up()));
  EXPECT_EQ(models->serving_suffix("users").value(), "_v2");
  EXPECT_EQ(models->serving_version("users").value(), 2u);
  EXPECT_EQ(applied(*models, "_v2"), all_positions(store()));
  Result<std::vector<PostgresBuild>> builds = models->builds("users");
  ASSERT_TRUE(IsOk(builds));
  ASSERT_EQ(builds->size(), 2u);
  EXPECT_EQ((*builds)[0].role, PostgresBuildRole::dropped);
  EXPECT_EQ((*builds)[1].role, PostgresBuildRole::serving);
  const SqlRows old_table = query(*models, "SELECT to_regclass('users_v1') IS NULL");
  ASSERT_EQ(old_table.size(), 1u);
  EXPECT_EQ(old_table.text(0, 0), "t");
}

INSTANTIATE_TEST_SUITE_P(Backends, PostgresReadModelsTest, ::testing::Values("memory", "file"), backend_name);

}  // namespace
}  // namespace evsrc_projection_test
