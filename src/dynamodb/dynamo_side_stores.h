// The DynamoDB backend's tables beside the events: snapshots
// (<prefix>_snapshots: key = stream NUL view NUL version, range = revision)
// and checkpoints (<prefix>_checkpoints: key = name).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dynamodb/dynamo_client.h"
#include "evsrc/checkpoint_store.h"
#include "evsrc/snapshot_store.h"

namespace evsrc::dynamo {

// The snapshots of a store; calls fail with closed once `closed` is set.
class DynamoSnapshotStore final : public SnapshotStore {
 public:
  // REQUIRES: `client` and `closed` outlive the object.
  DynamoSnapshotStore(DynamoClient& client, const DynamoUri& uri, const std::atomic<bool>& closed);

  Status put(const Snapshot& snapshot) override;
  Result<std::optional<Snapshot>> find(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                       StreamRevision at_or_before) override;
  Result<std::vector<StreamRevision>> list(std::string_view stream, std::string_view view,
                                           std::uint32_t view_version) override;
  Status erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
               StreamRevision revision) override;

 private:
  DynamoClient& client_;
  const std::string table_;
  const std::atomic<bool>& closed_;
};

class DynamoCheckpoints final : public CheckpointStore {
 public:
  DynamoCheckpoints(std::unique_ptr<DynamoClient> client, const DynamoUri& uri);

  Result<std::optional<Position>> load(std::string_view name) override;
  Status save(std::string_view name, Position position) override;

 private:
  std::unique_ptr<DynamoClient> client_;
  const std::string table_;
};

}  // namespace evsrc::dynamo
