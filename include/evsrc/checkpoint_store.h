// CheckpointStore: named positions kept by processes that follow $all
// outside a read model's own transaction (the Kinesis forwarder, DESIGN §6).
//
// A checkpoint is the last position whose effects are durable elsewhere; a
// follower restarts after it. Saving is atomic: after a crash load() returns
// the old or the new value, never a torn one.
//
//   open_file_checkpoints(dir): one file per name in `dir` (created when
//     absent), replaced atomically (write to a temporary file, fsync, rename,
//     fsync the directory).
//   open_dynamodb_checkpoints(uri) (dynamodb.h): items of the table
//     <prefix>_checkpoints of a dynamodb:// store.
//
// Thread-safety: every method may be called concurrently; two writers of one
// name must not race (last save wins).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // The saved position of `name`; nullopt when none was saved.
  // invalid_argument for a name that is empty, longer than 255 bytes, or
  // holds '/', NUL or control characters.
  virtual Result<std::optional<Position>> load(std::string_view name) = 0;
  virtual Status save(std::string_view name, Position position) = 0;
};

Result<std::unique_ptr<CheckpointStore>> open_file_checkpoints(const std::string& directory);

// Checks a checkpoint name (see load()).
Status validate_checkpoint_name(std::string_view name);

}  // namespace evsrc
