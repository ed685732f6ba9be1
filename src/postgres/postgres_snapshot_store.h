// The PostgreSQL backend's snapshot store: table evsrc_snapshots, one row per
// (stream, view, view_version, revision), through the store's pool.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <atomic>

#include "evsrc/snapshot_store.h"
#include "postgres/connection_pool.h"

namespace evsrc::pg {

class PostgresSnapshotStore final : public SnapshotStore {
 public:
  explicit PostgresSnapshotStore(ConnectionPool& pool) : pool_(pool) {}
  Status put(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> find(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                       StreamRevision at_or_before) override;
  Result<std::vector<StreamRevision>> list(std::string_view stream, std::string_view view,
                                           std::uint32_t view_version) override;
  Status erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
               StreamRevision revision) override;

 private:
  ConnectionPool& pool_;
};

}  // namespace evsrc::pg
