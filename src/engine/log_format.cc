#include "engine/log_format.h"

#include "engine/coding.h"
#include "engine/crc32c.h"

namespace evsrc::log {
namespace {

using coding::put_le;

constexpr std::uint8_t kClientIdFlag = 1;
constexpr std::uint8_t kHasMaxCount = 1;
constexpr std::uint8_t kHasMaxAge = 2;
constexpr std::uint8_t kHasTruncateBefore = 4;

// Body bytes every record starts with: kind, flags, stream length, position,
// recorded-at (then the stream name).
constexpr std::size_t kCommonBodySize = 1 + 1 + 2 + 8 + 8;
// Event body after the stream name: revision, id, type and content-type
// lengths, metadata and data lengths (then the four fields).
constexpr std::size_t kEventFieldsSize = 8 + 16 + 1 + 1 + 4 + 4;
// Metadata body after the stream name: presence bits, max count, max age,
// truncate-before, custom length (then the custom JSON).
constexpr std::size_t kMetadataFieldsSize = 1 + 8 + 8 + 8 + 4;

// Starts a framed record: reserves the length and crc fields, writes the
// common body prefix. Returns the offset of the frame for finish_record().
std::size_t begin_record(std::string& out, RecordKind kind, Position position, Timestamp recorded_at,
                         std::string_view stream, std::uint8_t flags = 0) {
  const std::size_t frame = out.size();
  out.append(kRecordHeaderSize, '\0');
  coding::put_u8(out, static_cast<std::uint8_t>(kind));
  coding::put_u8(out, flags);
  put_le<std::uint16_t>(out, static_cast<std::uint16_t>(stream.size()));
  put_le<std::uint64_t>(out, position);
  put_le<std::int64_t>(out, recorded_at.time_since_epoch().count());
  out.append(stream);
  return frame;
}

void finish_record(std::string& out, std::size_t frame) {
  const std::string_view body(out.data() + frame + kRecordHeaderSize, out.size() - frame - kRecordHeaderSize);
  std::string header;
  put_le<std::uint32_t>(header, static_cast<std::uint32_t>(body.size()));
  put_le<std::uint32_t>(header, crc32c(body));
  out.replace(frame, kRecordHeaderSize, header);
}

}  // namespace

std::string encode_segment_header(const SegmentHeader& header) {
  std::string out(kSegmentMagic);
  put_le<std::uint32_t>(out, kFormatVersion);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(kSegmentHeaderSize));
  put_le<std::uint64_t>(out, header.number);
  put_le<std::uint64_t>(out, header.first_position);
  put_le<std::uint64_t>(out, header.capacity);
  out.resize(kSegmentHeaderSize - 4, '\0');
  put_le<std::uint32_t>(out, crc32c(out));
  return out;
}

Result<SegmentHeader> decode_segment_header(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderSize) return Status::corruption("segment header is truncated");
  if (bytes.substr(0, kSegmentMagic.size()) != kSegmentMagic) return Status::corruption("not an evsrc log segment");
  const std::uint32_t stored_crc = coding::get_le<std::uint32_t>(bytes.data() + kSegmentHeaderSize - 4);
  if (crc32c(bytes.substr(0, kSegmentHeaderSize - 4)) != stored_crc) {
    return Status::corruption("segment header checksum mismatch");
  }
  coding::Reader reader(bytes.substr(kSegmentMagic.size()));
  const auto version = reader.le<std::uint32_t>();
  const auto header_size = reader.le<std::uint32_t>();
  if (version != kFormatVersion) {
    return Status::corruption("segment format version " + std::to_string(version) + " is not supported (this build reads " +
                              std::to_string(kFormatVersion) + ")");
  }
  if (header_size != kSegmentHeaderSize) return Status::corruption("unexpected segment header size");
  SegmentHeader header;
  header.number = reader.le<std::uint64_t>();
  header.first_position = reader.le<std::uint64_t>();
  header.capacity = reader.le<std::uint64_t>();
  return header;
}

