// The evsrc_projections registry in portable SQL (see read_model_registry.h).
#include "toolkit/read_model_registry.h"

#include <charconv>
#include <chrono>
#include <string>
#include <utility>

namespace evsrc {

std::int64_t SqlRows::integer(std::size_t row, std::size_t column) const {
  const std::optional<std::string>& value = rows[row][column];
  std::int64_t number = 0;
  if (value) std::from_chars(value->data(), value->data() + value->size(), number);
  return number;
}

std::string sql_placeholders_for_sqlite(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  char quote = 0;  // inside '...' or "..."
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      out += '?';
      continue;
    }
    out += c;
  }
  return out;
}

std::string_view read_model_build_role_name(ReadModelBuildRole role) {
  switch (role) {
    case ReadModelBuildRole::serving:
      return "serving";
    case ReadModelBuildRole::building:
      return "building";
    case ReadModelBuildRole::retired:
      return "retired";
    case ReadModelBuildRole::dropped:
      return "dropped";
  }
  return "unknown";
}

namespace read_model_registry {
namespace {

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

std::string no_build(std::string_view name, std::int64_t build) {
  return "projection " + std::string(name) + " has no build " + std::to_string(build);
}

}  // namespace

std::optional<ReadModelBuildRole> parse_role(std::string_view text) {
  for (ReadModelBuildRole role : {ReadModelBuildRole::serving, ReadModelBuildRole::building,
                                  ReadModelBuildRole::retired, ReadModelBuildRole::dropped}) {
    if (read_model_build_role_name(role) == text) return role;
  }
  return std::nullopt;
}

Status ensure_schema(SqlSession& db) {
  // BIGINT: a 64-bit integer in both (SQLite gives it INTEGER affinity).
  return db.exec(
      "CREATE TABLE IF NOT EXISTS evsrc_projections ("
      " name TEXT NOT NULL,"
      " build BIGINT NOT NULL,"
      " version BIGINT NOT NULL,"
      " suffix TEXT NOT NULL,"
      " role TEXT NOT NULL,"
      " position BIGINT,"
      " state TEXT NOT NULL DEFAULT 'stopped',"
      " error TEXT NOT NULL DEFAULT '',"
      " updated_at TEXT NOT NULL DEFAULT '',"
      " PRIMARY KEY (name, build));"
      "CREATE UNIQUE INDEX IF NOT EXISTS evsrc_projections_serving ON evsrc_projections(name)"
      " WHERE role = 'serving';");
}

Result<ReadModelBuild> insert_build(SqlSession& db, std::string_view name, std::uint32_t version,
                                    ReadModelBuildRole role) {
  ReadModelBuild build;
  build.name = std::string(name);
  build.version = version;
  build.role = role;
  build.table_suffix = "_v" + std::to_string(version);
  Result<SqlRows> next = db.query(
      "SELECT COALESCE(MAX(build), 0) + 1,"
      " CASE WHEN EXISTS(SELECT 1 FROM evsrc_projections WHERE name = $1 AND suffix = $2) THEN 1 ELSE 0 END"
      " FROM evsrc_projections WHERE name = $1",
      {name, build.table_suffix});
  if (!next.ok()) return next.status();
  if (next->empty()) return Status::io_error("evsrc_projections: no row from an aggregate");
  build.build = next->integer(0, 0);
  if (next->integer(0, 1) != 0) build.table_suffix += "_b" + std::to_string(build.build);
  build.state = "stopped";
  Result<std::int64_t> inserted = db.execute(
      "INSERT INTO evsrc_projections (name, build, version, suffix, role, updated_at)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      {name, build.build, version, build.table_suffix, read_model_build_role_name(role), now_rfc3339()});
  if (!inserted.ok()) return inserted.status();
  return build;
}

Status set_role(SqlSession& db, std::string_view name, std::int64_t build, ReadModelBuildRole role) {
  return db
      .execute("UPDATE evsrc_projections SET role = $1, updated_at = $2 WHERE name = $3 AND build = $4",
               {read_model_build_role_name(role), now_rfc3339(), name, build})
      .status();
}

Result<std::optional<Position>> read_position(SqlSession& db, std::string_view name, std::int64_t build) {
  Result<SqlRows> rows =
      db.query("SELECT position FROM evsrc_projections WHERE name = $1 AND build = $2", {name, build});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::not_found(no_build(name, build));
  if (rows->is_null(0, 0)) return std::optional<Position>();
  return std::optional<Position>(static_cast<Position>(rows->integer(0, 0)));
}

Status write_failure(SqlSession& db, std::string_view name, std::int64_t build, std::string_view error) {
  return db
      .execute("UPDATE evsrc_projections SET state = 'failed', error = $1, updated_at = $2 WHERE name = $3 AND build = $4",
               {error, now_rfc3339(), name, build})
      .status();
}

Status apply_batch(SqlSession& db, std::string_view name, std::int64_t build, std::string_view table_suffix,
                   std::span<const RecordedEvent> events, Position checkpoint,
                   const std::function<Status(const RecordedEvent&)>& apply_event) {
  auto fail = [&](const Status& status) {
    (void)db.rollback();  // nothing of the batch stays, the checkpoint neither
    // Best effort (a lost connection cannot record it): the runner reports the error anyway.
    (void)write_failure(db, name, build, status.to_string());
    return status;
  };
  if (Status status = db.begin(); !status.ok()) return fail(status);
  for (const RecordedEvent& event : events) {
    if (Status status = apply_event(event); !status.ok()) {
      return fail(Status(status.code(), "projection " + std::string(name) + std::string(table_suffix) +
                                            " at position " + std::to_string(event.position) + " (" + event.stream +
                                            "@" + std::to_string(event.revision) + "): " + status.message()));
    }
  }
  Result<std::int64_t> moved = db.execute(
      "UPDATE evsrc_projections SET position = $1, state = 'running', error = '', updated_at = $2"
      " WHERE name = $3 AND build = $4",
      {checkpoint, now_rfc3339(), name, build});
  if (!moved.ok()) return fail(moved.status());
  if (*moved != 1) return fail(Status::not_found(no_build(name, build)));
  if (Status status = db.commit(); !status.ok()) return fail(status);
  return Status();
}

}  // namespace read_model_registry

SqlProjectionSink::SqlProjectionSink(std::string name, std::int64_t build, std::string table_suffix)
    : name_(std::move(name)), build_(build), table_suffix_(std::move(table_suffix)) {}

Result<std::optional<Position>> SqlProjectionSink::checkpoint() {
  return read_model_registry::read_position(session(), name_, build_);
}

Status SqlProjectionSink::apply(std::span<const RecordedEvent> events, Position checkpoint) {
  return read_model_registry::apply_batch(
      session(), name_, build_, table_suffix_, events, checkpoint,
      [&](const RecordedEvent& event) { return apply_event(event, table_suffix_); });
}

Result<std::string> serving_table_suffix(SqlSession& db, std::string_view name) {
  Result<SqlRows> rows =
      db.query("SELECT suffix FROM evsrc_projections WHERE name = $1 AND role = 'serving'", {name});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::not_found("no build of projection " + std::string(name) + " is serving");
  return rows->text(0, 0);
}

Result<std::vector<ReadModelBuild>> list_read_model_builds(SqlSession& db, std::string_view name) {
  Result<SqlRows> rows = db.query(
      "SELECT name, build, version, suffix, role, position, state, error"
      " FROM evsrc_projections WHERE $1 = '' OR name = $1 ORDER BY name, build",
      {name});
  if (!rows.ok()) return rows.status();
  std::vector<ReadModelBuild> builds;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    ReadModelBuild build;
    build.name = rows->text(i, 0);
    build.build = rows->integer(i, 1);
    build.version = static_cast<std::uint32_t>(rows->integer(i, 2));
    build.table_suffix = rows->text(i, 3);
    const std::optional<ReadModelBuildRole> role = read_model_registry::parse_role(rows->text(i, 4));
    if (!role) return Status::corruption("evsrc_projections: unknown role '" + rows->text(i, 4) + "'");
    build.role = *role;
    if (!rows->is_null(i, 5)) build.position = static_cast<Position>(rows->integer(i, 5));
    build.state = rows->text(i, 6);
    build.error = rows->text(i, 7);
    builds.push_back(std::move(build));
  }
  return builds;
}

}  // namespace evsrc
