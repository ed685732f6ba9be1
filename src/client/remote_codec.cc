#include "client/remote_codec.h"

#include "client/page_decoder.h"

#include "core/json_depth.h"

#include <array>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

namespace evsrc::client {
namespace {

// nlohmann's ordered_json, as the CLI: its compact dump() is the server's
// canonical form of embedded JSON (src/server/api_json.h).
using Json = nlohmann::ordered_json;

// EventData's default; the API leaves it out of events.
constexpr std::string_view kDefaultContentType = "application/json";

Status protocol_error(std::string_view what) {
  return Status::io_error("unexpected response from the server: " + std::string(what));
}

Result<Json> parse_body(std::string_view body) {
  Json value = parse_json_within_depth(body);
  if (value.is_discarded()) return protocol_error("not JSON (or nested deeper than the server nests)");
  return value;
}

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::uint64_t> as_u64(const Json* value) {
  if (value == nullptr || !value->is_number_integer()) return std::nullopt;
  if (value->is_number_unsigned()) return value->get<std::uint64_t>();
  const auto number = value->get<std::int64_t>();
  if (number < 0) return std::nullopt;
  return static_cast<std::uint64_t>(number);
}

// A field that must be an unsigned integer.
Result<std::uint64_t> required_u64(const Json& object, std::string_view key) {
  const std::optional<std::uint64_t> value = as_u64(member(object, key));
  if (!value) return protocol_error("\"" + std::string(key) + "\" is not an unsigned integer");
  return *value;
}

// A field that is an unsigned integer or null/absent.
Result<std::optional<std::uint64_t>> optional_u64(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  if (value == nullptr || value->is_null()) return std::optional<std::uint64_t>();
  const std::optional<std::uint64_t> number = as_u64(value);
  if (!number) return protocol_error("\"" + std::string(key) + "\" is not an unsigned integer or null");
  return number;
}

Result<std::string> required_string(const Json& object, std::string_view key) {
  const Json* value = member(object, key);
  if (value == nullptr || !value->is_string()) return protocol_error("\"" + std::string(key) + "\" is not a string");
  return value->get<std::string>();
}

std::string compact(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::strict); }

// Bytes as the server's convention carries them (see remote_codec.h).
Json bytes_to_value(std::string_view bytes) {
  if (!bytes.empty()) {
    Json parsed = parse_json_within_depth(bytes);
    if (!parsed.is_discarded() && !parsed.is_string() && compact(parsed) == bytes) return parsed;
  }
  return Json(std::string(bytes));
}

// Event metadata and custom stream metadata must be JSON objects in the API:
// an object is sent as such (the server keeps its compact form, which reads
// back as the same JSON); other bytes as a string, which the server refuses.
Json object_bytes_to_value(std::string_view bytes) {
  Json parsed = parse_json_within_depth(bytes);
  if (!parsed.is_discarded() && parsed.is_object()) return parsed;
  return Json(std::string(bytes));
}

std::string value_to_bytes(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return compact(value);
}

Json event_object(const EventData& event) {
  Json object = Json::object();
  if (!event.id.is_nil()) object["id"] = event.id.to_string();
  object["type"] = event.type;
  object["data"] = bytes_to_value(event.data);
  if (!event.metadata.empty()) object["metadata"] = object_bytes_to_value(event.metadata);
  // Only sent when it says something: a server that does not keep content
  // types refuses the field rather than dropping it.
  if (event.content_type != kDefaultContentType) object["contentType"] = event.content_type;
  return object;
}

Json events_array(std::span<const EventData> events) {
  Json array = Json::array();
  for (const EventData& event : events) array.push_back(event_object(event));
  return array;
}

Json expected_value(const ExpectedRevision& expected) {
  if (expected.kind() == ExpectedRevision::Kind::exact) return Json(expected.revision());
  return Json(expected.to_string());
}

// Serialises a request body; invalid_argument when some text is not valid
// UTF-8 (JSON cannot carry it).
Result<std::string> request_text(const Json& body) {
  try {
    return compact(body);
  } catch (const Json::type_error&) {
    return Status::invalid_argument("event type, data or metadata is not valid UTF-8: the HTTP API cannot carry it");
  }
}

Result<RecordedEvent> recorded_event_from(const Json& object) {
  if (!object.is_object()) return protocol_error("an event is not a JSON object");
  RecordedEvent event;
  auto id = required_string(object, "id");
  if (!id.ok()) return id.status();
  const std::optional<Uuid> uuid = Uuid::parse(*id);
  if (!uuid) return protocol_error("event id '" + *id + "' is not a UUID");
  event.id = *uuid;
  auto stream = required_string(object, "stream");
  if (!stream.ok()) return stream.status();
  event.stream = std::move(stream).value();
  auto revision = required_u64(object, "revision");
  if (!revision.ok()) return revision.status();
  event.revision = *revision;
  auto position = required_u64(object, "position");
  if (!position.ok()) return position.status();
  event.position = *position;
  auto type = required_string(object, "type");
  if (!type.ok()) return type.status();
  event.type = std::move(type).value();
  if (const Json* data = member(object, "data")) event.data = value_to_bytes(*data);
  if (const Json* metadata = member(object, "metadata")) event.metadata = value_to_bytes(*metadata);
  auto recorded_at = required_string(object, "recordedAt");
  if (!recorded_at.ok()) return recorded_at.status();
  const std::optional<Timestamp> time = parse_rfc3339(*recorded_at);
  if (!time) return protocol_error("recordedAt '" + *recorded_at + "' is not an RFC 3339 time");
  event.recorded_at = *time;
  const Json* content_type = member(object, "contentType");
  event.content_type = content_type != nullptr && content_type->is_string() ? content_type->get<std::string>()
                                                                            : std::string(kDefaultContentType);
  return event;
}

std::optional<ErrorCode> code_named(std::string_view name) {
  for (auto code = static_cast<std::uint8_t>(ErrorCode::wrong_expected_revision);
       code <= static_cast<std::uint8_t>(ErrorCode::unavailable); ++code) {
    if (error_code_name(static_cast<ErrorCode>(code)) == name) return static_cast<ErrorCode>(code);
  }
  // The server's own codes (src/server/api.h).
  static constexpr std::array<std::pair<std::string_view, ErrorCode>, 12> kServerCodes = {{
      {"bad_request", ErrorCode::invalid_argument},
      {"invalid_stream_name", ErrorCode::invalid_argument},
      {"invalid_expected_revision", ErrorCode::invalid_argument},
      {"invalid_event", ErrorCode::invalid_argument},
      {"method_not_allowed", ErrorCode::invalid_argument},
      {"stream_not_found", ErrorCode::not_found},
      {"event_not_found", ErrorCode::not_found},
      {"unauthenticated", ErrorCode::rejected},
      {"forbidden", ErrorCode::rejected},
      {"internal", ErrorCode::io_error},
      {"payload_too_large", ErrorCode::too_large},
      {"headers_too_large", ErrorCode::too_large},
  }};
  for (const auto& [server_name, code] : kServerCodes) {
    if (server_name == name) return code;
  }
  return std::nullopt;
}

ErrorCode code_for_http_status(unsigned status) {
  switch (status) {
    case 400:
    case 405:
      return ErrorCode::invalid_argument;
    case 401:
    case 403:
      return ErrorCode::rejected;
    case 404:
      return ErrorCode::not_found;
    case 409:
      return ErrorCode::wrong_expected_revision;
    case 410:
      return ErrorCode::stream_deleted;
    case 413:
    case 431:
      return ErrorCode::too_large;
    case 422:
      return ErrorCode::rejected;
    case 503:
      return ErrorCode::unavailable;
    case 504:
      return ErrorCode::timeout;
    default:
      return ErrorCode::io_error;
  }
}

}  // namespace

