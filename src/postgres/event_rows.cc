#include "postgres/event_rows.h"

#include "postgres/binary_format.h"

namespace evsrc::pg {
namespace {

std::optional<std::uint64_t> optional_int8(const PostgresRows& rows, int row, int column) {
  if (rows.is_null(row, column)) return std::nullopt;
  return static_cast<std::uint64_t>(read_int8(rows.value(row, column)));
}

}  // namespace

RecordedEvent decode_event(const PostgresRows& rows, int row) {
  RecordedEvent event;
  event.position = static_cast<Position>(read_int8(rows.value(row, 0)));
  event.stream = rows.text(row, 1);
  event.revision = static_cast<StreamRevision>(read_int8(rows.value(row, 2)));
  event.id = read_uuid(rows.value(row, 3));
  event.type = rows.text(row, 4);
  event.data = rows.text(row, 5);
  event.metadata = rows.text(row, 6);
  event.content_type = rows.text(row, 7);
  event.recorded_at = Timestamp(std::chrono::microseconds(read_int8(rows.value(row, 8))));
  return event;
}

StreamRow decode_stream(const PostgresRows& rows, int row, int first) {
  StreamRow stream;
  StreamState& state = stream.state;
  state.last_revision = optional_int8(rows, row, first);
  stream.last_position = optional_int8(rows, row, first + 1);
  state.visible_from = static_cast<StreamRevision>(read_int8(rows.value(row, first + 2)));
  state.soft_deleted = read_bool(rows.value(row, first + 3));
  state.tombstoned = read_bool(rows.value(row, first + 4));
  state.metadata.max_count = optional_int8(rows, row, first + 5);
  if (std::optional<std::uint64_t> age = optional_int8(rows, row, first + 6)) {
    state.metadata.max_age = std::chrono::seconds(*age);
  }
  state.metadata.truncate_before = optional_int8(rows, row, first + 7);
  state.metadata.custom = rows.text(row, first + 8);
  return stream;
}

}  // namespace evsrc::pg
