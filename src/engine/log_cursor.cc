#include "engine/log_cursor.h"

#include <algorithm>

namespace evsrc {
namespace {

constexpr std::size_t kReadChunk = 1 << 20;

}  // namespace

LogCursor::LogCursor(std::shared_ptr<const SegmentList> segments, LogLocation group, Position position, Position end)
    : segments_(std::move(segments)), next_(group), position_(position), end_(end) {}

Result<LogCursor> LogCursor::at_record(std::shared_ptr<const SegmentList> segments, LogLocation group,
                                       LogLocation record, Position position, Position end) {
  if (group.segment >= segments->size() || record.segment != group.segment) {
    return Status::corruption("index position entry points outside the log");
  }
  LogCursor cursor(std::move(segments), group, position, end);
  // Read the group header to learn where the group ends, then jump.
  if (Status status = cursor.fill(group.offset, log::kGroupHeaderSize); !status.ok()) return status;
  const auto header = log::decode_group_header(
      std::string_view(cursor.data(), cursor.buffer_size_).substr(group.offset - cursor.buffer_offset_, log::kGroupHeaderSize));
  if (!header) return cursor.damaged("group header is damaged", group.offset);
  const std::uint64_t first_record = std::uint64_t{group.offset} + log::kGroupHeaderSize;
  const std::uint64_t group_end = first_record + header->record_bytes;
  if (record.offset < first_record || record.offset >= group_end || position < header->first_position ||
      position >= header->first_position + header->record_count) {
    return Status::corruption("index entry points outside its group");
  }
  cursor.group_location_ = group;
  cursor.group_first_position_ = header->first_position;
  cursor.group_end_ = group_end;
  cursor.group_left_ = static_cast<std::uint32_t>(header->first_position + header->record_count - position);
  cursor.next_ = record;
  return cursor;
}

Status LogCursor::damaged(const std::string& what, std::uint64_t offset) const {
  const std::string path = next_.segment < segments_->size() ? (*segments_)[next_.segment]->path : "log";
  return Status::corruption(what + " in " + path + " at offset " + std::to_string(offset));
}

Status LogCursor::fill(std::uint64_t offset, std::size_t bytes) {
  if (buffer_segment_ == next_.segment && offset >= buffer_offset_ &&
      offset + bytes <= buffer_offset_ + buffer_size_) {
    return Status();
  }
  if (next_.segment >= segments_->size()) return Status::corruption("read beyond the last segment");
  const Segment& segment = *(*segments_)[next_.segment];
  const std::uint64_t capacity = segment.header.capacity;
  if (offset + bytes > capacity) return damaged("read beyond the segment's end", offset);
  if (segment.mapped != nullptr) {
    mapped_ = segment.mapped;
    buffer_size_ = static_cast<std::size_t>(capacity);
    buffer_offset_ = 0;
    buffer_segment_ = next_.segment;
    return Status();
  }
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(std::max(bytes, kReadChunk), capacity - offset));
  if (buffer_.size() < want) buffer_.resize(want);
  std::size_t read = 0;
  buffer_size_ = 0;
  mapped_ = nullptr;
  if (Status status = segment.file->read_at(offset, want, buffer_.data(), &read); !status.ok()) return status;
  buffer_size_ = read;
  buffer_offset_ = offset;
  buffer_segment_ = next_.segment;
  if (read < bytes) return damaged("segment is shorter than its records", offset + read);
  return Status();
}