Result<std::string> events_body(std::span<const EventData> events) { return request_text(events_array(events)); }

Result<std::string> transaction_body(std::span<const TransactionPart> parts) {
  Json array = Json::array();
  for (const TransactionPart& part : parts) {
    Json object = Json::object();
    object["stream"] = part.stream;
    object["expected"] = expected_value(part.expected);
    object["events"] = events_array(part.events);
    array.push_back(std::move(object));
  }
  Json body = Json::object();
  body["parts"] = std::move(array);
  return request_text(body);
}

Result<std::string> metadata_body(const StreamMetadata& metadata) {
  Json body = Json::object();
  body["maxCount"] = metadata.max_count ? Json(*metadata.max_count) : Json(nullptr);
  body["maxAge"] = metadata.max_age ? Json(metadata.max_age->count()) : Json(nullptr);
  body["truncateBefore"] = metadata.truncate_before ? Json(*metadata.truncate_before) : Json(nullptr);
  body["custom"] = metadata.custom.empty() ? Json(nullptr) : object_bytes_to_value(metadata.custom);
  return request_text(body);
}

Result<AppendResult> parse_append_result(std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  auto first = required_u64(*parsed, "firstRevision");
  auto last = required_u64(*parsed, "lastRevision");
  auto position = required_u64(*parsed, "position");
  if (!first.ok()) return first.status();
  if (!last.ok()) return last.status();
  if (!position.ok()) return position.status();
  return AppendResult{*first, *last, *position};
}

