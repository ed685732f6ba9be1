// The file: backend: the embedded, crash-safe engine (DESIGN §3).
#pragma once

#include <memory>
#include <string>

#include "evsrc/event_store.h"

namespace evsrc {

// Opens (creating when absent) the store in directory `path`, recovering
// from a crash if needed.
Result<std::unique_ptr<EventStore>> open_file_store(const std::string& path, const StoreOptions& options);

// Checks the derived index of the store in directory `path` (on the real
// file system) without changing anything: RocksDB's own files (CURRENT,
// MANIFEST, table files and their block checksums) and the checkpoint.
// Sets *damage to what is wrong (naming the file), or clears it when the
// index is sound. Holds the store's lock while it reads: fails (io_error)
// when the store is open elsewhere. A damaged index is rebuilt from the log
// by the next open.
Status check_file_store_index(const std::string& path, std::string* damage);

}  // namespace evsrc
