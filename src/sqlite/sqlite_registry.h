// The evsrc_projections table: one row per build of a SQLite projection, its
// role (serving / building / retired / dropped) and its checkpoint (see
// sqlite_read_model.h for the schema and the meaning of the columns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/sqlite_read_model.h"

namespace evsrc::sqlite_registry {

// Creates the table when absent.
Status ensure_schema(SqliteDatabase& db);

// Inserts a new build of `name` at `version` with `role` (build number and
// table suffix chosen here) and returns it. Call inside a transaction that
// also creates its tables.
Result<SqliteBuild> insert_build(SqliteDatabase& db, std::string_view name, std::uint32_t version,
                                 SqliteBuildRole role);

Status set_role(SqliteDatabase& db, std::string_view name, std::int64_t build, SqliteBuildRole role);

// The checkpoint of one build; not_found when the row does not exist.
Result<std::optional<Position>> read_position(SqliteDatabase& db, std::string_view name, std::int64_t build);

// Moves the checkpoint (inside the batch's transaction).
Status write_position(SqliteDatabase& db, std::string_view name, std::int64_t build, Position position);

// Records a failure outside any batch transaction.
Status write_failure(SqliteDatabase& db, std::string_view name, std::int64_t build, std::string_view error);

std::optional<SqliteBuildRole> parse_role(std::string_view text);

}  // namespace evsrc::sqlite_registry
