// The file: backend: the embedded, crash-safe engine (DESIGN §3).
#pragma once

#include <memory>
#include <string>

#include "evsrc/event_store.h"

namespace evsrc {

// Opens (creating when absent) the store in directory `path`, recovering
// from a crash if needed.
Result<std::unique_ptr<EventStore>> open_file_store(const std::string& path, const StoreOptions& options);

}  // namespace evsrc
