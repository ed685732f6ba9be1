#include "postgres/postgres_snapshot_store.h"

#include <algorithm>
#include <cstdint>

#include "core/snapshot_keys.h"
#include "postgres/binary_format.h"

namespace evsrc::pg {

Status PostgresSnapshotStore::put(const Snapshot& snapshot) {
  if (Status valid = snapshot_keys::validate(snapshot.stream, snapshot.view); !valid.ok()) return valid;
  Result<ConnectionPool::Lease> db = pool_.acquire();
  if (!db.ok()) return db.status();
  return (*db)
      ->execute(
          "INSERT INTO evsrc_snapshots (stream, view, view_version, revision, state) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (stream, view, view_version, revision) DO UPDATE SET state = EXCLUDED.state",
          {snapshot.stream, PostgresValue::bytes(snapshot.view), snapshot.view_version, snapshot.revision,
           PostgresValue::bytes(snapshot.state)})
      .status();
}

Result<std::optional<Snapshot>> PostgresSnapshotStore::find(std::string_view stream, std::string_view view,
                                                            std::uint32_t view_version, StreamRevision at_or_before) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<ConnectionPool::Lease> db = pool_.acquire();
  if (!db.ok()) return db.status();
  // Revisions are stored as bigint: anything above its range means "the newest".
  const std::int64_t at_most = static_cast<std::int64_t>(std::min<StreamRevision>(at_or_before, INT64_MAX));
  const PostgresValue params[] = {stream, PostgresValue::bytes(view), view_version, at_most};
  Result<PostgresRows> rows = (*db)->query_binary(
      "SELECT revision, state FROM evsrc_snapshots WHERE stream = $1 AND view = $2 AND view_version = $3 AND "
      "revision <= $4 ORDER BY revision DESC LIMIT 1",
      params);
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return std::optional<Snapshot>();
  return std::optional<Snapshot>(Snapshot{std::string(stream), std::string(view), view_version,
                                          static_cast<StreamRevision>(read_int8(rows->value(0, 0))),
                                          rows->text(0, 1)});
}

Result<std::vector<StreamRevision>> PostgresSnapshotStore::list(std::string_view stream, std::string_view view,
                                                                std::uint32_t view_version) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<ConnectionPool::Lease> db = pool_.acquire();
  if (!db.ok()) return db.status();
  Result<PostgresRows> rows = (*db)->query(
      "SELECT revision FROM evsrc_snapshots WHERE stream = $1 AND view = $2 AND view_version = $3 ORDER BY revision",
      {stream, PostgresValue::bytes(view), view_version});
  if (!rows.ok()) return rows.status();
  std::vector<StreamRevision> revisions;
  for (int row = 0; row < rows->rows(); ++row) revisions.push_back(static_cast<StreamRevision>(rows->integer(row, 0)));
  return revisions;
}

Status PostgresSnapshotStore::erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                    StreamRevision revision) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<ConnectionPool::Lease> db = pool_.acquire();
  if (!db.ok()) return db.status();
  return (*db)
      ->execute("DELETE FROM evsrc_snapshots WHERE stream = $1 AND view = $2 AND view_version = $3 AND revision = $4",
                {stream, PostgresValue::bytes(view), view_version, revision})
      .status();
}

}  // namespace evsrc::pg
