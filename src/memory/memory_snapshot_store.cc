#include "memory/memory_snapshot_store.h"

#include "core/snapshot_keys.h"

namespace evsrc {
namespace {

Status closed_status() { return Status::closed("store is closed"); }

}  // namespace

Status MemorySnapshotStore::put(const Snapshot& snapshot) {
  if (Status valid = snapshot_keys::validate(snapshot.stream, snapshot.view); !valid.ok()) return valid;
  const std::string series = snapshot_keys::series(snapshot.stream, snapshot.view, snapshot.view_version);
  std::lock_guard lock(mutex_);
  if (closed_) return closed_status();
  states_.insert_or_assign(snapshot_keys::key(series, snapshot.revision), snapshot.state);
  return Status();
}

Result<std::optional<Snapshot>> MemorySnapshotStore::find(std::string_view stream, std::string_view view,
                                                          std::uint32_t view_version, StreamRevision at_or_before) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string series = snapshot_keys::series(stream, view, view_version);
  std::lock_guard lock(mutex_);
  if (closed_) return closed_status();
  auto it = states_.upper_bound(snapshot_keys::key(series, at_or_before));
  if (it == states_.begin()) return std::optional<Snapshot>();
  --it;
  const std::optional<StreamRevision> revision = snapshot_keys::revision_in(it->first, series);
  if (!revision) return std::optional<Snapshot>();
  return std::optional<Snapshot>(Snapshot{std::string(stream), std::string(view), view_version, *revision, it->second});
}

Result<std::vector<StreamRevision>> MemorySnapshotStore::list(std::string_view stream, std::string_view view,
                                                              std::uint32_t view_version) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string series = snapshot_keys::series(stream, view, view_version);
  std::lock_guard lock(mutex_);
  if (closed_) return closed_status();
  std::vector<StreamRevision> revisions;
  for (auto it = states_.lower_bound(series); it != states_.end(); ++it) {
    const std::optional<StreamRevision> revision = snapshot_keys::revision_in(it->first, series);
    if (!revision) break;
    revisions.push_back(*revision);
  }
  return revisions;
}

Status MemorySnapshotStore::erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                  StreamRevision revision) {
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  const std::string key = snapshot_keys::key(snapshot_keys::series(stream, view, view_version), revision);
  std::lock_guard lock(mutex_);
  if (closed_) return closed_status();
  states_.erase(key);
  return Status();
}

void MemorySnapshotStore::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  states_.clear();
}

}  // namespace evsrc
