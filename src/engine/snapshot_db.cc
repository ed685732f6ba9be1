#include "engine/snapshot_db.h"

#include <mutex>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>

#include "core/snapshot_keys.h"

namespace evsrc {
namespace {

Status to_status(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status();
  std::string message = "snapshots " + std::string(what) + ": " + status.ToString();
  if (status.IsCorruption()) return Status::corruption(std::move(message));
  return Status::io_error(std::move(message));
}

Status closed_status() { return Status::closed("store is closed"); }

}  // namespace

Result<std::unique_ptr<SnapshotDb>> SnapshotDb::open(const std::string& path, bool in_memory) {
  std::unique_ptr<SnapshotDb> snapshots(new SnapshotDb());
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = rocksdb::Env::Default();
  if (in_memory) {
    snapshots->memory_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    options.env = snapshots->memory_env_.get();
  }
  rocksdb::DB* db = nullptr;
  if (Status status = to_status(rocksdb::DB::Open(options, path, &db), "open"); !status.ok()) return status;
  snapshots->db_.reset(db);
  return snapshots;
}

Status SnapshotDb::destroy(const std::string& path, bool in_memory) {
  if (in_memory) return Status();  // a fresh memory env starts empty
  return to_status(rocksdb::DestroyDB(path, rocksdb::Options()), "destroy");
}

SnapshotDb::~SnapshotDb() { (void)close(); }

Status SnapshotDb::put(const Snapshot& snapshot) {
  if (Status valid = snapshot_keys::validate(snapshot.stream, snapshot.view); !valid.ok()) return valid;
  const std::string key =
      snapshot_keys::key(snapshot_keys::series(snapshot.stream, snapshot.view, snapshot.view_version), snapshot.revision);
  std::shared_lock lock(mutex_);
  if (!db_) return closed_status();
  return to_status(db_->Put(rocksdb::WriteOptions(), key, snapshot.state), "put");
}

Result<std::optional<Snapshot>> SnapshotDb::find(std::string_view stream, std::string_view view,
                                                 std::uint32_t view_version, StreamRevision at_or_before) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string series = snapshot_keys::series(stream, view, view_version);
  std::shared_lock lock(mutex_);
  if (!db_) return closed_status();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(snapshot_keys::key(series, at_or_before));
  if (!it->Valid()) {
    if (Status status = to_status(it->status(), "find"); !status.ok()) return status;
    return std::optional<Snapshot>();
  }
  const std::optional<StreamRevision> revision = snapshot_keys::revision_in(it->key().ToStringView(), series);
  if (!revision) return std::optional<Snapshot>();
  return std::optional<Snapshot>(
      Snapshot{std::string(stream), std::string(view), view_version, *revision, it->value().ToString()});
}

Result<std::vector<StreamRevision>> SnapshotDb::list(std::string_view stream, std::string_view view,
                                                     std::uint32_t view_version) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string series = snapshot_keys::series(stream, view, view_version);
  std::shared_lock lock(mutex_);
  if (!db_) return closed_status();
  std::vector<StreamRevision> revisions;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(series); it->Valid(); it->Next()) {
    const std::optional<StreamRevision> revision = snapshot_keys::revision_in(it->key().ToStringView(), series);
    if (!revision) break;
    revisions.push_back(*revision);
  }
  if (Status status = to_status(it->status(), "list"); !status.ok()) return status;
  return revisions;
}

Status SnapshotDb::erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
                         StreamRevision revision) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string key = snapshot_keys::key(snapshot_keys::series(stream, view, view_version), revision);
  std::shared_lock lock(mutex_);
  if (!db_) return closed_status();
  return to_status(db_->Delete(rocksdb::WriteOptions(), key), "erase");
}

Status SnapshotDb::close() {
  std::unique_lock lock(mutex_);
  if (!db_) return Status();
  Status status = to_status(db_->Close(), "close");
  db_.reset();
  return status;
}

}  // namespace evsrc
