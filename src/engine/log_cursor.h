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
  std::string buffer_;           // bytes of segment next_.segment starting at buffer_offset_
  std::size_t buffer_size_ = 0;  // valid bytes of buffer_ (its size is only capacity)
  std::uint64_t buffer_offset_ = 0;
  std::uint32_t buffer_segment_ = UINT32_MAX;
};

// Reads the `count` records stored back to back from `location`, calling
// `visit` for each until it returns false. `scratch` holds the bytes.
Status read_records_at(const SegmentList& segments, LogLocation location, std::uint32_t count, std::string* scratch,
                       const std::function<bool(const log::LogRecord&)>& visit);

// Reads and decodes the single record at `location`. `scratch` holds the
// bytes the record's views point into.
Status read_record_at(const SegmentList& segments, LogLocation location, std::string* scratch,
                      log::LogRecord* record);

}  // namespace evsrc
