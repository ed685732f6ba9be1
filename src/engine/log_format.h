// The on-disk log format (docs/storage-format.md is the grammar; keep both in
// step). Persisted constants and enum values are frozen: append, never renumber.
//
//   segment      := segment_header group* zero_fill
//   group        := group_header record{record_count}      (one group commit)
//   record       := length:u32 crc32c(body):u32 body[length]
//
// A group is written in one write and synced before the next group is
// written, so on recovery only the last group of the log can be torn; damage
// anywhere else is corruption.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"

namespace evsrc::log {

inline constexpr std::string_view kSegmentMagic = "EVSRCLOG";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 64;
inline constexpr std::uint32_t kGroupMagic = 0x47525645;  // "EVRG" little-endian
inline constexpr std::size_t kGroupHeaderSize = 32;
inline constexpr std::size_t kRecordHeaderSize = 8;
// Bodies larger than this are never written (events are limited far below).
inline constexpr std::uint32_t kMaxRecordBody = 64u << 20;

struct SegmentHeader {
  std::uint64_t number = 0;          // 0, 1, 2, ... contiguous
  Position first_position = 0;       // position of the segment's first record
  std::uint64_t capacity = 0;        // preallocated size in bytes
};

std::string encode_segment_header(const SegmentHeader& header);
// corruption (with a reason) when magic, version or checksum do not match.
Result<SegmentHeader> decode_segment_header(std::string_view bytes);

struct GroupHeader {
  std::uint32_t record_bytes = 0;  // bytes of the records that follow
  std::uint32_t record_count = 0;
  Position first_position = 0;
};

void append_group_header(std::string& out, const GroupHeader& header);
// nullopt unless `bytes` starts with a group header whose checksum matches.
std::optional<GroupHeader> decode_group_header(std::string_view bytes);

enum class RecordKind : std::uint8_t {
  event = 1,
  stream_metadata = 2,
  stream_deleted = 3,     // soft delete
  stream_tombstoned = 4,  // hard delete
};

// A decoded record. String views point into the buffer it was decoded from.
struct LogRecord {
  RecordKind kind = RecordKind::event;
  Position position = 0;
  Timestamp recorded_at{};
  std::string_view stream;
  // event
  StreamRevision revision = 0;
  Uuid id;
  bool client_id = false;  // the client chose the id (flag bit 0): indexed for idempotency
  std::string_view type;
  std::string_view content_type;
  std::string_view metadata;
  std::string_view data;
  // stream_metadata
  StreamMetadata stream_metadata;
  // stream_deleted: revisions below this are hidden from now on
  StreamRevision visible_from = 0;
};

// Appends one framed record. REQUIRES: fields within the validated limits.
void append_event_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                         StreamRevision revision, const Uuid& id, bool client_id, const EventData& event);
void append_metadata_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                            const StreamMetadata& metadata);
void append_deleted_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream,
                           StreamRevision visible_from);
void append_tombstone_record(std::string& out, Position position, Timestamp recorded_at, std::string_view stream);

// Exact framed sizes of the records the append_* functions write.
std::size_t event_record_size(std::string_view stream, const EventData& event);
std::size_t metadata_record_size(std::string_view stream, const StreamMetadata& metadata);
std::size_t deleted_record_size(std::string_view stream);
std::size_t tombstone_record_size(std::string_view stream);

// Size of the framed record that starts `bytes`, from its length field;
// nullopt when fewer than kRecordHeaderSize bytes or the length is impossible.
std::optional<std::size_t> framed_record_size(std::string_view bytes);

// Decodes the framed record at the start of `bytes`: checks the length, the
// checksum and the body's structure. corruption with a reason otherwise.
Status decode_record(std::string_view bytes, LogRecord* record);

// The recorded event a decoded event record describes.
RecordedEvent to_recorded_event(const LogRecord& record);

}  // namespace evsrc::log
