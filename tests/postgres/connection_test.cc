// The PostgreSQL backend's connections: URIs and their parameters, an
// unreachable server, statement timeouts, reconnecting after the server
// dropped the store's connections, and schema migration (versions, a schema
// newer than this build, concurrent migrations).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "evsrc/postgres_connection.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

std::vector<EventData> make_events(int count) {
  std::vector<EventData> events(static_cast<std::size_t>(count));
  for (EventData& event : events) {
    event.id = Uuid::random();
    event.type = "Connected";
    event.data = "{}";
  }
  return events;
}

// A loopback port nothing listens on (bound, then released).
int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    return 1;
  }
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// ---- URIs (no server needed) -------------------------------------------------------

TEST(ParsePostgresUri, DefaultsAndLibpqUri) {
  Result<PostgresUri> uri = parse_postgres_uri("postgres://evsrc@127.0.0.1:5432/db");
  ASSERT_TRUE(uri.ok()) << uri.status().to_string();
  EXPECT_EQ(uri->schema, "evsrc");
  EXPECT_EQ(uri->pool, 8u);
  EXPECT_EQ(uri->statement_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(uri->libpq_uri, "postgres://evsrc@127.0.0.1:5432/db?connect_timeout=10");
}

TEST(ParsePostgresUri, TakesEvsrcParametersAndPassesTheRestToLibpq) {
  Result<PostgresUri> uri = parse_postgres_uri(
      "postgresql://u:p%40ss@host/db?sslmode=disable&schema=Orders_2&pool=3&statement_timeout_ms=250"
      "&application_name=x&connect_timeout=2");
  ASSERT_TRUE(uri.ok()) << uri.status().to_string();
  EXPECT_EQ(uri->schema, "Orders_2");
  EXPECT_EQ(uri->pool, 3u);
  EXPECT_EQ(uri->statement_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(uri->libpq_uri, "postgresql://u:p%40ss@host/db?sslmode=disable&application_name=x&connect_timeout=2");
}

TEST(ParsePostgresUri, PoolBounds) {
  EXPECT_TRUE(parse_postgres_uri("postgres://h/d?pool=1").ok());
  EXPECT_TRUE(parse_postgres_uri("postgres://h/d?pool=1000").ok());
  EXPECT_EQ(parse_postgres_uri("postgres://h/d?pool=1001").status().code(), ErrorCode::invalid_argument);
  EXPECT_EQ(parse_postgres_uri("postgres://h/d?pool=0").status().code(), ErrorCode::invalid_argument);
}

TEST(ParsePostgresUri, RejectsBadValuesNamingTheParameter) {
  for (const std::string& bad : std::vector<std::string>{
           "postgres://h/d?pool=", "postgres://h/d?pool=x", "postgres://h/d?pool=-1", "postgres://h/d?pool=2x",
           "postgres://h/d?statement_timeout_ms=0", "postgres://h/d?statement_timeout_ms=1.5",
           "postgres://h/d?statement_timeout_ms", "postgres://h/d?schema=", "postgres://h/d?schema=1abc",
           "postgres://h/d?schema=a-b", "postgres://h/d?schema=a%22b", "postgres://h/d?schema=a;drop",
           "postgres://h/d?schema=" + std::string(64, 's')}) {
    const Result<PostgresUri> uri = parse_postgres_uri(bad);
    ASSERT_FALSE(uri.ok()) << bad;
    EXPECT_EQ(uri.status().code(), ErrorCode::invalid_argument) << bad;
    const std::string parameter = bad.substr(bad.find('?') + 1);
    EXPECT_NE(uri.status().message().find(parameter.substr(0, parameter.find('='))), std::string::npos)
        << bad << ": " << uri.status().message();
  }
  EXPECT_TRUE(parse_postgres_uri("postgres://h/d?schema=" + std::string(63, 's')).ok());
}

TEST(ParsePostgresUri, RejectsOtherSchemes) {
  for (const char* bad : {"", "postgres:/h/d", "postgres:", "file:/tmp/x", "memory:", "mysql://h/d", "http://h/d"}) {
    EXPECT_EQ(parse_postgres_uri(bad).status().code(), ErrorCode::invalid_argument) << bad;
  }
}

TEST(QuoteIdentifier, DoublesQuotes) {
  EXPECT_EQ(quote_identifier("evsrc"), "\"evsrc\"");
  EXPECT_EQ(quote_identifier("a\"b"), "\"a\"\"b\"");
}

TEST(PostgresOpen, BadUrisAreInvalidArgument) {
  for (const char* bad : {"postgres://127.0.0.1/evsrc?pool=0", "postgres://127.0.0.1/evsrc?schema=no-dashes",
                          "postgres://127.0.0.1/evsrc?statement_timeout_ms=soon", "postgre://127.0.0.1/evsrc"}) {
    const Result<std::unique_ptr<EventStore>> store = open_postgres_store(bad);
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_EQ(store.status().code(), ErrorCode::invalid_argument) << bad << ": " << store.status().to_string();
    EXPECT_EQ(migrate_postgres_schema(bad).status().code(), ErrorCode::invalid_argument) << bad;
  }
  for (const char* bad : {"postgres://127.0.0.1/evsrc?pool=0", "postgresql://127.0.0.1/evsrc?schema=1x"}) {
    const Result<std::unique_ptr<EventStore>> store = open_store(bad);
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_EQ(store.status().code(), ErrorCode::invalid_argument) << bad << ": " << store.status().to_string();
  }
}

TEST(PostgresOpen, UnreachableServerIsIoErrorWithLibpqsReason) {
  const std::string uri = "postgresql://evsrc@127.0.0.1:" + std::to_string(unused_port()) + "/evsrc?connect_timeout=5";
  const Result<std::unique_ptr<EventStore>> store = open_postgres_store(uri);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::io_error) << store.status().to_string();
  EXPECT_NE(store.status().message().find("Connection refused"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("postgres"), std::string::npos) << store.status().message();

  const Result<std::unique_ptr<EventStore>> by_scheme = open_store(uri);
  EXPECT_EQ(by_scheme.status().code(), ErrorCode::io_error) << by_scheme.status().to_string();
  const Result<MigrationResult> migrated = migrate_postgres_schema(uri);
  EXPECT_EQ(migrated.status().code(), ErrorCode::io_error) << migrated.status().to_string();
  const Result<PostgresConnection> connection = PostgresConnection::connect(parse_postgres_uri(uri)->libpq_uri);
  EXPECT_EQ(connection.status().code(), ErrorCode::io_error) << connection.status().to_string();
}

// ---- against the test cluster --------------------------------------------------------

class PostgresConnectionTest : public FreshPostgresSchema {
 protected:
  void TearDown() override {
    for (const std::string& schema : extra_schemas_) drop_postgres_schema(base_, schema);
    FreshPostgresSchema::TearDown();
  }

  // A connection to the cluster outside the store (search_path = the test's schema).
  PostgresConnection admin() {
    PostgresConnectOptions options;
    options.schema = schema_;
    Result<PostgresConnection> connection = PostgresConnection::connect(parse_postgres_uri(base_)->libpq_uri, options);
    EXPECT_TRUE(connection.ok()) << connection.status().to_string();
    return connection.ok() ? std::move(connection).value() : PostgresConnection();
  }

  std::vector<std::string> extra_schemas_;
};

TEST_F(PostgresConnectionTest, StatementTimeoutIsTimeoutAndTheConnectionStaysUsable) {
  Result<PostgresUri> uri =
      parse_postgres_uri(base_ + (base_.find('?') == std::string::npos ? "?" : "&") + "statement_timeout_ms=50");
  ASSERT_TRUE(uri.ok()) << uri.status().to_string();
  PostgresConnectOptions options;
  options.statement_timeout = uri->statement_timeout;
  Result<PostgresConnection> connection = PostgresConnection::connect(uri->libpq_uri, options);
  ASSERT_TRUE(connection.ok()) << connection.status().to_string();
  Result<PostgresRows> slow = connection->query("SELECT pg_sleep(1)");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().code(), ErrorCode::timeout) << slow.status().to_string();
  EXPECT_EQ(connection->sql_state(), "57014");
  EXPECT_FALSE(connection->broken());
  Result<PostgresRows> quick = connection->query("SELECT $1::int + 1", {41});
  ASSERT_TRUE(quick.ok()) << quick.status().to_string();
  EXPECT_EQ(quick->integer(0, 0), 42);
  EXPECT_EQ(connection->exec("SELECT pg_sleep(1)").code(), ErrorCode::timeout);
  EXPECT_TRUE(connection->exec("SELECT 1").ok());
}

TEST_F(PostgresConnectionTest, SqlErrorsAreInvalidArgumentWithTheirState) {
  PostgresConnection connection = admin();
  ASSERT_TRUE(connection.is_open());
  Status status = connection.exec("SELEKT 1");
  EXPECT_EQ(status.code(), ErrorCode::invalid_argument) << status.to_string();
  EXPECT_EQ(connection.sql_state(), "42601");
  EXPECT_FALSE(connection.broken());
  EXPECT_TRUE(connection.exec("CREATE TABLE t (k int PRIMARY KEY)").ok());
  EXPECT_TRUE(connection.execute("INSERT INTO t VALUES ($1)", {1}).ok());
  Result<std::int64_t> duplicate = connection.execute("INSERT INTO t VALUES ($1)", {1});
  EXPECT_EQ(duplicate.status().code(), ErrorCode::invalid_argument);
  EXPECT_EQ(connection.sql_state(), "23505");
}

// The store's connections carry an application_name of this test's own, so
// terminating them cannot touch the other tests sharing the cluster.
TEST_F(PostgresConnectionTest, StoreReconnectsAfterTheServerDroppedItsConnections) {
  const std::string application = "evsrc_" + schema_;
  Result<std::unique_ptr<EventStore>> opened = open_postgres_store(uri_ + "&pool=2&application_name=" + application);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EventStore& store = **opened;
  ASSERT_TRUE(store.append("conn-1", ExpectedRevision::no_stream(), make_events(1)).ok());
  ASSERT_TRUE(store.read_all({}).ok());

  PostgresConnection connection = admin();
  ASSERT_TRUE(connection.is_open());
  PostgresConnection bystander = admin();  // stands for the other tests' connections
  ASSERT_TRUE(bystander.is_open());
  const auto terminate_store_backends = [&] {
    Result<PostgresRows> terminated = connection.query(
        "WITH mine AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = $1) "
        "SELECT array_agg(pid)::text, count(pg_terminate_backend(pid)) FROM mine",
        {application});
    EXPECT_TRUE(terminated.ok()) << terminated.status().to_string();
    if (!terminated.ok()) return 0;
    // Wait (bounded) until those backends are gone, so the next call surely
    // meets a dropped connection (the store may already have opened new ones).
    const std::string pids = terminated->is_null(0, 0) ? "{}" : terminated->text(0, 0);
    for (int i = 0; i < 500; ++i) {
      Result<PostgresRows> left =
          connection.query("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", {pids});
      if (left.ok() && left->integer(0, 0) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return static_cast<int>(terminated->integer(0, 1));
  };
  ASSERT_GE(terminate_store_backends(), 1)
      << "no backend with application_name " << application << ": does the store pass the URI's libpq parameters on?";

  // The call that meets a dropped connection may fail with io_error (a
  // write's outcome is then unknown); retrying with the same ids must
  // succeed within a few attempts (the writer's connection and the two
  // pooled ones may each cost one) and land the events once.
  const std::vector<EventData> second = make_events(2);
  std::vector<Status> failures;
  Result<AppendResult> appended = Status::io_error("not tried");
  for (int attempt = 0; attempt < 4 && !appended.ok(); ++attempt) {
    appended = store.append("conn-1", ExpectedRevision::exact(0), second);
    if (!appended.ok()) failures.push_back(appended.status());
  }
  ASSERT_TRUE(appended.ok()) << "the store did not reconnect: " << appended.status().to_string();
  for (const Status& failure : failures) EXPECT_EQ(failure.code(), ErrorCode::io_error) << failure.to_string();
  RecordProperty("failed_appends_after_drop", static_cast<int>(failures.size()));
  EXPECT_EQ(appended->first_revision, 1u);
  EXPECT_EQ(appended->last_revision, 2u);

  // Reads reconnect too.
  ASSERT_GE(terminate_store_backends(), 1);
  Result<StreamPage> page = Status::io_error("not tried");
  int failed_reads = 0;
  for (int attempt = 0; attempt < 4 && !page.ok(); ++attempt) {
    page = store.read_stream("conn-1", {});
    if (!page.ok()) {
      ++failed_reads;
      EXPECT_EQ(page.status().code(), ErrorCode::io_error) << page.status().to_string();
    }
  }
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  RecordProperty("failed_reads_after_drop", failed_reads);
  ASSERT_EQ(page->events.size(), 3u);
  EXPECT_EQ(page->events[1].id, second[0].id);
  EXPECT_EQ(page->events[2].id, second[1].id);
  Result<AllPage> all = store.read_all({});
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->events.size(), 3u);
  EXPECT_TRUE(bystander.exec("SELECT 1").ok()) << "a connection that is not the store's was terminated too";

  EXPECT_TRUE(store.close().ok());
}

// A write that waits longer than statement_timeout_ms for the head lock
// (held here by another connection) fails with timeout and writes nothing.
TEST_F(PostgresConnectionTest, StoreWriteStuckBehindALockTimesOut) {
  Result<std::unique_ptr<EventStore>> opened = open_postgres_store(uri_ + "&statement_timeout_ms=200");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EventStore& store = **opened;
  ASSERT_TRUE(store.append("locked-1", ExpectedRevision::no_stream(), make_events(1)).ok());

  PostgresConnection locker = admin();
  ASSERT_TRUE(locker.is_open());
  ASSERT_TRUE(locker.begin().ok());
  Result<PostgresRows> locked = locker.query("SELECT * FROM evsrc_head FOR UPDATE");
  ASSERT_TRUE(locked.ok()) << locked.status().to_string();
  const Result<AppendResult> stuck = store.append("locked-1", ExpectedRevision::exact(0), make_events(1));
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.status().code(), ErrorCode::timeout) << stuck.status().to_string();
  ASSERT_TRUE(locker.rollback().ok());

  const Result<AppendResult> after = store.append("locked-1", ExpectedRevision::exact(0), make_events(1));
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  EXPECT_EQ(after->last_revision, 1u);
  Result<AllPage> all = store.read_all({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.size(), 2u);
  EXPECT_TRUE(store.close().ok());
}

// ---- migrations ------------------------------------------------------------------------

TEST_F(PostgresConnectionTest, MigrateCreatesTheSchemaOnceThenFindsItCurrent) {
  Result<MigrationResult> first = migrate_postgres_schema(uri_);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->version_before, 0);
  EXPECT_EQ(first->version_after, kPostgresSchemaVersion);
  Result<MigrationResult> second = migrate_postgres_schema(uri_);
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(second->version_before, kPostgresSchemaVersion);
  EXPECT_EQ(second->version_after, kPostgresSchemaVersion);

  // open_store dispatches postgres:// to the backend.
  Result<std::unique_ptr<EventStore>> store = open_store(uri_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_TRUE((*store)->append("m-1", ExpectedRevision::no_stream(), make_events(2)).ok());
  EXPECT_TRUE((*store)->close().ok());
  Result<MigrationResult> third = migrate_postgres_schema(uri_);
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_EQ(third->version_before, kPostgresSchemaVersion);
}

TEST_F(PostgresConnectionTest, OpeningMigratesAFreshSchema) {
  Result<std::unique_ptr<EventStore>> store = open_postgres_store(uri_);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_TRUE((*store)->close().ok());
  Result<MigrationResult> migrated = migrate_postgres_schema(uri_);
  ASSERT_TRUE(migrated.ok()) << migrated.status().to_string();
  EXPECT_EQ(migrated->version_before, kPostgresSchemaVersion);
}

TEST_F(PostgresConnectionTest, ConcurrentMigrationsCreateTheSchemaOnce) {
  constexpr int kMigrators = 6;
  std::vector<Result<MigrationResult>> results(kMigrators, Status::io_error("not run"));
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = migrate_postgres_schema(uri_);
    });
  }
  go.store(true);
  for (std::thread& thread : threads) thread.join();
  int created = 0;
  for (const Result<MigrationResult>& result : results) {
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    EXPECT_EQ(result->version_after, kPostgresSchemaVersion);
    if (result->version_before == 0) ++created;
  }
  EXPECT_EQ(created, 1);
}

