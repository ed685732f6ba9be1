// StoreOptions: how a store is opened. Plain struct; defaults written inline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace evsrc {

class Env;

struct Limits {
  // Largest accepted event: type + data + metadata + content type. Larger
  // events fail with too_large and change nothing.
  std::size_t max_event_bytes = 1 << 20;
  // Most events in one append or one transaction.
  std::size_t max_events_per_batch = 100'000;
  // Most total event bytes in one append or one transaction.
  std::size_t max_batch_bytes = 64 << 20;
};

struct StoreOptions {
  Limits limits;

  // --- embedded engine (file:) only ---

  // File system used for every file the engine touches. nullptr means the
  // real POSIX file system. Tests pass in-memory or fault-injecting Envs.
  // Not owned; must outlive the store.
  Env* env = nullptr;

  // Maximum bytes of one log segment. Segments are preallocated to this size.
  std::uint64_t segment_bytes = 256ull << 20;

  // Durability: when true (the default), an append returns only after its
  // records are on stable storage (write() + fdatasync()). When false, an
  // acknowledged append survives a process crash but may be lost on power
  // failure or OS crash.
  bool sync = true;

  // When true (the default), open verifies the checksum of every record in
  // every segment and fails with corruption if one is damaged, and checks
  // every block checksum of the index, rebuilding a damaged index from the
  // log. When false, only the tail written since the last index checkpoint is
  // verified (open cost no longer grows with the size of the store); a damaged
  // index block is then reported as corruption when a read reaches it.
  bool verify_all_on_open = true;

  // Most bytes the encoder takes from the queue at once into a group commit.
  std::size_t max_group_bytes = 8 << 20;

  // Memory budget of the RocksDB block cache used by the indexes.
  std::size_t index_cache_bytes = 64 << 20;

  // Memory budget of the writer's cache of stream heads (revision, lifecycle;
  // never custom metadata). Streams not used recently are dropped from it
  // after a group commit once it is over budget, and read from the index
  // again when next written, so the writer's memory does not grow with the
  // number of streams.
  std::size_t stream_cache_bytes = 32 << 20;

  // When true (the default), reads take their bytes from a read-only memory
  // mapping of each log segment instead of copying them with pread() (where
  // the Env can map: the real file system). Faster reads, one caveat: a disk
  // error while a mapped page is read ends the process (SIGBUS) instead of
  // failing the read with io_error. `evsrc verify` reads without mappings so
  // that it reports damage. Checksums are verified either way.
  bool mmap_reads = true;
};

}  // namespace evsrc
