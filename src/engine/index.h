// Index: the engine's derived indexes in RocksDB (DESIGN §3). Everything here
// can be rebuilt from the log; writes go without RocksDB's WAL and the
// checkpoint stored with every batch says how far the log has been applied.
// RocksDB keeps one column family, so after a crash the index holds a prefix
// of its batches and the checkpoint matches it.
//
// Keys (big-endian numbers so byte order sorts numerically):
//   "c"                         checkpoint
//   "s" name                    stream: id, head, lifecycle, metadata but
//                               its custom JSON
//   "m" name                    the stream's custom metadata JSON (absent
//                               when empty)
//   "e" stream_id revision      run of up to kMaxRunLength events of the
//                               stream, contiguous in the log, starting at
//                               that revision
//   "i" event_id                event location (idempotency, uniqueness)
//   "p" position                sparse: group and record location, every
//                               kSparseInterval positions
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/stream_state.h"
#include "engine/log_cursor.h"

namespace rocksdb {
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace evsrc {

inline constexpr Position kSparseInterval = 64;
inline constexpr std::uint32_t kMaxRunLength = 64;

struct EventLocation {
  Position position = 0;
  LogLocation record;
};

// Events first_revision .. first_revision + count - 1 of one stream, stored
// back to back in one group of the log starting at `first`.
struct EventRun {
  StreamRevision first_revision = 0;
  EventLocation first;
  std::uint32_t count = 0;
};

struct SparseEntry {
  LogLocation group;
  LogLocation record;
};

struct StreamEntry {
  std::uint64_t id = 0;
  StreamState state;
};

struct IndexCheckpoint {
  Position next_position = 0;  // log applied up to here (exclusive)
  LogLocation next_group;      // where the next group starts
  std::uint64_t next_stream_id = 0;
  std::uint64_t events = 0;
  std::uint64_t streams = 0;
  std::uint64_t bytes = 0;
  Timestamp last_recorded_at{};
};

class IndexBatch {
 public:
  IndexBatch();
  ~IndexBatch();
  // Writes the entry without entry.state.metadata.custom (see
  // put_custom_metadata).
  void put_stream(std::string_view name, const StreamEntry& entry);
  void put_custom_metadata(std::string_view name, std::string_view custom);
  void put_event_run(std::uint64_t stream_id, const EventRun& run);
  void put_event_id(const Uuid& id, const EventLocation& location);
  void put_sparse(Position position, const SparseEntry& entry);
  void put_checkpoint(const IndexCheckpoint& checkpoint);
  void clear();
  std::size_t count() const;
  void swap(IndexBatch& other) noexcept { batch_.swap(other.batch_); }

 private:
  friend class Index;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

class Index {
 public:
  // Opens (creating) the index at `path`; `in_memory` keeps it in memory.
  static Result<std::unique_ptr<Index>> open(const std::string& path, bool in_memory, std::size_t cache_bytes);
  // Removes the index at `path` entirely (before a rebuild from the log),
  // also when it is too damaged for RocksDB to recognise its files.
  static Status destroy(const std::string& path, bool in_memory);
  // Checks the index of a closed store without changing it: opens it read
  // only, reads its checkpoint and verifies every table file's checksums.
  // Returns ok, or the damage (corruption / io_error naming the file).
  static Status check(const std::string& path);
  ~Index();

  // Reads every block of every table file and checks its checksum.
  // corruption naming the file and offset when one is damaged.
  Status verify_checksums();

  Status write(IndexBatch& batch);
  // Persists everything written so far (used by a clean close).
  Status flush();

  Result<std::optional<IndexCheckpoint>> checkpoint();
  // The stream's entry; its metadata.custom is always empty (read it with
  // custom_metadata()).
  Result<std::optional<StreamEntry>> stream(std::string_view name);
  Result<std::string> custom_metadata(std::string_view name);
  // stream() with its custom metadata filled in, both read at one snapshot.
  Result<std::optional<StreamEntry>> stream_with_custom_metadata(std::string_view name);
  Result<std::optional<EventLocation>> event_id(const Uuid& id);
  // Greatest sparse entry at or before `position`, with its position.
  Result<std::optional<std::pair<Position, SparseEntry>>> sparse_floor(Position position);

  // Calls `visit(run)` for the runs of a stream that hold revisions from
  // `from` (inclusive) towards `to` (inclusive) in `direction`, starting with
  // the run that contains `from`, until it returns false.
  Status scan_stream(std::uint64_t stream_id, StreamRevision from, StreamRevision to, Direction direction,
                     const std::function<bool(const EventRun&)>& visit);
  // Streams with `prefix` in name order, after `after` (exclusive), until
  // `visit(name, entry)` returns false.
  Status scan_streams(std::string_view prefix, std::string_view after,
                      const std::function<bool(std::string_view, const StreamEntry&)>& visit);

 private:
  Index() = default;
  std::unique_ptr<rocksdb::Env> memory_env_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace evsrc