Result<bool> LogCursor::next(log::LogRecord* record) {
  if (position_ >= end_) return false;
  while (group_left_ == 0) {
    if (next_.segment >= segments_->size()) return false;
    const Segment& segment = *(*segments_)[next_.segment];
    const std::uint64_t offset = next_.offset;
    std::optional<log::GroupHeader> header;
    if (offset + log::kGroupHeaderSize <= segment.header.capacity) {
      if (Status status = fill(offset, log::kGroupHeaderSize); !status.ok()) return status;
      header = log::decode_group_header(std::string_view(data(), buffer_size_).substr(offset - buffer_offset_, log::kGroupHeaderSize));
    }
    if (!header) {
      // End of this segment's data: the next segment must continue exactly here.
      if (next_.segment + 1 >= segments_->size()) {
        if (end_ != UINT64_MAX) return damaged("log ends before committed position " + std::to_string(end_), offset);
        return false;
      }
      const Segment& following = *(*segments_)[next_.segment + 1];
      if (following.header.first_position != position_) {
        return damaged("segment ends at position " + std::to_string(position_) + " but " + following.path +
                           " starts at " + std::to_string(following.header.first_position),
                       offset);
      }
      next_ = LogLocation{next_.segment + 1, static_cast<std::uint32_t>(log::kSegmentHeaderSize)};
      continue;
    }
    if (header->first_position != position_ || header->record_count == 0 ||
        offset + log::kGroupHeaderSize + header->record_bytes > segment.header.capacity) {
      return damaged("group header does not continue the log (position " + std::to_string(header->first_position) +
                         ", expected " + std::to_string(position_) + ")",
                     offset);
    }
    group_location_ = next_;
    group_first_position_ = header->first_position;
    group_left_ = header->record_count;
    group_end_ = offset + log::kGroupHeaderSize + header->record_bytes;
    next_.offset = static_cast<std::uint32_t>(offset + log::kGroupHeaderSize);
  }
  const std::uint64_t offset = next_.offset;
  if (offset + log::kRecordHeaderSize > group_end_) return damaged("group is shorter than its record count", offset);
  if (Status status = fill(offset, log::kRecordHeaderSize); !status.ok()) return status;
  const auto size = log::framed_record_size(std::string_view(data(), buffer_size_).substr(offset - buffer_offset_));
  if (!size || offset + *size > group_end_) return damaged("record length is invalid", offset);
  if (Status status = fill(offset, *size); !status.ok()) return status;
  const std::string_view bytes = std::string_view(data(), buffer_size_).substr(offset - buffer_offset_, *size);
  if (Status status = log::decode_record(bytes, record); !status.ok()) return damaged(status.message(), offset);
  if (record->position != position_) {
    return damaged("record position " + std::to_string(record->position) + " where " + std::to_string(position_) +
                       " was expected",
                   offset);
  }
  record_location_ = next_;
  record_size_ = *size;
  next_.offset = static_cast<std::uint32_t>(offset + *size);
  ++position_;
  if (--group_left_ == 0 && next_.offset != group_end_) return damaged("group has bytes after its last record", offset);
  return true;
}

Status read_record_at(const SegmentList& segments, LogLocation location, std::string* scratch,
                      log::LogRecord* record, bool use_mapping) {
  if (location.segment >= segments.size()) return Status::corruption("index points to a missing segment");
  const Segment& segment = *segments[location.segment];
  if (use_mapping && segment.mapped != nullptr) {
    const std::uint64_t capacity = segment.header.capacity;
    const std::string_view rest(segment.mapped + std::min<std::uint64_t>(location.offset, capacity),
                                static_cast<std::size_t>(capacity - std::min<std::uint64_t>(location.offset, capacity)));
    const auto size = log::framed_record_size(rest);
    if (!size || *size > rest.size()) {
      return Status::corruption("record length is invalid in " + segment.path + " at offset " +
                                std::to_string(location.offset));
    }
    if (Status status = log::decode_record(rest.substr(0, *size), record); !status.ok()) {
      return Status::corruption(status.message() + " in " + segment.path + " at offset " +
                                std::to_string(location.offset));
    }
    return Status();
  }
  auto read = [&](std::size_t bytes) -> Status {
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(bytes, segment.header.capacity - std::min<std::uint64_t>(location.offset, segment.header.capacity)));
    scratch->resize(want);
    std::size_t got = 0;
    if (Status status = segment.file->read_at(location.offset, want, scratch->data(), &got); !status.ok()) return status;
    scratch->resize(got);
    return Status();
  };
  if (Status status = read(1024); !status.ok()) return status;
  const auto size = log::framed_record_size(*scratch);
  if (!size) return Status::corruption("record length is invalid in " + segment.path + " at offset " + std::to_string(location.offset));
  if (*size > scratch->size()) {
    if (Status status = read(*size); !status.ok()) return status;
  }
  if (Status status = log::decode_record(*scratch, record); !status.ok()) {
    return Status::corruption(status.message() + " in " + segment.path + " at offset " + std::to_string(location.offset));
  }
  return Status();
}

