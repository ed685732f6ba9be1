// Read models in SQLite: projections whose read model lives in SQLite tables,
// with the checkpoint in the same database (exactly-once), side-by-side
// rebuilds and read-your-writes (DESIGN §4).
//
// Three layers, each usable alone:
//   SqliteDatabase / SqliteStatement  a small RAII wrapper of one connection
//                                     (WAL, busy timeout) returning Status /
//                                     Result, never throwing.
//   SqliteProjection                  what a user writes: a named, versioned
//                                     handler that creates, updates and drops
//                                     its tables under a table suffix.
//   SqliteReadModels                  runs projections into one database file:
//                                     checkpoints, the serving registry,
//                                     rebuilds, catch_up / start / wait_for.
//
// Tables of the database (besides the projections' own):
//   evsrc_projections(name, build, version, suffix, role, position, state,
//                     error, updated_at)
// One row per build of a projection. A build is one set of tables (suffix
// "_v<version>", or "_v<version>_b<build>" when the version was built
// before), filled from position 0. `role` is 'serving' (queries read it;
// exactly one per name), 'building' (a rebuild in progress beside the serving
// build), 'retired' (replaced; its tables may still exist) or 'dropped'.
// `position` is the build's checkpoint, written in the same transaction as
// the batch it ends (NULL before the first event).
//
// Rebuild: rebuild(name, projection) creates a new build of `projection`'s
// tables and fills it from position 0 while the serving build keeps serving.
// When the new build has caught up, one transaction makes it serving and
// retires the old one; the old build's runner stops and, with
// drop_retired_tables, its tables are dropped. Caught up means its checkpoint
// is >= the serving build's (so a query never sees the read model go back)
// and >= the store head: in catch_up() (and add() / rebuild()) the head when
// the switch is checked; live, the head its runner read before the batch it
// just applied, so steady writes (the head always a little ahead) do not
// hold the switch back until a quiet gap.
//
// Queries: read serving_table_suffix(db, name) and run the query in one read
// transaction (SqliteReadTransaction) so a switch between the two cannot be
// seen; SQLite's WAL gives that transaction one snapshot of the file.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "evsrc/read_model_sql.h"
#include "evsrc/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace evsrc {

// A value bound to a statement parameter: NULL, an integer or text (the
// portable SqlValue). It views its text: the text must outlive the bind() /
// execute() call it is passed to (SqliteStatement::bind copies it; execute()
// uses it in place).
using SqliteValue = SqlValue;

// A prepared statement. Parameters are numbered from 1, columns from 0.
//
// Thread-safety: not thread-safe; used by the thread that uses its database.
// REQUIRES: the SqliteDatabase that prepared it outlives it.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  Status bind(int index, const SqliteValue& value);
  // Binds values to parameters 1..n.
  Status bind_all(std::initializer_list<SqliteValue> values);
  // True when a row is available (read it with column_*), false when done.
  Result<bool> step();
  // Steps until done (for statements without rows).
  Status run();
  // Makes the statement ready to run again and clears its bindings.
  void reset();

  int column_count() const;
  bool column_is_null(int column) const;
  std::int64_t column_int64(int column) const;
  std::string column_text(int column) const;

 private:
  friend class SqliteDatabase;
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
};

struct SqliteOpenOptions {
  bool create = true;  // create the file when absent
  bool read_only = false;
  // How long a statement waits for another connection's write lock before
  // failing with "database is locked".
  std::chrono::milliseconds busy_timeout{10000};
  // NORMAL in WAL mode: a commit survives a process crash; the last commits
  // may be lost on power loss (the projection then replays them, since the
  // checkpoint is lost with them). FULL syncs every commit.
  bool synchronous_full = false;
};

// One connection, in WAL journal mode. Errors carry SQLite's message.
//
// Thread-safety: not thread-safe; one thread at a time. Open one connection
// per thread (WAL lets readers run beside the one writer).
class SqliteDatabase {
 public:
  // `path` is a file path (":memory:" works but is private to the connection).
  static Result<SqliteDatabase> open(const std::string& path, const SqliteOpenOptions& options = {});