void append_group_header(std::string& out, const GroupHeader& header) {
  const std::size_t start = out.size();
  put_le<std::uint32_t>(out, kGroupMagic);
  put_le<std::uint32_t>(out, header.record_bytes);
  put_le<std::uint32_t>(out, header.record_count);
  put_le<std::uint32_t>(out, 0);
  put_le<std::uint64_t>(out, header.first_position);
  put_le<std::uint32_t>(out, crc32c(std::string_view(out).substr(start, 24)));
  put_le<std::uint32_t>(out, 0);
}

std::optional<GroupHeader> decode_group_header(std::string_view bytes) {
  if (bytes.size() < kGroupHeaderSize) return std::nullopt;
  if (coding::get_le<std::uint32_t>(bytes.data()) != kGroupMagic) return std::nullopt;
  if (coding::get_le<std::uint32_t>(bytes.data() + 24) != crc32c(bytes.substr(0, 24))) return std::nullopt;
  GroupHeader header;
  header.record_bytes = coding::get_le<std::uint32_t>(bytes.data() + 4);
  header.record_count = coding::get_le<std::uint32_t>(bytes.data() + 8);
  header.first_position = coding::get_le<std::uint64_t>(bytes.data() + 16);
  return header;
}

std::size_t event_record_size(std::string_view stream, const EventData& event) {
  return kRecordHeaderSize + kCommonBodySize + stream.size() + kEventFieldsSize + event.type.size() +
         event.content_type.size() + event.metadata.size() + event.data.size();
}

std::size_t metadata_record_size(std::string_view stream, const StreamMetadata& metadata) {
  return kRecordHeaderSize + kCommonBodySize + stream.size() + kMetadataFieldsSize + metadata.custom.size();
}

std::size_t deleted_record_size(std::string_view stream) {
  return kRecordHeaderSize + kCommonBodySize + stream.size() + 8;
}

std::size_t tombstone_record_size(std::string_view stream) { return kRecordHeaderSize + kCommonBodySize + stream.size(); }

void append_event_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                         StreamRevision revision, const Uuid& id, bool client_id, const EventData& event) {
  const std::size_t frame =
      begin_record(out, RecordKind::event, position, recorded_at, stream, client_id ? kClientIdFlag : 0);
  put_le<std::uint64_t>(out, revision);
  out.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
  coding::put_u8(out, static_cast<std::uint8_t>(event.type.size()));
  coding::put_u8(out, static_cast<std::uint8_t>(event.content_type.size()));
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(event.metadata.size()));
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(event.data.size()));
  out.append(event.type);
  out.append(event.content_type);
  out.append(event.metadata);
  out.append(event.data);
  finish_record(out, frame);
}

void append_metadata_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                            const StreamMetadata& metadata) {
  const std::size_t frame = begin_record(out, RecordKind::stream_metadata, position, recorded_at, stream);
  std::uint8_t present = 0;
  if (metadata.max_count) present |= kHasMaxCount;
  if (metadata.max_age) present |= kHasMaxAge;
  if (metadata.truncate_before) present |= kHasTruncateBefore;
  coding::put_u8(out, present);
  put_le<std::uint64_t>(out, metadata.max_count.value_or(0));
  put_le<std::int64_t>(out, metadata.max_age ? metadata.max_age->count() : 0);
  put_le<std::uint64_t>(out, metadata.truncate_before.value_or(0));
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(metadata.custom.size()));
  out.append(metadata.custom);
  finish_record(out, frame);
}

void append_deleted_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                           StreamRevision visible_from) {
  const std::size_t frame = begin_record(out, RecordKind::stream_deleted, position, recorded_at, stream);
  put_le<std::uint64_t>(out, visible_from);
  finish_record(out, frame);
}

void append_tombstone_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream) {
  const std::size_t frame = begin_record(out, RecordKind::stream_tombstoned, position, recorded_at, stream);
  finish_record(out, frame);
}

std::optional<std::size_t> framed_record_size(std::string_view bytes) {
  if (bytes.size() < kRecordHeaderSize) return std::nullopt;
  const std::uint32_t length = coding::get_le<std::uint32_t>(bytes.data());
  if (length < kCommonBodySize || length > kMaxRecordBody) return std::nullopt;
  return kRecordHeaderSize + length;
}

