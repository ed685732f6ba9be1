// The evsrc_projections registry over any SqlSession (see read_model_sql.h
// for the table), and the exactly-once batch that read-model sinks share.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "evsrc/read_model_sql.h"
#include "evsrc/types.h"

namespace evsrc::read_model_registry {

// Creates the table when absent.
Status ensure_schema(SqlSession& db);

// Inserts a new build of `name` at `version` with `role` (build number and
// table suffix chosen here) and returns it. Call inside a transaction that
// also creates its tables.
Result<ReadModelBuild> insert_build(SqlSession& db, std::string_view name, std::uint32_t version,
                                    ReadModelBuildRole role);

Status set_role(SqlSession& db, std::string_view name, std::int64_t build, ReadModelBuildRole role);

// The checkpoint of one build; not_found when the row does not exist.
Result<std::optional<Position>> read_position(SqlSession& db, std::string_view name, std::int64_t build);

// Records a failure outside any batch transaction.
Status write_failure(SqlSession& db, std::string_view name, std::int64_t build, std::string_view error);

std::optional<ReadModelBuildRole> parse_role(std::string_view text);

// Exactly-once: in ONE transaction of `db`, `apply_event` for every event,
// then the build's checkpoint moves to `checkpoint`. Any failure rolls the
// whole batch back (checkpoint included) and is recorded in the build's row
// (best effort); the error names the event it failed at.
Status apply_batch(SqlSession& db, std::string_view name, std::int64_t build, std::string_view table_suffix,
                   std::span<const RecordedEvent> events, Position checkpoint,
                   const std::function<Status(const RecordedEvent&)>& apply_event);

}  // namespace evsrc::read_model_registry
