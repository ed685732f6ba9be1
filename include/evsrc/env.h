// Env: every file operation of the embedded engine goes through this
// interface, so tests can run the engine on an in-memory file system or inject
// faults (failed writes, failed fsync, ENOSPC, lost unsynced data).
//
// Paths are plain strings joined with '/'. Implementations: Env::posix()
// (the real file system), new_memory_env() (in-process), and
// FaultInjectionEnv (wraps another Env; see fault_injection_env.h).
//
// Thread-safety: Env methods may be called concurrently. A File may be used
// by several threads for read_at(); write_at/sync/allocate/truncate/close are
// called by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/status.h"

namespace evsrc {

class File {
 public:
  virtual ~File() = default;
  // Writes all of `data` at `offset` (the file grows if needed).
  virtual Status write_at(std::uint64_t offset, std::string_view data) = 0;
  // Reads up to `n` bytes at `offset` into `scratch`; sets *bytes_read (less
  // than n only at end of file).
  virtual Status read_at(std::uint64_t offset, std::size_t n, char* scratch, std::size_t* bytes_read) const = 0;
  // Makes everything written so far durable (fdatasync). A failure means the
  // written data may be lost: callers must not retry on the same data.
  virtual Status sync() = 0;
  // Reserves space so that the file is at least `size` bytes (zero-filled).
  virtual Status allocate(std::uint64_t size) = 0;
  virtual Status truncate(std::uint64_t size) = 0;
  virtual Result<std::uint64_t> size() const = 0;
  virtual Status close() = 0;
  // Maps the file's first `size` bytes read-only into memory and returns
  // their address, or nullptr when this File does not map or is shorter than
  // `size` (the caller then uses read_at). The mapping lives as long as the
  // File (close() keeps it).
  // Reading a mapped byte past the file's end, or one the disk cannot
  // deliver, raises SIGBUS: map only files that are not truncated while
  // mapped, and read only bytes known to be written.
  virtual const char* map_read_only(std::uint64_t size) { return nullptr; }
};

// Held while a store is open; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  enum class OpenMode : std::uint8_t { read_only, read_write, create };
  // `create` creates the file when absent (and opens it read-write).
  // unavailable when the process or system is out of file descriptors
  // (nothing was created); io_error for other failures.
  virtual Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) = 0;
  virtual bool file_exists(const std::string& path) = 0;
  // Creates the directory and its parents; ok if it exists.
  virtual Status create_dirs(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status sync_dir(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  // An exclusive lock on `path` (created if absent), so two processes never
  // open the same store. io_error when another holder has it.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) = 0;
  // True when files do not live on the real file system (the engine then
  // keeps its indexes in memory too).
  virtual bool in_memory() const { return false; }
  // Called before the engine writes a batch to a database it keeps beside
  // the log (the derived index, in RocksDB, whose files do not go through
  // this Env). An error makes that write fail as an I/O failure of the
  // index would (a fault-injecting Env uses this); the default allows it.
  virtual Status before_index_write(const std::string& path) { return Status(); }

  // The real file system. Never destroyed.
  static Env* posix();
};

// A fresh, empty in-memory file system. Data lives as long as the Env.
std::unique_ptr<Env> new_memory_env();

}  // namespace evsrc
