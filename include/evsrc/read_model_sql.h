// What the read models in SQL databases share, whatever the database:
//   - SqlSession: one connection seen through a small portable interface
//     (statements with $1, $2, ... placeholders, text rows, transactions).
//     SqliteSqlSession (sqlite_read_model.h) and PostgresSqlSession
//     (postgres_read_model.h) implement it; a projection written against it
//     runs in both (see examples/directory/projections.cc).
//   - SqlReadModels: the lifecycle, waits and registry reads that
//     SqliteReadModels and PostgresReadModels share (one implementation).
//   - ReadModelBuild: one build of a projection as recorded in the registry
//     table evsrc_projections, the same table in every database:
//       evsrc_projections(name, build, version, suffix, role, position,
//                         state, error, updated_at), PRIMARY KEY (name, build),
//       at most one row per name with role 'serving' (partial unique index).
//
// Portable SQL: write $N placeholders (SQLite gets them as ?N), BIGINT for
// 64-bit integers, TEXT, INSERT ... ON CONFLICT (...) DO UPDATE / DO NOTHING.
//
// Thread-safety: a session is used by one thread at a time, like the
// connection it wraps.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

// A statement parameter: NULL, an integer or text. It views its text, which
// must outlive the call it is passed to.
class SqlValue {
 public:
  enum class Kind : std::uint8_t { null, integer, text };
  SqlValue(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  template <std::integral T>
  SqlValue(T value) : kind_(Kind::integer), integer_(static_cast<std::int64_t>(value)) {}  // NOLINT
  SqlValue(std::string_view text) : kind_(Kind::text), text_(text) {}                      // NOLINT
  SqlValue(const char* text) : kind_(Kind::text), text_(text) {}                           // NOLINT
  SqlValue(const std::string& text) : kind_(Kind::text), text_(text) {}                    // NOLINT
  Kind kind() const { return kind_; }
  std::int64_t integer() const { return integer_; }
  std::string_view text() const { return text_; }

 private:
  Kind kind_ = Kind::null;
  std::int64_t integer_ = 0;
  std::string_view text_;
};

// The rows of a query, every value as text (nullopt for NULL).
struct SqlRows {
  std::vector<std::vector<std::optional<std::string>>> rows;

