#include "postgres/postgres_schema.h"

#include <array>
#include <string_view>

namespace evsrc::pg {
namespace {

// migrations[i] takes the schema from version i to i + 1. Append only: a
// released migration never changes.
constexpr std::array<std::string_view, kPostgresSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE evsrc_head (
  id integer PRIMARY KEY CHECK (id = 1),
  last_position bigint NOT NULL DEFAULT -1,
  last_recorded_at bigint NOT NULL DEFAULT 0,
  events bigint NOT NULL DEFAULT 0,
  streams bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0);
INSERT INTO evsrc_head (id) VALUES (1);
CREATE TABLE evsrc_streams (
  name text COLLATE "C" PRIMARY KEY,
  last_revision bigint,
  last_position bigint,
  visible_from bigint NOT NULL DEFAULT 0,
  soft_deleted boolean NOT NULL DEFAULT false,
  tombstoned boolean NOT NULL DEFAULT false,
  max_count bigint,
  max_age_s bigint,
  truncate_before bigint,
  custom bytea NOT NULL DEFAULT '');
CREATE TABLE evsrc_events (
  position bigint PRIMARY KEY,
  stream text COLLATE "C" NOT NULL,
  revision bigint NOT NULL,
  id uuid NOT NULL UNIQUE,
  type bytea NOT NULL,
  data bytea NOT NULL,
  metadata bytea NOT NULL,
  content_type bytea NOT NULL,
  recorded_at bigint NOT NULL,
  UNIQUE (stream, revision));
CREATE TABLE evsrc_snapshots (
  stream text COLLATE "C" NOT NULL,
  view bytea NOT NULL,
  view_version bigint NOT NULL,
  revision bigint NOT NULL,
  state bytea NOT NULL,
  PRIMARY KEY (stream, view, view_version, revision));
)sql",
};

}  // namespace

std::string notify_channel(const std::string& schema) { return "evsrc_commits_" + schema; }

Result<MigrationResult> migrate(PostgresConnection& connection, const std::string& schema) {
  if (Status status = connection.begin(); !status.ok()) return status;
  const auto fail = [&](Status status) -> Result<MigrationResult> {
    (void)connection.rollback();
    return status;
  };
  Result<PostgresRows> locked =
      connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", {"evsrc migrate " + schema});
  if (!locked.ok()) return fail(locked.status());
  if (Status status = connection.exec("CREATE TABLE IF NOT EXISTS evsrc_schema_version (version integer NOT NULL)");
      !status.ok()) {
    return fail(status);
  }
  Result<PostgresRows> rows = connection.query("SELECT version FROM evsrc_schema_version");
  if (!rows.ok()) return fail(rows.status());
  MigrationResult result;
  const bool has_row = rows->rows() > 0;
  result.version_before = has_row ? static_cast<int>(rows->integer(0, 0)) : 0;
  if (result.version_before > kPostgresSchemaVersion) {
    return fail(Status::corruption("schema " + schema + " has version " + std::to_string(result.version_before) +
                                   ", newer than this evsrc understands (" + std::to_string(kPostgresSchemaVersion) +
                                   "): upgrade evsrc"));
  }
  for (int version = result.version_before; version < kPostgresSchemaVersion; ++version) {
    if (Status status = connection.exec(kMigrations[version]); !status.ok()) {
      return fail(Status(status.code(), "migration to version " + std::to_string(version + 1) + ": " +
                                            status.message()));
    }
  }
  result.version_after = kPostgresSchemaVersion;
  if (result.version_after != result.version_before) {
    Result<std::int64_t> written =
        has_row ? connection.execute("UPDATE evsrc_schema_version SET version = $1", {result.version_after})
                : connection.execute("INSERT INTO evsrc_schema_version (version) VALUES ($1)", {result.version_after});
    if (!written.ok()) return fail(written.status());
  }
  if (Status status = connection.commit(); !status.ok()) return status;
  return result;
}

}  // namespace evsrc::pg