Status decode_record(std::string_view bytes, LogRecord* record) {
  const auto size = framed_record_size(bytes);
  if (!size) return Status::corruption("record length is invalid");
  if (bytes.size() < *size) return Status::corruption("record is truncated");
  const std::string_view body = bytes.substr(kRecordHeaderSize, *size - kRecordHeaderSize);
  if (crc32c(body) != coding::get_le<std::uint32_t>(bytes.data() + 4)) {
    return Status::corruption("record checksum mismatch");
  }
  coding::Reader reader(body);
  const auto kind = reader.le<std::uint8_t>();
  const auto flags = reader.le<std::uint8_t>();
  // Only event records carry flags: a record decodes only from the bytes its
  // encoder writes (no two encodings of one record).
  const std::uint8_t known_flags = kind == static_cast<std::uint8_t>(RecordKind::event) ? kClientIdFlag : 0;
  if ((flags & ~known_flags) != 0) return Status::corruption("record has unknown flags");
  record->client_id = (flags & kClientIdFlag) != 0;
  const auto stream_size = reader.le<std::uint16_t>();
  record->position = reader.le<std::uint64_t>();
  record->recorded_at = Timestamp(std::chrono::microseconds(reader.le<std::int64_t>()));
  record->stream = reader.bytes(stream_size);
  switch (kind) {
    case static_cast<std::uint8_t>(RecordKind::event): {
      record->kind = RecordKind::event;
      record->revision = reader.le<std::uint64_t>();
      const std::string_view id = reader.bytes(16);
      if (reader.ok()) std::copy(id.begin(), id.end(), record->id.bytes.begin());
      const auto type_size = reader.le<std::uint8_t>();
      const auto content_type_size = reader.le<std::uint8_t>();
      const auto metadata_size = reader.le<std::uint32_t>();
      const auto data_size = reader.le<std::uint32_t>();
      record->type = reader.bytes(type_size);
      record->content_type = reader.bytes(content_type_size);
      record->metadata = reader.bytes(metadata_size);
      record->data = reader.bytes(data_size);
      break;
    }
    case static_cast<std::uint8_t>(RecordKind::stream_metadata): {
      record->kind = RecordKind::stream_metadata;
      const auto present = reader.le<std::uint8_t>();
      const auto max_count = reader.le<std::uint64_t>();
      const auto max_age = reader.le<std::int64_t>();
      const auto truncate_before = reader.le<std::uint64_t>();
      const auto custom_size = reader.le<std::uint32_t>();
      if ((present & ~(kHasMaxCount | kHasMaxAge | kHasTruncateBefore)) != 0 ||
          (!(present & kHasMaxCount) && max_count != 0) || (!(present & kHasMaxAge) && max_age != 0) ||
          (!(present & kHasTruncateBefore) && truncate_before != 0)) {
        return Status::corruption("stream metadata record has unknown or stray fields");
      }
      StreamMetadata metadata;
      if (present & kHasMaxCount) metadata.max_count = max_count;
      if (present & kHasMaxAge) metadata.max_age = std::chrono::seconds(max_age);
      if (present & kHasTruncateBefore) metadata.truncate_before = truncate_before;
      metadata.custom = std::string(reader.bytes(custom_size));
      record->stream_metadata = std::move(metadata);
      break;
    }
    case static_cast<std::uint8_t>(RecordKind::stream_deleted):
      record->kind = RecordKind::stream_deleted;
      record->visible_from = reader.le<std::uint64_t>();
      break;
    case static_cast<std::uint8_t>(RecordKind::stream_tombstoned):
      record->kind = RecordKind::stream_tombstoned;
      break;
    default:
      return Status::corruption("unknown record kind " + std::to_string(kind));
  }
  if (!reader.ok() || reader.remaining() != 0) return Status::corruption("record body is malformed");
  return Status();
}

RecordedEvent to_recorded_event(const LogRecord& record) {
  RecordedEvent event;
  event.stream = std::string(record.stream);
  event.revision = record.revision;
  event.position = record.position;
  event.recorded_at = record.recorded_at;
  event.id = record.id;
  event.type = std::string(record.type);
  event.data = std::string(record.data);
  event.metadata = std::string(record.metadata);
  event.content_type = std::string(record.content_type);
  return event;
}

}  // namespace evsrc::log