TEST_F(PostgresConnectionTest, ASchemaNewerThanThisBuildIsNotOpened) {
  ASSERT_TRUE(migrate_postgres_schema(uri_).ok());
  PostgresConnection connection = admin();
  ASSERT_TRUE(connection.is_open());
  Result<std::int64_t> updated =
      connection.execute("UPDATE evsrc_schema_version SET version = $1", {kPostgresSchemaVersion + 1});
  ASSERT_TRUE(updated.ok()) << updated.status().to_string();
  ASSERT_EQ(*updated, 1);

  const Result<std::unique_ptr<EventStore>> store = open_postgres_store(uri_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
  EXPECT_NE(store.status().message().find(std::to_string(kPostgresSchemaVersion + 1)), std::string::npos)
      << store.status().message();
  const Result<MigrationResult> migrated = migrate_postgres_schema(uri_);
  ASSERT_FALSE(migrated.ok());
  EXPECT_EQ(migrated.status().code(), ErrorCode::corruption) << migrated.status().to_string();

  // Nothing was changed by the refused open / migration.
  Result<PostgresRows> version = connection.query("SELECT version FROM evsrc_schema_version");
  ASSERT_TRUE(version.ok()) << version.status().to_string();
  ASSERT_EQ(version->rows(), 1);
  EXPECT_EQ(version->integer(0, 0), kPostgresSchemaVersion + 1);
}

// Schemas are independent stores in one database.
TEST_F(PostgresConnectionTest, SchemasAreSeparateStores) {
  const std::string other = fresh_postgres_schema();
  extra_schemas_.push_back(other);
  Result<std::unique_ptr<EventStore>> a = open_postgres_store(uri_);
  Result<std::unique_ptr<EventStore>> b = open_postgres_store(with_schema(base_, other));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_TRUE((*a)->append("s-1", ExpectedRevision::no_stream(), make_events(2)).ok());
  ASSERT_TRUE((*b)->append("s-1", ExpectedRevision::no_stream(), make_events(1)).ok());
  Result<StreamPage> in_a = (*a)->read_stream("s-1", {});
  Result<StreamPage> in_b = (*b)->read_stream("s-1", {});
  ASSERT_TRUE(in_a.ok() && in_b.ok());
  EXPECT_EQ(in_a->events.size(), 2u);
  EXPECT_EQ(in_b->events.size(), 1u);
  EXPECT_TRUE((*a)->close().ok());
  EXPECT_TRUE((*b)->close().ok());
}

}  // namespace
}  // namespace evsrc_test
