// The file: backend's snapshot store: a RocksDB of its own in
// <store directory>/snapshots, separate from the index so rebuilding the index
// from the log never touches snapshots, and with RocksDB's WAL (unsynced):
// snapshots are a cache, so a crash may lose the newest ones but never leaves
// a half-written one.
//
// Thread-safety: every method may be called concurrently; close() waits for
// calls in flight.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "evsrc/snapshot_store.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace evsrc {

class SnapshotDb final : public SnapshotStore {
 public:
  // Opens (creating) the database at `path`; `in_memory` keeps it in memory
  // (for stores on an in-memory Env).
  static Result<std::unique_ptr<SnapshotDb>> open(const std::string& path, bool in_memory);
  // Removes the database at `path` (a new store starts without snapshots).
  static Status destroy(const std::string& path, bool in_memory);
  ~SnapshotDb() override;

  Status put(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> find(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                       StreamRevision at_or_before) override;
  Result<std::vector<StreamRevision>> list(std::string_view stream, std::string_view view,
                                           std::uint32_t view_version) override;
  Status erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
               StreamRevision revision) override;
  // Closes the database; every later call fails with closed.
  Status close();

 private:
  SnapshotDb() = default;

  std::shared_mutex mutex_;  // exclusive only for close()
  std::unique_ptr<rocksdb::Env> memory_env_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace evsrc