  std::size_t size() const { return rows.size(); }
  bool empty() const { return rows.empty(); }
  bool is_null(std::size_t row, std::size_t column) const { return !rows[row][column].has_value(); }
  // "" for NULL.
  std::string text(std::size_t row, std::size_t column) const { return rows[row][column].value_or(""); }
  // 0 for NULL or text that is not a number.
  std::int64_t integer(std::size_t row, std::size_t column) const;
};

class SqlSession {
 public:
  enum class Dialect : std::uint8_t { sqlite, postgresql };
  virtual ~SqlSession() = default;
  virtual Dialect dialect() const = 0;
  // One or more statements without parameters (DDL).
  virtual Status exec(std::string_view sql) = 0;
  // One statement without rows; the number of rows it changed.
  virtual Result<std::int64_t> execute(std::string_view sql, std::initializer_list<SqlValue> params = {}) = 0;
  virtual Result<SqlRows> query(std::string_view sql, std::initializer_list<SqlValue> params = {}) = 0;
  // A write transaction (SQLite: BEGIN IMMEDIATE).
  virtual Status begin() = 0;
  virtual Status commit() = 0;
  virtual Status rollback() = 0;
  // A transaction in which every query sees one snapshot of the database
  // (SQLite: BEGIN DEFERRED in WAL mode; PostgreSQL: REPEATABLE READ, READ
  // ONLY). End it with commit() or rollback().
  virtual Status begin_read() = 0;
};

// A projection whose read model is tables in a database reached through
// `Connection` (SqliteDatabase: SqliteProjection; PostgresConnection:
// PostgresProjection; SqlSession: a portable one). Tables are named with
// `table_suffix` appended (e.g. "users" + "_v2") so two builds of one
// projection live side by side.
//
// Thread-safety: the methods are called from one runner thread at a time,
// but builds of one projection may run on different threads; a handler with
// no mutable state of its own (everything in the tables) is safe.
template <class Connection>
class TableProjection {
 public:
  virtual ~TableProjection() = default;
  virtual std::string name() const = 0;  // 1..255 bytes, e.g. "users"
  // Bump when the tables or apply() change: rebuild into the new version.
  virtual std::uint32_t version() const = 0;
  // Which $all events apply() sees; default: all.
  virtual EventFilter filter() const { return {}; }
  // Creates the build's tables and indexes (called once per build, inside
  // the transaction that registers it).
  virtual Status create_tables(Connection& db, std::string_view table_suffix) = 0;
  // Applies one event, inside the batch's transaction. A non-ok Status rolls
  // the whole batch back and fails the projection at the batch's start.
  virtual Status apply(Connection& db, const RecordedEvent& event, std::string_view table_suffix) = 0;
  virtual Status drop_tables(Connection& db, std::string_view table_suffix) = 0;
};

// "$1" placeholders as SQLite's "?1" (outside quoted strings and identifiers).
std::string sql_placeholders_for_sqlite(std::string_view sql);

// One build of a projection in the registry (see above).
enum class ReadModelBuildRole : std::uint8_t { serving, building, retired, dropped };
std::string_view read_model_build_role_name(ReadModelBuildRole role);  // "serving", ...

struct ReadModelBuild {
  std::string name;
  std::int64_t build = 1;  // 1, 2, ... per name
  std::uint32_t version = 1;
  std::string table_suffix;  // "_v1", "_v2", "_v2_b3"
  ReadModelBuildRole role = ReadModelBuildRole::serving;
  std::optional<Position> position;  // checkpoint
  std::string state;                 // projection_state_name() when last written
  std::string error;                 // when the build failed
};

// The registry, read through any session (e.g. a query's own, inside its
// read transaction). not_found when no build of `name` serves.
Result<std::string> serving_table_suffix(SqlSession& db, std::string_view name);
// Every build of `name` (or of all projections when empty), by name and build.
Result<std::vector<ReadModelBuild>> list_read_model_builds(SqlSession& db, std::string_view name = {});

// The exactly-once sink of one build: in ONE transaction of session(),
// apply_event() for every event of the batch, then the build's checkpoint
// (evsrc_projections.position). A failure rolls the batch back (checkpoint
// included), is recorded in the build's row (state, error; best effort) and
// names the event. SqliteProjectionSink and PostgresProjectionSink give it
// their session and projection.
// REQUIRES: the build's row exists (the read models create it).
class SqlProjectionSink : public ProjectionSink {
 public:
  SqlProjectionSink(std::string name, std::int64_t build, std::string table_suffix);
  Result<std::optional<Position>> checkpoint() override;
  Status apply(std::span<const RecordedEvent> events, Position checkpoint) override;

 protected:
  virtual SqlSession& session() = 0;
  // One event, inside the batch's transaction.
  virtual Status apply_event(const RecordedEvent& event, std::string_view table_suffix) = 0;

 private:
  const std::string name_;
  const std::int64_t build_;
  const std::string table_suffix_;
};

class ReadModelBuilds;  // the shared implementation (src/toolkit)

// The part of SqliteReadModels / PostgresReadModels that does not depend on
// the database; the contracts are in sqlite_read_model.h. The derived class
// adds open(), add(), rebuild() and connect() for its own projection and
// connection types.
//
// Thread-safety: catch_up(), start(), stop(), drop_retired() belong to the
// owner thread; status() and the waits may be called from any thread.
class SqlReadModels {
 public:
  virtual ~SqlReadModels();  // stop()
  SqlReadModels(const SqlReadModels&) = delete;
  SqlReadModels& operator=(const SqlReadModels&) = delete;

  // Everything committed so far, to every build; then the switches that
  // became possible. The first failure (the other builds still ran).
  Status catch_up();
  // Live: one thread per build. No-op when live.
  void start();
  void stop();
  // Until every serving build (or the one of `name`) has applied `position`;
  // timeout, or the projection's error. Capped at kMaxProjectionWait.
  Status wait_for(Position position, std::chrono::milliseconds timeout);
  Status wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout);
  // Until `name` has no rebuild pending (switched, or none started).
  Status wait_for_rebuild(std::string_view name, std::chrono::milliseconds timeout);
  // Drops the tables of retired builds of `name` that this object holds.
  Status drop_retired(std::string_view name);

  // The registry as of now.
  Result<std::string> serving_suffix(std::string_view name);
  Result<std::optional<std::uint32_t>> serving_version(std::string_view name);
  Result<std::vector<ReadModelBuild>> builds(std::string_view name = {});
  // Runner status of every active build (serving and building).
  std::vector<ProjectionStatus> status() const;

 protected:
  explicit SqlReadModels(std::unique_ptr<ReadModelBuilds> engine);
  ReadModelBuilds& engine() { return *engine_; }

 private:
  std::unique_ptr<ReadModelBuilds> engine_;
};

}  // namespace evsrc
