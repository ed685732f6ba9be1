// The memory: backend: the whole contract in process memory, for tests and
// for users' unit tests. Nothing survives close().
#pragma once

#include <memory>

#include "evsrc/event_store.h"

namespace evsrc {

Result<std::unique_ptr<EventStore>> new_memory_store(const StoreOptions& options);

}  // namespace evsrc
