// How the PostgreSQL backend reads its rows: the SELECT lists of events and
// stream heads and their decoding from binary results.
#pragma once

#include <optional>
#include <string>

#include "core/stream_state.h"
#include "evsrc/postgres_connection.h"
#include "evsrc/types.h"

namespace evsrc::pg {

// Columns of an event row, in the order decode_event() reads them.
inline constexpr const char* kEventColumns =
    "position, stream, revision, id, type, data, metadata, content_type, recorded_at";

// Columns of a stream row, in the order decode_stream() reads them.
inline constexpr const char* kStreamColumns =
    "last_revision, last_position, visible_from, soft_deleted, tombstoned, max_count, max_age_s, "
    "truncate_before, custom";

// REQUIRES: `rows` of a binary-result query selecting kEventColumns.
RecordedEvent decode_event(const PostgresRows& rows, int row);

// A stream's head as stored: its state and the position of its last event.
struct StreamRow {
  StreamState state;
  std::optional<Position> last_position;
};

// REQUIRES: `rows` of a binary-result query selecting kStreamColumns from
// column `first`.
StreamRow decode_stream(const PostgresRows& rows, int row, int first = 0);

}  // namespace evsrc::pg
