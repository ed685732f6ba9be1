// SegmentSet: the log's segment files in <store>/log, their headers, and the
// creation of new (preallocated, header-written, synced) segments.
//
// Thread-safety: snapshot() may be called from any thread; load(), create()
// and remove_last() only by the thread that owns writing (open, then the
// writer thread).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/log_format.h"
#include "evsrc/env.h"

namespace evsrc {

struct Segment {
  log::SegmentHeader header;
  std::string path;
  std::shared_ptr<File> file;
  // The whole segment (header.capacity bytes) mapped read-only, or nullptr
  // (mapping off, not supported by the Env, or the file shorter than its
  // capacity): readers then copy with file->read_at(). Readers take only
  // bytes below the committed end from it, which are never rewritten.
  const char* mapped = nullptr;
};

using SegmentList = std::vector<std::shared_ptr<const Segment>>;

class SegmentSet {
 public:
  SegmentSet(Env* env, std::string directory) : env_(env), directory_(std::move(directory)) {}

  // Opens every segment in the directory and checks their headers and that
  // numbers are contiguous. A last segment whose header is damaged was torn
  // while being created (nothing was ever written to it): it is removed.
  Status load();

  // Creates segment `number` starting at `first_position`: allocates
  // `capacity` bytes, writes and syncs the header, syncs the directory.
  // unavailable (out of file descriptors) when the file could not be
  // created: nothing changed, a later call may succeed. Any other failure is
  // an io_error and may leave a torn file for load() to remove.
  Result<std::shared_ptr<const Segment>> create(std::uint64_t number, Position first_position,
                                                std::uint64_t capacity);

  std::shared_ptr<const SegmentList> snapshot() const;
  // From now on segments are mapped for readers (StoreOptions::mmap_reads):
  // the ones loaded or created so far (snapshots taken later see them
  // mapped) and every one created next. Called once recovery is done, so
  // that recovery reads with pread (a disk error fails the open with
  // io_error instead of faulting).
  void map_for_readers();
  const std::string& directory() const { return directory_; }

  static std::string file_name(std::uint64_t number);

 private:
  // Maps `segment` when mapping is on, within the bounds below, and the
  // file holds its whole capacity.
  void map(Segment& segment);
  static constexpr std::uint64_t kMinMappedSegmentBytes = 1 << 20;
  static constexpr std::size_t kMaxMappedSegments = 4096;  // 1 TiB of default-size segments

  Env* env_;
  std::string directory_;
  bool map_reads_ = false;
  std::size_t mapped_count_ = 0;  // by load() and create() (the owning thread)
  mutable std::mutex mutex_;
  std::shared_ptr<const SegmentList> segments_ = std::make_shared<SegmentList>();
};

}  // namespace evsrc
