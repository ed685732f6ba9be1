// The PostgreSQL backend's tables and their versioned migrations.
//
//   evsrc_schema_version(version)        one row: the schema's version
//   evsrc_head(id = 1, last_position, last_recorded_at, events, streams, bytes)
//       the single row every write transaction locks first (FOR UPDATE) and
//       holds until COMMIT: it serialises writers, so positions are assigned
//       and become visible in commit order (no skipped events), and it
//       carries the store's totals
//   evsrc_streams(name, last_revision, last_position, visible_from,
//                 soft_deleted, tombstoned, max_count, max_age_s,
//                 truncate_before, custom)   one row per stream's head
//   evsrc_events(position PK, stream, revision, id UNIQUE, type, data,
//                metadata, content_type, recorded_at)  UNIQUE (stream, revision)
//   evsrc_snapshots(stream, view, view_version, revision, state)
//
// Stream names are text in the "C" collation (byte order, like every other
// backend); event fields that may hold any bytes are bytea; times are
// microseconds since the Unix epoch (bigint).
#pragma once

#include <string>

#include "evsrc/postgres.h"
#include "evsrc/postgres_connection.h"

namespace evsrc::pg {

// Migrates the connection's schema (search_path) to kPostgresSchemaVersion
// under an advisory lock. corruption when the schema is newer than this build.
// `schema` names the lock (one per schema).
Result<MigrationResult> migrate(PostgresConnection& connection, const std::string& schema);

// The channel NOTIFY wakes listeners on after each commit that wrote events.
std::string notify_channel(const std::string& schema);

}  // namespace evsrc::pg