Result<TransactionResult> parse_transaction_result(std::string_view body, std::size_t parts) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  const Json* array = member(*parsed, "parts");
  if (array == nullptr || !array->is_array()) return protocol_error("a transaction result has no parts");
  if (array->size() != parts) return protocol_error("a transaction result has the wrong number of parts");
  TransactionResult result;
  for (const Json& part : *array) {
    auto first = optional_u64(part, "firstRevision");
    auto last = optional_u64(part, "lastRevision");
    auto position = required_u64(part, "position");
    if (!first.ok()) return first.status();
    if (!last.ok()) return last.status();
    if (!position.ok()) return position.status();
    result.parts.push_back(TransactionPartResult{*first, *last, *position});
  }
  auto position = optional_u64(*parsed, "position");
  if (!position.ok()) return position.status();
  if (*position) {
    result.position = **position;
  } else {
    for (const TransactionPartResult& part : result.parts) result.position = std::max(result.position, part.position);
  }
  return result;
}

Result<RecordedEvent> parse_recorded_event(std::string_view text) { return decode_recorded_event(text); }

Result<EventPage> parse_event_page(std::string_view body) { return decode_event_page(body); }

Result<RecordedEvent> parse_recorded_event_with_dom(std::string_view text) {
  auto parsed = parse_body(text);
  if (!parsed.ok()) return parsed.status();
  return recorded_event_from(*parsed);
}

Result<EventPage> parse_event_page_with_dom(std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  const Json* events = member(*parsed, "events");
  if (events == nullptr || !events->is_array()) return protocol_error("a page has no \"events\" array");
  EventPage page;
  page.events.reserve(events->size());
  for (const Json& value : *events) {
    auto event = recorded_event_from(value);
    if (!event.ok()) return event.status();
    page.events.push_back(std::move(event).value());
  }
  auto next = optional_u64(*parsed, "next");
  if (!next.ok()) return next.status();
  page.next = *next;
  return page;
}

Result<StreamListPage> parse_stream_list(std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  const Json* streams = member(*parsed, "streams");
  if (streams == nullptr || !streams->is_array()) return protocol_error("a stream list has no \"streams\" array");
  StreamListPage page;
  for (const Json& value : *streams) {
    StreamListPage::Entry entry;
    if (value.is_string()) {
      entry.name = value.get<std::string>();
    } else if (value.is_object()) {
      auto name = required_string(value, "stream");
      if (!name.ok()) return name.status();
      entry.name = std::move(name).value();
      auto last = optional_u64(value, "lastRevision");
      if (!last.ok()) return last.status();
      entry.last_revision = *last;
    } else {
      return protocol_error("a stream list entry is neither a name nor an object");
    }
    page.streams.push_back(std::move(entry));
  }
  return page;
}

Result<StoreStats> parse_stats(std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  auto events = required_u64(*parsed, "events");
  auto streams = required_u64(*parsed, "streams");
  auto bytes = required_u64(*parsed, "bytes");
  auto segments = required_u64(*parsed, "segments");
  auto last = optional_u64(*parsed, "lastPosition");
  if (!events.ok()) return events.status();
  if (!streams.ok()) return streams.status();
  if (!bytes.ok()) return bytes.status();
  if (!segments.ok()) return segments.status();
  if (!last.ok()) return last.status();
  StoreStats stats;
  stats.events = *events;
  stats.streams = *streams;
  stats.bytes = *bytes;
  stats.segments = *segments;
  stats.last_position = *last;
  return stats;
}