void RunReader::reset(const SegmentList& segments, LogLocation location, std::uint32_t count) {
  segment_ = location.segment < segments.size() ? segments[location.segment].get() : nullptr;
  start_ = location.offset;
  left_ = count;
  used_ = 0;
  record_offset_ = 0;
  mapped_ = nullptr;
  buffer_size_ = 0;
}

Status RunReader::damaged(const std::string& what, std::uint64_t offset) const {
  return Status::corruption(what + " in " + segment_->path + " at offset " + std::to_string(offset));
}

Status RunReader::ensure(std::size_t bytes) {
  if (buffer_size_ - used_ >= bytes) return Status();
  const std::uint64_t capacity = segment_->header.capacity;
  if (segment_->mapped != nullptr) {
    const std::uint64_t start = std::min(start_, capacity);
    mapped_ = segment_->mapped + start;
    buffer_size_ = static_cast<std::size_t>(capacity - start);
    if (buffer_size_ - used_ < bytes) return damaged("record runs past the end of the segment", capacity);
    return Status();
  }
  // Typical events frame to a few hundred bytes: read about the rest of the
  // run at once, at least 4 KiB (one page), at most 1 MiB ahead.
  constexpr std::size_t kExpectedRecord = 512;
  const std::size_t guess = std::clamp<std::size_t>(std::size_t{left_} * kExpectedRecord, 4096, 1 << 20);
  const std::uint64_t end = start_ + buffer_size_;
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(std::max(bytes - (buffer_size_ - used_), guess), capacity - std::min(end, capacity)));
  if (buffer_.size() < buffer_size_ + want) buffer_.resize(std::max(buffer_size_ + want, buffer_.size() * 2));
  mapped_ = nullptr;
  std::size_t got = 0;
  if (Status status = segment_->file->read_at(end, want, buffer_.data() + buffer_size_, &got); !status.ok()) {
    return status;
  }
  buffer_size_ += got;
  if (buffer_size_ - used_ < bytes) return damaged("record runs past the end of the segment", end + got);
  return Status();
}

Result<bool> RunReader::next(log::LogRecord* record) {
  if (left_ == 0) return false;
  if (segment_ == nullptr) return Status::corruption("index points to a missing segment");
  if (Status status = ensure(log::kRecordHeaderSize); !status.ok()) return status;
  const auto size = log::framed_record_size(std::string_view(data() + used_, buffer_size_ - used_));
  if (!size) return damaged("record length is invalid", start_ + used_);
  if (Status status = ensure(*size); !status.ok()) return status;
  if (Status status = log::decode_record(std::string_view(data() + used_, *size), record); !status.ok()) {
    return damaged(status.message(), start_ + used_);
  }
  record_offset_ = used_;
  used_ += *size;
  --left_;
  return true;
}

Status RunReader::decode_at(std::size_t offset, log::LogRecord* record) const {
  if (offset >= used_) return Status::invalid_argument("offset is not a record of this run");
  const std::string_view bytes(data() + offset, used_ - offset);
  const auto size = log::framed_record_size(bytes);
  if (!size || *size > bytes.size()) return damaged("record length is invalid", start_ + offset);
  if (Status status = log::decode_record(bytes.substr(0, *size), record); !status.ok()) {
    return damaged(status.message(), start_ + offset);
  }
  return Status();
}

}  // namespace evsrc
