// Placeholder while the engine is being written in this session; replaced
// before any commit that claims the file: backend works.
#include "engine/file_store.h"

namespace evsrc {

Result<std::unique_ptr<EventStore>> open_file_store(const std::string& path, const StoreOptions& options) {
  return Status::io_error("file: backend not built yet");
}

}  // namespace evsrc
