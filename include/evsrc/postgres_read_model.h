// Read models in PostgreSQL: projections whose tables live in a PostgreSQL
// schema, with their checkpoint in the same schema, written in ONE
// transaction per batch (exactly-once), side-by-side rebuilds and
// read-your-writes. The public shape and the contracts are those of the
// SQLite read models (sqlite_read_model.h): the registry table
// evsrc_projections, roles, rebuild and switch rules are the same code
// (ReadModelBuilds), only the connection differs.
//
// Differences from SQLite:
//   - Where: `uri` is a postgres:// URI; evsrc's `schema=` parameter (default
//     "evsrc") names the schema of the registry and the projections' tables
//     (created when absent; put first on every connection's search_path).
//   - Connections: one per active build plus one for the registry; queries
//     open their own with connect(). A query that reads the registry and the
//     tables should run in one snapshot: PostgresSqlSession::begin_read()
//     (REPEATABLE READ, READ ONLY), so a switch cannot be half-seen.
//   - A lost connection fails the batch in flight with io_error ("postgres:
//     connection lost: ..."); the transaction is gone with it, so nothing of
//     the batch nor its checkpoint is applied. The build's session
//     reconnects at the next statement outside a transaction, and the runner
//     resumes from the stored checkpoint: live after `retry_after`;
//     catch_up() at the next call.
//   - One process runs the read models of a schema at a time (as with a
//     SQLite file): two processes adding builds of one name at once may
//     collide on the build number (a unique violation, not a corruption).
//
// Thread-safety: as SqliteReadModels.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres_connection.h"
#include "evsrc/projection.h"
#include "evsrc/read_model_sql.h"
#include "evsrc/status.h"

namespace evsrc {

// The user's handler (read_model_sql.h), over a PostgresConnection whose
// search_path starts with the read models' schema.
using PostgresProjection = TableProjection<PostgresConnection>;

using PostgresBuild = ReadModelBuild;
using PostgresBuildRole = ReadModelBuildRole;

// A PostgresConnection seen as a SqlSession (read_model_sql.h). Opened with
// connect(), it owns the connection and reconnects (same URI and options)
// when a statement outside a transaction, or begin(), finds it lost; made
// from a connection, it views it and never reconnects.
class PostgresSqlSession final : public SqlSession {
 public:
  static Result<std::unique_ptr<PostgresSqlSession>> connect(std::string libpq_uri, PostgresConnectOptions options);
  explicit PostgresSqlSession(PostgresConnection& connection) : connection_(&connection) {}
  PostgresSqlSession(const PostgresSqlSession&) = delete;
  PostgresSqlSession& operator=(const PostgresSqlSession&) = delete;

  // Stays the same object across reconnects.
  PostgresConnection& connection() { return *connection_; }
  Dialect dialect() const override { return Dialect::postgresql; }
  Status exec(std::string_view sql) override;
  Result<std::int64_t> execute(std::string_view sql, std::initializer_list<SqlValue> params = {}) override;
  Result<SqlRows> query(std::string_view sql, std::initializer_list<SqlValue> params = {}) override;
  Status begin() override;
  Status commit() override;
  Status rollback() override;
  Status begin_read() override;

 private:
  PostgresSqlSession(std::string libpq_uri, PostgresConnectOptions options, PostgresConnection connection)
      : uri_(std::move(libpq_uri)), options_(std::move(options)), owned_(std::move(connection)) {}
  // Reconnects a lost connection unless a transaction was open on it (its
  // statements must fail until rollback(), not run in autocommit).
  Status ensure_connected();

  const std::string uri_;  // empty: a view, no reconnects
  const PostgresConnectOptions options_;
  PostgresConnection owned_;
  PostgresConnection* connection_ = &owned_;
  bool in_transaction_ = false;
};

// Applies batches of one build in one transaction with its checkpoint
// (exactly-once); a failure rolls the batch back and is recorded in the
// build's row. REQUIRES: `db`, `projection` outlive the sink; the build's row
// exists (PostgresReadModels creates it).
class PostgresProjectionSink final : public SqlProjectionSink {
 public:
  PostgresProjectionSink(PostgresSqlSession& db, PostgresProjection& projection, std::string name,
                         std::int64_t build, std::string table_suffix)
      : SqlProjectionSink(std::move(name), build, std::move(table_suffix)), db_(db), projection_(projection) {}

 private:
  SqlSession& session() override { return db_; }
  Status apply_event(const RecordedEvent& event, std::string_view table_suffix) override {
    return projection_.apply(db_.connection(), event, table_suffix);
  }
  PostgresSqlSession& db_;
  PostgresProjection& projection_;
};

struct PostgresReadModelsOptions {
  // postgres://user@host:port/db?schema=NAME (evsrc's statement_timeout_ms
  // is honoured too; pool= is ignored: one connection per build).
  std::string uri;
  std::uint64_t batch_size = 1000;  // events per transaction
  std::chrono::milliseconds poll_interval{200};
  // Live: how long a build whose connection was lost waits before it
  // reconnects and resumes from its checkpoint.
  std::chrono::milliseconds retry_after{1000};
  bool drop_retired_tables = true;
};

// Runs PostgresProjections from a store into one PostgreSQL schema (see
// SqliteReadModels for add / rebuild / catch_up / start / wait_for).
// REQUIRES: `store` outlives this object.
class PostgresReadModels final : public SqlReadModels {
 public:
  static Result<std::unique_ptr<PostgresReadModels>> open(EventStore& store, PostgresReadModelsOptions options);
  ~PostgresReadModels() override;

  // As SqliteReadModels::add() / rebuild(). catch_up(), start(), stop(),
  // the waits and the registry: SqlReadModels (read_model_sql.h).
  Status add(std::unique_ptr<PostgresProjection> projection);
  Status rebuild(std::string_view name, std::unique_ptr<PostgresProjection> projection);

  // A new session on the read models' schema, for queries (one per thread).
  Result<std::unique_ptr<PostgresSqlSession>> connect() const;
  const std::string& schema() const { return schema_; }

 private:
  PostgresReadModels(std::unique_ptr<ReadModelBuilds> engine, std::string libpq_uri, PostgresConnectOptions connect);
  const std::string libpq_uri_;
  const PostgresConnectOptions connect_options_;
  const std::string schema_;
};

}  // namespace evsrc
