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
  // `map_reads`: map each segment for readers (StoreOptions::mmap_reads).
  SegmentSet(Env* env, std::string directory, bool map_reads)
      : env_(env), directory_(std::move(directory)), map_reads_(map_reads) {}

  // Opens every segment in the directory and checks their headers and that
  // numbers are contiguous. A last segment whose header is damaged was torn
  // while being created (nothing was ever written to it): it is removed.
  Status load();

  // Creates segment `number` starting at `first_position`: allocates
  // `capacity` bytes, writes and syncs the header, syncs the directory.
  Result<std::shared_ptr<const Segment>> create(std::uint64_t number, Position first_position,
                                                std::uint64_t capacity);

  std::shared_ptr<const SegmentList> snapshot() const;
  const std::string& directory() const { return directory_; }

  static std::string file_name(std::uint64_t number);

 private:
  // Maps `segment` when mapping is on and the file holds its whole capacity.
  void map(Segment& segment) const;

  Env* env_;
  std::string directory_;
  bool map_reads_;
  mutable std::mutex mutex_;
  std::shared_ptr<const SegmentList> segments_ = std::make_shared<SegmentList>();
};

}  // namespace evsrc