  SqliteDatabase() = default;
  ~SqliteDatabase();
  SqliteDatabase(SqliteDatabase&& other) noexcept;
  SqliteDatabase& operator=(SqliteDatabase&& other) noexcept;
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  bool is_open() const { return db_ != nullptr; }
  // Runs one or more statements without parameters (DDL, pragmas).
  Status exec(std::string_view sql);
  // Runs one statement with `params` through a statement cache keyed by the
  // SQL text (a handler's per-event statements are prepared once).
  Status execute(std::string_view sql, std::initializer_list<SqliteValue> params = {});
  Status execute(std::string_view sql, std::span<const SqliteValue> params);
  // Rows changed by the last INSERT / UPDATE / DELETE.
  std::int64_t changes() const;
  Result<SqliteStatement> prepare(std::string_view sql);

  // BEGIN IMMEDIATE (takes the write lock now, so the transaction cannot fail
  // later for a lock upgrade), COMMIT, ROLLBACK.
  Status begin();
  Status commit();
  Status rollback();
  bool in_transaction() const;

  // The raw handle, for what this wrapper does not cover.
  sqlite3* handle() { return db_; }

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  void close();
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statement_cache_;
};

// A read transaction (BEGIN DEFERRED ... COMMIT): every query inside sees one
// snapshot of the database. Ends at destruction (or end()).
class SqliteReadTransaction {
 public:
  explicit SqliteReadTransaction(SqliteDatabase& db);
  ~SqliteReadTransaction();
  SqliteReadTransaction(const SqliteReadTransaction&) = delete;
  SqliteReadTransaction& operator=(const SqliteReadTransaction&) = delete;
  // Not ok when BEGIN failed.
  const Status& status() const { return status_; }
  Status end();

 private:
  SqliteDatabase& db_;
  Status status_;
  bool active_ = false;
};

// The user's handler (read_model_sql.h), over a SqliteDatabase.
using SqliteProjection = TableProjection<SqliteDatabase>;

// One build of a projection, as recorded in evsrc_projections (the same
// registry as in PostgreSQL: read_model_sql.h).
using SqliteBuildRole = ReadModelBuildRole;
using SqliteBuild = ReadModelBuild;
inline std::string_view sqlite_build_role_name(SqliteBuildRole role) { return read_model_build_role_name(role); }

// The registry, read through any connection (e.g. a query's own, inside its
// read transaction). not_found when no build of `name` serves.
Result<std::string> serving_table_suffix(SqliteDatabase& db, std::string_view name);
// Every build of `name` (or of all projections when empty), by name and build.
Result<std::vector<SqliteBuild>> list_sqlite_builds(SqliteDatabase& db, std::string_view name = {});

// A SqliteDatabase seen as a SqlSession (read_model_sql.h): $N placeholders
// become ?N. Views `db`, or owns the database it was given.
class SqliteSqlSession final : public SqlSession {
 public:
  explicit SqliteSqlSession(SqliteDatabase& db) : db_(&db) {}
  explicit SqliteSqlSession(SqliteDatabase&& db) : owned_(std::move(db)), db_(&owned_) {}
  SqliteSqlSession(const SqliteSqlSession&) = delete;
  SqliteSqlSession& operator=(const SqliteSqlSession&) = delete;

  SqliteDatabase& database() { return *db_; }
  Dialect dialect() const override { return Dialect::sqlite; }
  Status exec(std::string_view sql) override;
  Result<std::int64_t> execute(std::string_view sql, std::initializer_list<SqlValue> params = {}) override;
  Result<SqlRows> query(std::string_view sql, std::initializer_list<SqlValue> params = {}) override;
  Status begin() override;
  Status commit() override;
  Status rollback() override;
  Status begin_read() override;

 private:
  SqliteDatabase owned_;
  SqliteDatabase* db_;
};

