// LogCursor: reads the log's records in order, group by group and across
// segments, checking every checksum and that positions are contiguous.
// Used by recovery, $all reads and verification.
//
// Thread-safety: a cursor is used by one thread; many cursors may read the
// same segments concurrently with the writer (they never read past `end`).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/log_format.h"
#include "engine/segment_set.h"

namespace evsrc {

// Where a record or group lives: index into the segment list and byte offset.
struct LogLocation {
  std::uint32_t segment = 0;
  std::uint32_t offset = 0;
  friend bool operator==(const LogLocation&, const LogLocation&) = default;
};

class LogCursor {
 public:
  // Starts at the group header at `group`, whose first record has position
  // `position`. Records at positions >= `end` are never read.
  LogCursor(std::shared_ptr<const SegmentList> segments, LogLocation group, Position position, Position end);

  // Starts inside a group: `record` is the location of the record with
  // `position`, in the group whose header is at `group`.
  static Result<LogCursor> at_record(std::shared_ptr<const SegmentList> segments, LogLocation group,
                                     LogLocation record, Position position, Position end);

  // Reads the next record. Returns false at the end (position == end, or the
  // end of the written log when end is unbounded). corruption with the file
  // and offset on any damage. The record's views stay valid until next().
  Result<bool> next(log::LogRecord* record);

  Position position() const { return position_; }  // of the next record
  // Location of the record last returned and of its group.
  LogLocation record_location() const { return record_location_; }
  LogLocation group_location() const { return group_location_; }
  // Byte offset where the current group's records end (inside a group).
  std::uint64_t group_end() const { return group_end_; }
  // Where the next group would start (valid between groups).
  LogLocation next_group_location() const { return next_; }
  // Byte size of the framed record last returned.
  std::size_t record_size() const { return record_size_; }
  // The framed bytes of the record last returned (valid until next()).
  std::string_view record_bytes() const {
    return std::string_view(data() + (record_location_.offset - buffer_offset_), record_size_);
  }
  bool between_groups() const { return group_left_ == 0; }
  // Position of the first record of the current group.
  Position group_first_position() const { return group_first_position_; }

 private:
  Status fill(std::uint64_t offset, std::size_t bytes);
  Status damaged(const std::string& what, std::uint64_t offset) const;

  std::shared_ptr<const SegmentList> segments_;
  LogLocation next_;  // next thing to read: a group header or a record
  Position position_;
  Position end_;
  std::uint32_t group_left_ = 0;   // records left in the current group
  std::uint64_t group_end_ = 0;    // byte offset where the current group ends
  LogLocation group_location_;
  Position group_first_position_ = 0;
  LogLocation record_location_;
  std::size_t record_size_ = 0;
  // Bytes of segment buffer_segment_ from buffer_offset_: the segment's
  // mapping, or buffer_ (read with pread; its size is only capacity).
  const char* data() const { return mapped_ != nullptr ? mapped_ : buffer_.data(); }
  const char* mapped_ = nullptr;
  std::string buffer_;
  std::size_t buffer_size_ = 0;  // valid bytes at data()
  std::uint64_t buffer_offset_ = 0;
  std::uint32_t buffer_segment_ = UINT32_MAX;
};

// Reads the `count` records stored back to back from `location` (an index
// run), one per next(), checking each checksum. Reads grow with the run
// (a first read of about the run's expected size, then more as records need),
// and keep every byte of the run read so far: a record's bytes stay at the
// same offset of the buffer until the reader is reset.
class RunReader {
 public:
  // Starts a new run. REQUIRES: `segments` outlives the run's reads.
  void reset(const SegmentList& segments, LogLocation location, std::uint32_t count);
  // The next record of the run, false after the last. corruption with file
  // and offset on damage. The record's views stay valid until the next call
  // that reads more bytes (next()) or reset().
  Result<bool> next(log::LogRecord* record);
  // Offset in the run's bytes of the record last returned, for decode_at().
  std::size_t record_offset() const { return record_offset_; }
  // Decodes again the record at `offset` (from record_offset()) of this run,
  // once the run was read to its end (nothing more is read then, so earlier
  // records' bytes stay put): backward reads emit a run's records in reverse.
  Status decode_at(std::size_t offset, log::LogRecord* record) const;

 private:
  Status ensure(std::size_t bytes);
  Status damaged(const std::string& what, std::uint64_t offset) const;

  const Segment* segment_ = nullptr;
  std::uint64_t start_ = 0;     // segment offset of the run's first record
  std::uint32_t left_ = 0;      // records not yet returned
  std::size_t used_ = 0;        // bytes of the run consumed
  std::size_t record_offset_ = 0;
  // The run's bytes from start_: the segment's mapping, or buffer_ (read so
  // far with pread; its size is only capacity).
  const char* data() const { return mapped_ != nullptr ? mapped_ : buffer_.data(); }
  const char* mapped_ = nullptr;
  std::string buffer_;
  std::size_t buffer_size_ = 0;  // valid bytes at data()
};

// Reads and decodes the single record at `location`. The record's views
// point into the segment's mapping (when `use_mapping` and the segment is
// mapped), or into `scratch` (read with pread: a disk error is io_error).
Status read_record_at(const SegmentList& segments, LogLocation location, std::string* scratch,
                      log::LogRecord* record, bool use_mapping = true);

}  // namespace evsrc
