// SqliteProjectionSink: one SQLite transaction per batch holding the
// projection's updates and the build's checkpoint (exactly-once).
#include <utility>

#include "sqlite/sqlite_registry.h"

namespace evsrc {

SqliteProjectionSink::SqliteProjectionSink(SqliteDatabase& db, SqliteProjection& projection, std::string name,
                                           std::int64_t build, std::string table_suffix)
    : db_(db), projection_(projection), name_(std::move(name)), build_(build), table_suffix_(std::move(table_suffix)) {}

Result<std::optional<Position>> SqliteProjectionSink::checkpoint() {
  return sqlite_registry::read_position(db_, name_, build_);
}

Status SqliteProjectionSink::apply(std::span<const RecordedEvent> events, Position checkpoint) {
  auto fail = [&](Status status) {
    (void)db_.rollback();  // nothing of the batch stays, the checkpoint neither
    // Best effort: the runner reports the error anyway.
    (void)sqlite_registry::write_failure(db_, name_, build_, status.to_string());
    return status;
  };
  if (Status status = db_.begin(); !status.ok()) return fail(status);
  for (const RecordedEvent& event : events) {
    if (Status status = projection_.apply(db_, event, table_suffix_); !status.ok()) {
      return fail(Status(status.code(), "projection " + name_ + table_suffix_ + " at position " +
                                            std::to_string(event.position) + " (" + event.stream + "@" +
                                            std::to_string(event.revision) + "): " + status.message()));
    }
  }
  if (Status status = sqlite_registry::write_position(db_, name_, build_, checkpoint); !status.ok()) {
    return fail(status);
  }
  if (Status status = db_.commit(); !status.ok()) return fail(status);
  return Status();
}

}  // namespace evsrc
