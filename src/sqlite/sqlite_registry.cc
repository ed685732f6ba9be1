// The evsrc_projections registry (see sqlite_registry.h).
#include "sqlite/sqlite_registry.h"

#include <chrono>

namespace evsrc {

std::string_view sqlite_build_role_name(SqliteBuildRole role) {
  switch (role) {
    case SqliteBuildRole::serving:
      return "serving";
    case SqliteBuildRole::building:
      return "building";
    case SqliteBuildRole::retired:
      return "retired";
    case SqliteBuildRole::dropped:
      return "dropped";
  }
  return "unknown";
}

namespace sqlite_registry {
namespace {

constexpr std::string_view kColumns = "name, build, version, suffix, role, position, state, error";

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

Result<SqliteBuild> read_build(const SqliteStatement& row) {
  SqliteBuild build;
  build.name = row.column_text(0);
  build.build = row.column_int64(1);
  build.version = static_cast<std::uint32_t>(row.column_int64(2));
  build.table_suffix = row.column_text(3);
  const std::optional<SqliteBuildRole> role = parse_role(row.column_text(4));
  if (!role) return Status::corruption("evsrc_projections: unknown role '" + row.column_text(4) + "'");
  build.role = *role;
  if (!row.column_is_null(5)) build.position = static_cast<Position>(row.column_int64(5));
  build.state = row.column_text(6);
  build.error = row.column_text(7);
  return build;
}

}  // namespace

std::optional<SqliteBuildRole> parse_role(std::string_view text) {
  for (SqliteBuildRole role :
       {SqliteBuildRole::serving, SqliteBuildRole::building, SqliteBuildRole::retired, SqliteBuildRole::dropped}) {
    if (sqlite_build_role_name(role) == text) return role;
  }
  return std::nullopt;
}

Status ensure_schema(SqliteDatabase& db) {
  return db.exec(
      "CREATE TABLE IF NOT EXISTS evsrc_projections ("
      " name TEXT NOT NULL,"
      " build INTEGER NOT NULL,"
      " version INTEGER NOT NULL,"
      " suffix TEXT NOT NULL,"
      " role TEXT NOT NULL,"
      " position INTEGER,"
      " state TEXT NOT NULL DEFAULT 'stopped',"
      " error TEXT NOT NULL DEFAULT '',"
      " updated_at TEXT NOT NULL DEFAULT '',"
      " PRIMARY KEY (name, build));"
      "CREATE UNIQUE INDEX IF NOT EXISTS evsrc_projections_serving ON evsrc_projections(name)"
      " WHERE role = 'serving';");
}

Result<SqliteBuild> insert_build(SqliteDatabase& db, std::string_view name, std::uint32_t version,
                                 SqliteBuildRole role) {
  Result<SqliteStatement> query = db.prepare(
      "SELECT COALESCE(MAX(build), 0) + 1,"
      " EXISTS(SELECT 1 FROM evsrc_projections WHERE name = ?1 AND suffix = ?2)"
      " FROM evsrc_projections WHERE name = ?1");
  if (!query.ok()) return query.status();
  SqliteBuild build;
  build.name = std::string(name);
  build.version = version;
  build.role = role;
  build.table_suffix = "_v" + std::to_string(version);
  if (Status status = query->bind_all({name, build.table_suffix}); !status.ok()) return status;
  Result<bool> row = query->step();
  if (!row.ok()) return row.status();
  build.build = query->column_int64(0);
  if (query->column_int64(1) != 0) build.table_suffix += "_b" + std::to_string(build.build);
  build.state = "stopped";
  if (Status status = db.execute(
          "INSERT INTO evsrc_projections (name, build, version, suffix, role, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          {name, build.build, version, build.table_suffix, sqlite_build_role_name(role), now_rfc3339()});
      !status.ok()) {
    return status;
  }
  return build;
}

Status set_role(SqliteDatabase& db, std::string_view name, std::int64_t build, SqliteBuildRole role) {
  return db.execute("UPDATE evsrc_projections SET role = ?, updated_at = ? WHERE name = ? AND build = ?",
                    {sqlite_build_role_name(role), now_rfc3339(), name, build});
}

Result<std::optional<Position>> read_position(SqliteDatabase& db, std::string_view name, std::int64_t build) {
  Result<SqliteStatement> query = db.prepare("SELECT position FROM evsrc_projections WHERE name = ? AND build = ?");
  if (!query.ok()) return query.status();
  if (Status status = query->bind_all({name, build}); !status.ok()) return status;
  Result<bool> row = query->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::not_found("projection " + std::string(name) + " has no build " + std::to_string(build));
  if (query->column_is_null(0)) return std::optional<Position>();
  return std::optional<Position>(static_cast<Position>(query->column_int64(0)));
}

Status write_position(SqliteDatabase& db, std::string_view name, std::int64_t build, Position position) {
  Status status = db.execute(
      "UPDATE evsrc_projections SET position = ?, state = 'running', error = '', updated_at = ?"
      " WHERE name = ? AND build = ?",
      {position, now_rfc3339(), name, build});
  if (status.ok() && db.changes() != 1) {
    return Status::not_found("projection " + std::string(name) + " has no build " + std::to_string(build));
  }
  return status;
}

Status write_failure(SqliteDatabase& db, std::string_view name, std::int64_t build, std::string_view error) {
  return db.execute(
      "UPDATE evsrc_projections SET state = 'failed', error = ?, updated_at = ? WHERE name = ? AND build = ?",
      {error, now_rfc3339(), name, build});
}

}  // namespace sqlite_registry

Result<std::string> serving_table_suffix(SqliteDatabase& db, std::string_view name) {
  Result<SqliteStatement> query =
      db.prepare("SELECT suffix FROM evsrc_projections WHERE name = ? AND role = 'serving'");
  if (!query.ok()) return query.status();
  if (Status status = query->bind_all({name}); !status.ok()) return status;
  Result<bool> row = query->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::not_found("no build of projection " + std::string(name) + " is serving");
  return query->column_text(0);
}

Result<std::vector<SqliteBuild>> list_sqlite_builds(SqliteDatabase& db, std::string_view name) {
  const std::string sql = "SELECT " + std::string(sqlite_registry::kColumns) +
                          " FROM evsrc_projections WHERE ?1 = '' OR name = ?1 ORDER BY name, build";
  Result<SqliteStatement> query = db.prepare(sql);
  if (!query.ok()) return query.status();
  if (Status status = query->bind_all({name}); !status.ok()) return status;
  std::vector<SqliteBuild> builds;
  while (true) {
    Result<bool> row = query->step();
    if (!row.ok()) return row.status();
    if (!*row) return builds;
    Result<SqliteBuild> build = sqlite_registry::read_build(*query);
    if (!build.ok()) return build.status();
    builds.push_back(std::move(*build));
  }
}

}  // namespace evsrc