// Applies batches of one build: the projection's updates and the build's
// checkpoint in ONE transaction (exactly-once). A failing handler rolls the
// batch back (nothing of it visible, checkpoint unchanged), then records the
// failure (state, error) in the build's row.
//
// Thread-safety: used by one runner thread.
// REQUIRES: `db`, `projection` outlive the sink; the build's row exists
// (SqliteReadModels creates it).
class SqliteProjectionSink final : public SqlProjectionSink {
 public:
  SqliteProjectionSink(SqliteDatabase& db, SqliteProjection& projection, std::string name, std::int64_t build,
                       std::string table_suffix)
      : SqlProjectionSink(std::move(name), build, std::move(table_suffix)), db_(db), projection_(projection) {}

 private:
  SqlSession& session() override { return db_; }
  Status apply_event(const RecordedEvent& event, std::string_view table_suffix) override {
    return projection_.apply(db_.database(), event, table_suffix);
  }
  SqliteSqlSession db_;
  SqliteProjection& projection_;
};

struct SqliteReadModelsOptions {
  std::string database_path;        // the SQLite file (created when absent)
  std::uint64_t batch_size = 1000;  // events per transaction
  // How long an idle live runner waits for commits before checking stop().
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds busy_timeout{10000};
  bool synchronous_full = false;  // see SqliteOpenOptions
  // Drop the tables of a build as soon as a rebuild replaced it. Otherwise
  // drop_retired() drops them later.
  bool drop_retired_tables = true;
};

// Runs SqliteProjections from a store into one SQLite database: one runner
// (and one connection) per active build.
//
// Lifecycle: open(), add() every projection, then either catch_up() (one-shot
// tools: everything committed so far, on the calling thread) or start() (live,
// one background thread per build) ... stop().
//
// Read-your-writes: an append returns its position; wait_for(position) returns
// once every serving build has applied everything up to it.
//
// Thread-safety: add(), rebuild(), catch_up(), start(), stop(), drop_retired()
// must be called from one thread at a time (the owner). status(), wait_for()
// and wait_for_rebuild() may be called from any thread, also while live.
// REQUIRES: `store` outlives this object.
class SqliteReadModels final : public SqlReadModels {
 public:
  static Result<std::unique_ptr<SqliteReadModels>> open(EventStore& store, SqliteReadModelsOptions options);
  ~SqliteReadModels() override;

  // Registers the implementation that maintains `projection->name()`:
  //  - no build of the name yet: creates its tables (suffix "_v<version>") in
  //    a new build that serves at once (it fills as the projection runs);
  //  - the serving build has this version: resumes it from its checkpoint;
  //  - otherwise, a build of this version is 'building' (a rebuild started
  //    earlier whose switch has not happened): this one resumes the rebuild
  //    (add the serving version's projection too, so it keeps serving).
  // invalid_argument when the serving build has another version and no
  // rebuild of this version is pending (ask serving_version() first), or
  // when every build this projection could run is already running.
  // While live (after start()) the new runner starts at once.
  Status add(std::unique_ptr<SqliteProjection> projection);

  // Builds `projection` (normally version N+1 of a serving projection) into
  // new tables from position 0 beside the serving build, which keeps serving
  // (its projection must have been added). Switches when caught up (during
  // catch_up(), or live after any batch). A pending build of the same version
  // is resumed rather than restarted. not_found when `name` has no serving
  // build (use add()); invalid_argument when projection->name() != name.
  Status rebuild(std::string_view name, std::unique_ptr<SqliteProjection> projection);

  // catch_up(), start(), stop(), wait_for(), wait_for_rebuild(),
  // drop_retired(), serving_suffix(), serving_version(), builds(), status():
  // see SqlReadModels (read_model_sql.h).

  // A new connection to the database, for queries (one per thread).
  Result<SqliteDatabase> connect(bool read_only = true) const;
  const std::string& database_path() const { return options_.database_path; }

 private:
  SqliteReadModels(std::unique_ptr<ReadModelBuilds> engine, SqliteReadModelsOptions options);
  const SqliteReadModelsOptions options_;
};

}  // namespace evsrc
