// Fuzz target log_record: arbitrary bytes through the log format's decoders
// (src/engine/log_format.h) — decode_segment_header, decode_group_header,
// framed_record_size, decode_record and to_recorded_event.
//
// The input is read the way recovery walks a segment: a segment header when
// one decodes at the start, then group headers each followed by the records
// they announce, or bare records where no group header decodes; the walk
// stops at the first record that does not decode.
//
// Asserts (abort on violation):
//   - a decoded segment header re-encodes (encode_segment_header) to bytes
//     that decode to the same header, and to the input's own bytes when its
//     reserved bytes are zero;
//   - a decoded group header re-encodes (append_group_header) to the input's
//     checksummed bytes when its reserved field is zero, and always decodes back;
//   - framed_record_size is within [header + 20, header + kMaxRecordBody];
//   - a record that decodes fits the input, re-encodes with the append_*
//     encoder of its kind to exactly its framed bytes (the format has one
//     encoding per record), and the re-encoding decodes to the same record;
//   - to_recorded_event copies every field of an event record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/log_format.h"

namespace {

using evsrc::log::LogRecord;
using evsrc::log::RecordKind;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "log_record fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

bool all_zero(std::string_view bytes) {
  for (char c : bytes) {
    if (c != 0) return false;
  }
  return true;
}

bool same_record(const LogRecord& a, const LogRecord& b) {
  if (a.kind != b.kind || a.position != b.position || a.recorded_at != b.recorded_at || a.stream != b.stream) {
    return false;
  }
  switch (a.kind) {
    case RecordKind::event:
      return a.revision == b.revision && a.id == b.id && a.client_id == b.client_id && a.type == b.type &&
             a.content_type == b.content_type && a.metadata == b.metadata && a.data == b.data;
    case RecordKind::stream_metadata:
      return a.stream_metadata == b.stream_metadata;
    case RecordKind::stream_deleted:
      return a.visible_from == b.visible_from;
    case RecordKind::stream_tombstoned:
      return true;
  }
  return false;
}

std::string encode_like(const LogRecord& record) {
  std::string out;
  switch (record.kind) {
    case RecordKind::event: {
      evsrc::EventData event;
      event.id = record.id;
      event.type = std::string(record.type);
      event.data = std::string(record.data);
      event.metadata = std::string(record.metadata);
      event.content_type = std::string(record.content_type);
      evsrc::log::append_event_record(out, record.position, record.recorded_at, record.stream, record.revision,
                                      record.id, record.client_id, event);
      break;
    }
    case RecordKind::stream_metadata:
      evsrc::log::append_metadata_record(out, record.position, record.recorded_at, record.stream,
                                         record.stream_metadata);
      break;
    case RecordKind::stream_deleted:
      evsrc::log::append_deleted_record(out, record.position, record.recorded_at, record.stream, record.visible_from);
      break;
    case RecordKind::stream_tombstoned:
      evsrc::log::append_tombstone_record(out, record.position, record.recorded_at, record.stream);
      break;
  }
  return out;
}

// Decodes the record at the start of `bytes`; its framed size, or 0 when it
// does not decode.
std::size_t check_record(std::string_view bytes) {
  const auto size = evsrc::log::framed_record_size(bytes);
  if (size) {
    require(*size >= evsrc::log::kRecordHeaderSize + 20, "framed size below the smallest body");
    require(*size <= evsrc::log::kRecordHeaderSize + evsrc::log::kMaxRecordBody, "framed size above the limit");
  }
  LogRecord record;
  if (!evsrc::log::decode_record(bytes, &record).ok()) return 0;
  require(size.has_value() && *size <= bytes.size(), "a decoded record does not fit its input");
  const std::string_view framed = bytes.substr(0, *size);

  const std::string encoded = encode_like(record);
  require(encoded == framed, "a decoded record does not re-encode to its bytes");
  LogRecord again;
  require(evsrc::log::decode_record(encoded, &again).ok(), "a re-encoded record does not decode");
  require(same_record(record, again), "a re-encoded record decodes differently");

  if (record.kind == RecordKind::event) {
    const evsrc::RecordedEvent event = evsrc::log::to_recorded_event(record);
    require(event.stream == record.stream && event.revision == record.revision && event.position == record.position &&
                event.recorded_at == record.recorded_at && event.id == record.id && event.type == record.type &&
                event.data == record.data && event.metadata == record.metadata &&
                event.content_type == record.content_type,
            "to_recorded_event changed a field");
  }
  return *size;
}

void check_segment_header(std::string_view bytes) {
  auto header = evsrc::log::decode_segment_header(bytes);
  if (!header.ok()) {
    require(header.status().code() == evsrc::ErrorCode::corruption, "a bad segment header is not corruption");
    return;
  }
  const std::string encoded = evsrc::log::encode_segment_header(*header);
  require(encoded.size() == evsrc::log::kSegmentHeaderSize, "segment header size");
  auto again = evsrc::log::decode_segment_header(encoded);
  require(again.ok() && again->number == header->number && again->first_position == header->first_position &&
              again->capacity == header->capacity,
          "a re-encoded segment header decodes differently");
  if (all_zero(bytes.substr(40, evsrc::log::kSegmentHeaderSize - 44))) {
    require(encoded == bytes.substr(0, evsrc::log::kSegmentHeaderSize),
            "a segment header does not re-encode to its bytes");
  }
}

bool check_group_header(std::string_view bytes, evsrc::log::GroupHeader* out) {
  const auto header = evsrc::log::decode_group_header(bytes);
  if (!header) return false;
  std::string encoded;
  evsrc::log::append_group_header(encoded, *header);
  require(encoded.size() == evsrc::log::kGroupHeaderSize, "group header size");
  const auto again = evsrc::log::decode_group_header(encoded);
  require(again && again->record_bytes == header->record_bytes && again->record_count == header->record_count &&
              again->first_position == header->first_position,
          "a re-encoded group header decodes differently");
  if (all_zero(bytes.substr(12, 4))) {
    require(encoded.substr(0, 28) == bytes.substr(0, 28), "a group header does not re-encode to its bytes");
  }
  *out = *header;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_segment_header(input);
  std::size_t offset = evsrc::log::decode_segment_header(input).ok() ? evsrc::log::kSegmentHeaderSize : 0;
  while (offset < input.size()) {
    const std::string_view rest = input.substr(offset);
    evsrc::log::GroupHeader group;
    if (check_group_header(rest, &group)) {
      offset += evsrc::log::kGroupHeaderSize;
      // The group's records, as far as they lie inside the input.
      const std::string_view records = input.substr(offset, group.record_bytes);
      std::size_t inside = 0;
      for (std::uint32_t i = 0; i < group.record_count && inside < records.size(); ++i) {
        const std::size_t framed = check_record(records.substr(inside));
        if (framed == 0) break;
        inside += framed;
      }
      offset += records.size();
      continue;
    }
    const std::size_t framed = check_record(rest);
    if (framed == 0) break;
    offset += framed;
  }
  return 0;
}
