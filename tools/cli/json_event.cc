#include "cli/json_event.h"

#include "core/json_depth.h"

namespace evsrc::cli {

Json bytes_to_json(std::string_view bytes) {
  if (!bytes.empty()) {
    bool too_deep = false;
    Json parsed = parse_json_within_depth(bytes, &too_deep);
    if (!parsed.is_discarded() && !parsed.is_string()) return parsed;
  }
  return Json(std::string(bytes));
}

std::string json_to_bytes(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json recorded_event_to_json(const RecordedEvent& event) {
  Json line = Json::object();
  line["id"] = event.id.to_string();
  line["stream"] = event.stream;
  line["revision"] = event.revision;
  line["position"] = event.position;
  line["type"] = event.type;
  line["data"] = bytes_to_json(event.data);
  line["metadata"] = bytes_to_json(event.metadata);
  line["recordedAt"] = format_rfc3339(event.recorded_at);
  return line;
}

Json recorded_event_to_import_line(const EventView& event) {
  Json line = Json::object();
  line["stream"] = event.stream;
  line["type"] = event.type;
  line["data"] = bytes_to_json(event.data);
  if (!event.metadata.empty()) {
    // Import reads a null "metadata" as none: metadata that is the JSON
    // document null goes out as its bytes instead.
    Json metadata = bytes_to_json(event.metadata);
    line["metadata"] = metadata.is_null() ? Json(event.metadata) : std::move(metadata);
  }
  line["id"] = event.id.to_string();
  return line;
}

std::optional<ExpectedRevision> parse_expected(const Json& value) {
  if (value.is_number_unsigned()) return ExpectedRevision::exact(value.get<StreamRevision>());
  if (value.is_string()) return ExpectedRevision::parse(value.get<std::string>());
  return std::nullopt;
}

namespace {

Result<std::string> required_string(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return Status::invalid_argument(std::string("missing \"") + key + "\"");
  if (!it->is_string()) return Status::invalid_argument(std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

Result<ImportLine> parse_import_line(std::string_view text) {
  bool too_deep = false;
  Json object = parse_json_within_depth(text, &too_deep);
  if (too_deep) {
    return Status::invalid_argument("JSON nested deeper than " + std::to_string(kMaxJsonNesting) + " levels");
  }
  if (object.is_discarded()) return Status::invalid_argument("not valid JSON");
  if (!object.is_object()) return Status::invalid_argument("expected a JSON object");

  ImportLine line;
  auto stream = required_string(object, "stream");
  if (!stream.ok()) return stream.status();
  line.stream = std::move(stream).value();
  auto type = required_string(object, "type");
  if (!type.ok()) return type.status();
  line.event.type = std::move(type).value();

  const auto data = object.find("data");
  if (data == object.end()) return Status::invalid_argument("missing \"data\"");
  line.event.data = json_to_bytes(*data);
  if (const auto metadata = object.find("metadata"); metadata != object.end() && !metadata->is_null()) {
    line.event.metadata = json_to_bytes(*metadata);
  }
  if (const auto id = object.find("id"); id != object.end() && !id->is_null()) {
    std::optional<Uuid> uuid = id->is_string() ? Uuid::parse(id->get<std::string>()) : std::nullopt;
    if (!uuid) return Status::invalid_argument("\"id\" must be a UUID string");
    line.event.id = *uuid;
  }
  if (const auto expected = object.find("expected"); expected != object.end() && !expected->is_null()) {
    line.expected = parse_expected(*expected);
    if (!line.expected) {
      return Status::invalid_argument("\"expected\" must be \"any\", \"no-stream\", \"exists\" or a revision");
    }
  }
  for (const auto& [key, value] : object.items()) {
    if (key != "stream" && key != "type" && key != "data" && key != "metadata" && key != "id" && key != "expected") {
      return Status::invalid_argument("unknown field \"" + key + "\"");
    }
  }
  return line;
}

}  // namespace evsrc::cli
