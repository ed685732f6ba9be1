// FaultInjectionEnv: an Env wrapper for crash and fault tests.
//
// It forwards every call to a base Env and adds two things:
//
// 1. Faults on demand. A rule makes the n-th future operation (of one kind, or
//    of any mutating kind) fail with EIO, with ENOSPC, with EMFILE, or with a
//    short write (half the bytes reach the file, then ENOSPC). A countdown makes every
//    mutating operation fail once n more have run: the disk died. Counters of
//    operations performed let a test enumerate every step of a commit: run it
//    once to count the N mutating operations it takes, then for k in 0..N-1
//    run it again with a fault at operation k.
//
// 2. Power loss. The wrapper remembers, for every file written through it, the
//    image it had at its last successful sync() (as the size then plus an undo
//    log of the bytes overwritten below that size since), and for every
//    directory the entries created, renamed and removed since its last
//    successful sync_dir(). drop_unsynced_data() puts the base file system
//    back into that durable state: unsynced entry changes are undone (newest
//    first; a file whose creation was never made durable disappears), then
//    every file gets back exactly its last synced bytes.
//
// A failed sync() behaves as Linux's does ("fsyncgate"): the written pages
// are marked clean without reaching the disk. They keep reading back as
// written, but a later successful sync does not make them durable; only
// writing those bytes again does. So a process that reopens a file after a
// failed sync and trusts what it reads loses that data at the next power
// loss, exactly as on a real kernel.
//
// Model and its limits: the durable state is the POSIX worst case, "only what
// was fsync'ed survives"; nothing unsynced survives partially. Directories
// themselves (create_dirs) are never undone, since Env cannot remove them. A
// rename between two directories is durable once either directory is synced.
// Files that existed before they were first touched through this wrapper
// count as durable.
//
// Usage for a power loss: stop the code under test (close or destroy the
// store; with fail_after(0) first if it must not write anything more), then
// drop_unsynced_data(), then reopen on the same Env. File handles opened
// before drop_unsynced_data() fail every later call.
//
// Thread-safety: every method may be called concurrently, except that
// drop_unsynced_data() must not race with file operations through this Env.
// The observer runs on the calling thread, outside the wrapper's lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/env.h"

namespace evsrc {

// Kinds of operation seen by FaultInjectionEnv. `create` is open_file() with
// OpenMode::create; `open` is open_file() with any other mode.
enum class EnvOp : std::uint8_t {
  open,
  create,
  read,
  write,
  sync,
  allocate,
  truncate,
  size,
  close,
  file_exists,
  create_dirs,
  sync_dir,
  list_dir,
  remove,
  rename,
  lock,
  index_write,  // Env::before_index_write: a batch written to the index
};

// "write", "sync_dir", ...
std::string_view env_op_name(EnvOp op);

// True for the operations that change the file system: create, write, sync,
// allocate, truncate, create_dirs, sync_dir, remove, rename. These are the
// steps counted by mutation_count() and targeted by fail_nth_mutation() and
// fail_after().
bool is_mutating(EnvOp op);

enum class FaultKind : std::uint8_t {
  io_error,     // EIO: nothing happens
  no_space,     // ENOSPC: nothing happens
  short_write,  // writes: the first half of the bytes are written, then
                // ENOSPC; other operations: like no_space
  no_descriptors,  // EMFILE (unavailable, as the posix Env reports it):
                   // nothing happens; meant for open and create
};

class FaultInjectionEnv final : public Env {
 public:
  // `base` is not owned and must outlive this Env.
  explicit FaultInjectionEnv(Env* base);
  ~FaultInjectionEnv() override;

  // --- Env ---
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  bool file_exists(const std::string& path) override;
  Status create_dirs(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Status remove_file(const std::string& path) override;
  Status rename_file(const std::string& from, const std::string& to) override;
  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override;
  bool in_memory() const override;
  Status before_index_write(const std::string& path) override;

  // --- faults ---

  // The n-th (0 = the next) future operation of kind `op` fails with `fault`.
  // Several rules may be pending; each fires once.
  void fail_nth(EnvOp op, std::uint64_t n, FaultKind fault = FaultKind::io_error);
  // The n-th (0 = the next) future mutating operation of any kind fails.
  void fail_nth_mutation(std::uint64_t n, FaultKind fault = FaultKind::io_error);
  // After n more mutating operations, every mutating operation fails with
  // `fault` (and every read, size, list_dir and open too when `fail_reads`)
  // until reset(). fail_after(0) fails from the next operation on.
  void fail_after(std::uint64_t n, FaultKind fault = FaultKind::io_error, bool fail_reads = false);
  // Clears every pending rule and the countdown. Counters and the tracking of
  // unsynced data are kept.
  void reset();

  // --- counters (since construction or reset_counters()) ---
  std::uint64_t count(EnvOp op) const;
  std::uint64_t mutation_count() const;  // sum of count() over mutating kinds
  std::uint64_t injected_faults() const;
  void reset_counters();

  // Called before every operation (also the ones that then fail) with its
  // kind and path. Pass an empty function to remove it.
  using Observer = std::function<void(EnvOp op, const std::string& path)>;
  void set_observer(Observer observer);

  // --- power loss ---

  // Puts the base file system back to its durable state (see above) and
  // starts tracking afresh from it. Faults and counters are untouched.
  // REQUIRES: no operation through this Env runs concurrently.
  Status drop_unsynced_data();
  // Bytes written (or cut by truncate) since their file's last sync, and
  // bytes a failed sync left stale; with the directory entry changes not yet
  // synced, 0 means a power loss now would lose nothing.
  std::uint64_t unsynced_bytes() const;
  std::uint64_t unsynced_dir_entries() const;

 private:
  class FaultFile;
  struct FileState;
  struct DirChange;
  struct Rule {
    std::optional<EnvOp> op;  // nullopt: any mutating operation
    std::uint64_t remaining;
    FaultKind fault;
  };

  // Counts `op`, runs the observer and returns the fault to inject, if any.
  std::optional<FaultKind> before(EnvOp op, const std::string& path);
  static Status fault_status(FaultKind fault, EnvOp op, const std::string& path);

  // REQUIRES: mutex_ held.
  std::shared_ptr<FileState> state_for_locked(const std::string& path, std::uint64_t durable_size);
  // The bytes the file at `path` had at its last sync (base content with the
  // undo log applied). REQUIRES: mutex_ held.
  Result<std::string> synced_image_locked(const std::string& path);
  Status restore_file(const std::string& path, const std::string& bytes);

  Env* const base_;

  mutable std::mutex mutex_;
  std::vector<Rule> rules_;
  std::optional<std::uint64_t> countdown_;  // mutating operations left before the disk dies
  FaultKind countdown_fault_ = FaultKind::io_error;
  bool countdown_fails_reads_ = false;
  std::map<EnvOp, std::uint64_t> counts_;
  std::uint64_t injected_ = 0;
  std::shared_ptr<const Observer> observer_;

  // Files with writes since their last sync, by current path.
  std::map<std::string, std::shared_ptr<FileState>> files_;
  // Entry changes not yet made durable, oldest first.
  std::vector<DirChange> dir_changes_;
  // Bumped by drop_unsynced_data(); handles of older generations are stale.
  std::uint64_t generation_ = 0;
};

}  // namespace evsrc
