// The Kinesis record format of an event (version 1; see evsrc/kinesis.h).
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "aws/aws_json_client.h"
#include "evsrc/kinesis.h"

namespace evsrc {
namespace {

using nlohmann::json;

Status bad_record(const std::string& what) { return Status::corruption("Kinesis event record: " + what); }

}  // namespace

std::string encode_kinesis_event(const RecordedEvent& event) {
  json record = json::object();
  record["v"] = 1;
  record["stream"] = event.stream;
  record["revision"] = event.revision;
  record["position"] = event.position;
  record["id"] = event.id.to_string();
  record["type"] = event.type;
  record["contentType"] = event.content_type;
  record["recordedAt"] = format_rfc3339(event.recorded_at);
  record["recordedAtMicros"] = event.recorded_at.time_since_epoch().count();
  record["data"] = aws::base64_encode(event.data);
  record["metadata"] = aws::base64_encode(event.metadata);
  // Stream names and types are UTF-8 by the store's validation; replace
  // rather than throw should one not be.
  return record.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<RecordedEvent> decode_kinesis_event(std::string_view data) {
  json record = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object()) return bad_record("not a JSON object");
  if (!record.contains("v") || !record["v"].is_number_unsigned() || record["v"].get<std::uint64_t>() != 1) {
    return bad_record("not format version 1 (member \"v\")");
  }
  auto text = [&](const char* name, std::string& out) -> Status {
    if (!record.contains(name) || !record[name].is_string()) {
      return bad_record(std::string("member \"") + name + "\" missing or not a string");
    }
    out = record[name].get<std::string>();
    return Status();
  };
  auto number = [&](const char* name, std::uint64_t& out) -> Status {
    if (!record.contains(name) || !record[name].is_number_unsigned()) {
      return bad_record(std::string("member \"") + name + "\" missing or not an unsigned integer");
    }
    out = record[name].get<std::uint64_t>();
    return Status();
  };
  RecordedEvent event;
  std::string id, data_base64, metadata_base64;
  std::uint64_t micros = 0;
  for (Status status :
       {text("stream", event.stream), number("revision", event.revision), number("position", event.position),
        text("id", id), text("type", event.type), text("contentType", event.content_type),
        number("recordedAtMicros", micros), text("data", data_base64), text("metadata", metadata_base64)}) {
    if (!status.ok()) return status;
  }
  // A Timestamp's count: encode_kinesis_event never writes more.
  if (micros > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return bad_record("\"recordedAtMicros\" is out of range");
  }
  auto uuid = Uuid::parse(id);
  if (!uuid) return bad_record("bad id '" + id + "'");
  event.id = *uuid;
  event.recorded_at = Timestamp(std::chrono::microseconds(static_cast<std::int64_t>(micros)));
  auto event_data = aws::base64_decode(data_base64);
  if (!event_data.ok()) return bad_record("bad base64 in \"data\"");
  auto metadata = aws::base64_decode(metadata_base64);
  if (!metadata.ok()) return bad_record("bad base64 in \"metadata\"");
  event.data = std::move(*event_data);
  event.metadata = std::move(*metadata);
  if (event.stream.empty()) return bad_record("empty stream");
  return event;
}

}  // namespace evsrc
