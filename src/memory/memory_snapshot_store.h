// The memory: backend's snapshot store: an ordered map under a mutex.
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "evsrc/snapshot_store.h"

namespace evsrc {

class MemorySnapshotStore final : public SnapshotStore {
 public:
  Status put(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> find(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                       StreamRevision at_or_before) override;
  Result<std::vector<StreamRevision>> list(std::string_view stream, std::string_view view,
                                           std::uint32_t view_version) override;
  Status erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
               StreamRevision revision) override;
  // Every later call fails with closed.
  void close();

 private:
  std::mutex mutex_;
  std::map<std::string, std::string, std::less<>> states_;  // snapshot key -> state
  bool closed_ = false;
};

}  // namespace evsrc