Result<StreamInfo> parse_stream_info(std::string_view stream, std::string_view body) {
  auto parsed = parse_body(body);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return protocol_error("stream metadata is not a JSON object");
  StreamInfo info;
  info.name = std::string(stream);
  auto last = optional_u64(*parsed, "lastRevision");
  if (!last.ok()) return last.status();
  info.last_revision = *last;
  const auto flag = [&](std::string_view key) {
    const Json* value = member(*parsed, key);
    return value != nullptr && value->is_boolean() && value->get<bool>();
  };
  info.soft_deleted = flag("deleted");
  info.tombstoned = flag("tombstoned");
  // The settings may sit in a nested "metadata" object or at the top level.
  const Json* settings = &*parsed;
  if (const Json* nested = member(*parsed, "metadata"); nested != nullptr && nested->is_object()) settings = nested;
  auto max_count = optional_u64(*settings, "maxCount");
  auto max_age = optional_u64(*settings, "maxAge");
  auto truncate_before = optional_u64(*settings, "truncateBefore");
  if (!max_count.ok()) return max_count.status();
  if (!max_age.ok()) return max_age.status();
  if (!truncate_before.ok()) return truncate_before.status();
  info.metadata.max_count = *max_count;
  if (*max_age) info.metadata.max_age = std::chrono::seconds(static_cast<std::int64_t>(**max_age));
  info.metadata.truncate_before = *truncate_before;
  if (const Json* custom = member(*settings, "custom"); custom != nullptr && !custom->is_null()) {
    info.metadata.custom = value_to_bytes(*custom);
  }
  return info;
}

Status status_from_response(unsigned http_status, std::string_view body) {
  const Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  std::string code_name;
  std::string message;
  if (const Json* error = member(parsed, "error"); error != nullptr && error->is_string()) {
    code_name = error->get<std::string>();
  }
  if (const Json* text = member(parsed, "message"); text != nullptr && text->is_string()) {
    message = text->get<std::string>();
  }
  std::optional<ErrorCode> code = code_named(code_name);
  if (!code) {
    code = code_for_http_status(http_status);
    if (message.empty()) message = "HTTP " + std::to_string(http_status) + (code_name.empty() ? "" : " " + code_name);
  }
  if (*code == ErrorCode::wrong_expected_revision) {
    return Status::wrong_expected_revision(as_u64(member(parsed, "actual")), std::move(message));
  }
  return Status(*code, std::move(message));
}

std::optional<Timestamp> parse_rfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
    if (at + count > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::size_t start = at;
    std::int64_t scale = 100'000;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      micros += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  std::int64_t offset_seconds = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const auto offset_hour = digits(at + 1, 2), offset_minute = digits(at + 4, 2);
    if (!offset_hour || !offset_minute || text[at + 3] != ':') return std::nullopt;
    offset_seconds = (*offset_hour * 3600 + *offset_minute * 60) * (text[at] == '+' ? 1 : -1);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const std::int64_t seconds = std::chrono::sys_days(date).time_since_epoch().count() * 86400 + *hour * 3600 +
                               *minute * 60 + *second - offset_seconds;
  // Only times format_rfc3339 can write back (years 0000..9999 in UTC): an
  // offset must not carry a time out of them.
  constexpr std::int64_t kFirstSecond = -62'167'219'200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kEndSecond = 253'402'300'800;    // 10000-01-01T00:00:00Z
  if (seconds < kFirstSecond || seconds >= kEndSecond) return std::nullopt;
  return Timestamp(std::chrono::microseconds(seconds * 1'000'000 + micros));
}

std::optional<std::uint64_t> parse_etag(std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(etag.data(), etag.data() + etag.size(), value);
  if (etag.empty() || error != std::errc() || end != etag.data() + etag.size()) return std::nullopt;
  return value;
}

}  // namespace evsrc::client
