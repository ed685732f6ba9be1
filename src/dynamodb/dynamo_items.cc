#include "dynamodb/dynamo_items.h"

#include <charconv>

#include "aws/aws_json_client.h"

namespace evsrc::dynamo {
namespace {

Status missing(const char* name, const char* type) {
  return Status::corruption(std::string("dynamodb: item attribute '") + name + "' is missing or not of type " + type);
}

const Json* find_typed(const Json& item, const char* name, const char* type) {
  if (!item.is_object()) return nullptr;
  const auto attribute = item.find(name);
  if (attribute == item.end() || !attribute->is_object()) return nullptr;
  const auto value = attribute->find(type);
  if (value == attribute->end() || !value->is_string()) return nullptr;
  return &*value;
}

template <typename Int>
std::optional<Int> parse_int(const std::string& text) {
  Int value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Timestamp micros(std::uint64_t value) { return Timestamp(std::chrono::microseconds(static_cast<std::int64_t>(value))); }
std::uint64_t micros_of(Timestamp time) { return static_cast<std::uint64_t>(time.time_since_epoch().count()); }

}  // namespace

Json attribute_names(std::initializer_list<const char*> names) {
  Json out = Json::object();
  for (const char* name : names) out[std::string("#") + name] = name;
  return out;
}

Json attr_s(std::string_view text) { return Json{{"S", std::string(text)}}; }
Json attr_n(std::uint64_t number) { return Json{{"N", std::to_string(number)}}; }
Json attr_n_signed(std::int64_t number) { return Json{{"N", std::to_string(number)}}; }
Json attr_b(std::string_view bytes) { return Json{{"B", aws::base64_encode(bytes)}}; }
Json attr_bool(bool value) { return Json{{"BOOL", value}}; }

Result<std::string> get_s(const Json& item, const char* name) {
  const Json* value = find_typed(item, name, "S");
  if (value == nullptr) return missing(name, "S");
  return value->get<std::string>();
}

Result<std::uint64_t> get_n(const Json& item, const char* name) {
  const Json* value = find_typed(item, name, "N");
  if (value == nullptr) return missing(name, "N");
  const std::optional<std::uint64_t> number = parse_int<std::uint64_t>(value->get_ref<const std::string&>());
  if (!number) return missing(name, "N (unsigned integer)");
  return *number;
}

Result<std::int64_t> get_n_signed(const Json& item, const char* name) {
  const Json* value = find_typed(item, name, "N");
  if (value == nullptr) return missing(name, "N");
  const std::optional<std::int64_t> number = parse_int<std::int64_t>(value->get_ref<const std::string&>());
  if (!number) return missing(name, "N (integer)");
  return *number;
}

Result<std::string> get_b(const Json& item, const char* name) {
  const Json* value = find_typed(item, name, "B");
  if (value == nullptr) return missing(name, "B");
  Result<std::string> bytes = aws::base64_decode(value->get_ref<const std::string&>());
  if (!bytes.ok()) return missing(name, "B (base64)");
  return bytes;
}

Result<std::string> get_b_or_empty(const Json& item, const char* name) {
  if (!item.is_object() || !item.contains(name)) return std::string();
  return get_b(item, name);
}

void put_b(Json& item, const char* name, std::string_view bytes) {
  if (!bytes.empty()) item[name] = attr_b(bytes);
}

std::optional<std::uint64_t> get_optional_n(const Json& item, const char* name) {
  const Json* value = find_typed(item, name, "N");
  if (value == nullptr) return std::nullopt;
  return parse_int<std::uint64_t>(value->get_ref<const std::string&>());
}

bool get_bool(const Json& item, const char* name) {
  if (!item.is_object()) return false;
  const auto attribute = item.find(name);
  if (attribute == item.end() || !attribute->is_object()) return false;
  const auto value = attribute->find("BOOL");
  return value != attribute->end() && value->is_boolean() && value->get<bool>();
}

std::size_t event_item_bytes(const RecordedEvent& event) {
  // Names (s r p id t d m c at) + values; numbers count up to 21 bytes.
  return 16 + event.stream.size() + 3 * 21 + 36 + event.type.size() + event.data.size() + event.metadata.size() +
         event.content_type.size();
}

Json encode_event_item(const RecordedEvent& event) {
  Json item{{"s", attr_s(event.stream)},
            {"r", attr_n(event.revision)},
            {"p", attr_n(event.position)},
            {"id", attr_s(event.id.to_string())},
            {"at", attr_n(micros_of(event.recorded_at))}};
  put_b(item, "t", event.type);
  put_b(item, "d", event.data);
  put_b(item, "m", event.metadata);
  put_b(item, "c", event.content_type);
  return item;
}

namespace {

// The fields an event item and a log entry share.
Status decode_event_fields(const Json& item, RecordedEvent& event) {
  Result<std::string> stream = get_s(item, "s");
  Result<std::uint64_t> revision = get_n(item, "r");
  Result<std::string> id = get_s(item, "id");
  Result<std::string> type = get_b_or_empty(item, "t");
  Result<std::string> data = get_b_or_empty(item, "d");
  Result<std::string> metadata = get_b_or_empty(item, "m");
  Result<std::string> content_type = get_b_or_empty(item, "c");
  for (const Status& status : {stream.status(), revision.status(), id.status(), type.status(), data.status(),
                               metadata.status(), content_type.status()}) {
    if (!status.ok()) return status;
  }
  const std::optional<Uuid> uuid = Uuid::parse(*id);
  if (!uuid) return Status::corruption("dynamodb: event id '" + *id + "' is not a UUID");
  event.stream = std::move(stream).value();
  event.revision = *revision;
  event.id = *uuid;
  event.type = std::move(type).value();
  event.data = std::move(data).value();
  event.metadata = std::move(metadata).value();
  event.content_type = std::move(content_type).value();
  return Status();
}

}  // namespace

Result<RecordedEvent> decode_event_item(const Json& item) {
  RecordedEvent event;
  if (Status status = decode_event_fields(item, event); !status.ok()) return status;
  Result<std::uint64_t> position = get_n(item, "p");
  if (!position.ok()) return position.status();
  Result<std::uint64_t> at = get_n(item, "at");
  if (!at.ok()) return at.status();
  event.position = *position;
  event.recorded_at = micros(*at);
  return event;
}

Json encode_log_entry(const RecordedEvent& event) {
  Json entry{{"s", attr_s(event.stream)}, {"r", attr_n(event.revision)}, {"id", attr_s(event.id.to_string())}};
  put_b(entry, "t", event.type);
  put_b(entry, "d", event.data);
  put_b(entry, "m", event.metadata);
  put_b(entry, "c", event.content_type);
  return Json{{"M", std::move(entry)}};
}

Result<RecordedEvent> decode_log_entry(const Json& entry, Position position, Timestamp recorded_at) {
  if (!entry.is_object() || !entry.contains("M") || !entry["M"].is_object()) {
    return Status::corruption("dynamodb: a log entry is not a map");
  }
  RecordedEvent event;
  if (Status status = decode_event_fields(entry["M"], event); !status.ok()) return status;
  event.position = position;
  event.recorded_at = recorded_at;
  return event;
}

Json encode_log_item(const std::vector<RecordedEvent>& events) {
  Json entries = Json::array();
  for (const RecordedEvent& event : events) entries.push_back(encode_log_entry(event));
  const Position first = events.front().position;
  return Json{{"b", attr_n(log_bucket(first))},
              {"p", attr_n(first)},
              {"n", attr_n(first + events.size())},
              {"at", attr_n(micros_of(events.front().recorded_at))},
              {"e", Json{{"L", std::move(entries)}}}};
}

Result<LogItem> decode_log_item(const Json& item) {
  Result<std::uint64_t> first = get_n(item, "p");
  if (!first.ok()) return first.status();
  Result<std::uint64_t> next = get_n(item, "n");
  if (!next.ok()) return next.status();
  Result<std::uint64_t> at = get_n(item, "at");
  if (!at.ok()) return at.status();
  const auto list = item.find("e");
  if (list == item.end() || !list->is_object() || !list->contains("L") || !(*list)["L"].is_array()) {
    return missing("e", "L");
  }
  const Json& entries = (*list)["L"];
  if (*next < *first || *next - *first != entries.size()) {
    return Status::corruption("dynamodb: log item at position " + std::to_string(*first) + " holds " +
                              std::to_string(entries.size()) + " events but spans up to " + std::to_string(*next));
  }
  LogItem log{*first, *next, {}};
  log.events.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Result<RecordedEvent> event = decode_log_entry(entries[i], *first + i, micros(*at));
    if (!event.ok()) return event.status();
    log.events.push_back(std::move(event).value());
  }
  return log;
}

Json stream_key(std::string_view stream) { return Json{{"g", attr_s("s")}, {"s", attr_s(stream)}}; }

Json encode_stream_item(std::string_view stream, const StreamRow& row) {
  Json item = stream_key(stream);
  const StreamState& state = row.state;
  if (state.last_revision) item["lr"] = attr_n(*state.last_revision);
  if (row.last_position) item["lp"] = attr_n(*row.last_position);
  item["vf"] = attr_n(state.visible_from);
  item["sd"] = attr_bool(state.soft_deleted);
  item["tb"] = attr_bool(state.tombstoned);
  if (state.metadata.max_count) item["mc"] = attr_n(*state.metadata.max_count);
  if (state.metadata.max_age) item["ma"] = attr_n(static_cast<std::uint64_t>(state.metadata.max_age->count()));
  if (state.metadata.truncate_before) item["tr"] = attr_n(*state.metadata.truncate_before);
  put_b(item, "cu", state.metadata.custom);
  item["v"] = attr_n(row.version);
  return item;
}

Result<StreamRow> decode_stream_item(const Json& item) {
  StreamRow row;
  StreamState& state = row.state;
  state.last_revision = get_optional_n(item, "lr");
  row.last_position = get_optional_n(item, "lp");
  state.visible_from = get_optional_n(item, "vf").value_or(0);
  state.soft_deleted = get_bool(item, "sd");
  state.tombstoned = get_bool(item, "tb");
  state.metadata.max_count = get_optional_n(item, "mc");
  if (const std::optional<std::uint64_t> age = get_optional_n(item, "ma")) {
    state.metadata.max_age = std::chrono::seconds(static_cast<std::int64_t>(*age));
  }
  state.metadata.truncate_before = get_optional_n(item, "tr");
  Result<std::string> custom = get_b_or_empty(item, "cu");
  if (!custom.ok()) return custom.status();
  state.metadata.custom = std::move(custom).value();
  Result<std::uint64_t> version = get_n(item, "v");
  if (!version.ok()) return version.status();
  row.version = *version;
  return row;
}

}  // namespace evsrc::dynamo
