// The remote client's decoder of read pages and events (remote_codec.h's
// parse_event_page / parse_recorded_event): simdjson's On-Demand parser over
// the body, straight into owned events, without a DOM. Embedded data and
// metadata already in the canonical compact form (core/canonical_json.h:
// what the server writes for what was stored compact) are taken as their
// bytes; anything else (doubles, which the server writes in its own way) is
// parsed and written again with nlohmann as the DOM decoder does, so both
// decoders give the same bytes (fuzz/remote_codec_fuzzer.cc checks it).
#include "client/page_decoder.h"

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "core/canonical_json.h"
#include "core/json_depth.h"
#include "evsrc/uuid.h"

namespace evsrc::client {
namespace {

namespace od = simdjson::ondemand;
using Json = nlohmann::ordered_json;

constexpr std::string_view kDefaultContentType = "application/json";

Status protocol_error(std::string_view what) {
  return Status::io_error("unexpected response from the server: " + std::string(what));
}

Status not_json() { return protocol_error("not JSON (or nested deeper than the server nests)"); }

// One parser per thread: its buffers grow to the largest body seen and are
// reused. The body is copied into `padded` (simdjson reads up to
// SIMDJSON_PADDING bytes past the end).
struct ThreadParser {
  // Nested no deeper than the DOM decoder accepts (core/json_depth.h).
  ThreadParser() : ready(parser.allocate(1 << 16, static_cast<std::size_t>(kMaxJsonNesting))) {}

  od::parser parser;
  const simdjson::error_code ready;
  std::string padded;

  simdjson::padded_string_view pad(std::string_view body) {
    padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(body);
    return simdjson::padded_string_view(padded.data(), padded.size(), padded.capacity());
  }
};

ThreadParser& thread_parser() {
  thread_local ThreadParser parser;
  return parser;
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// A JSON value other than a string as event bytes: its compact serialisation.
Status json_bytes(std::string_view raw, std::string& out) {
  raw = trim_right(raw);
  if (is_canonical_json(raw)) {
    out.assign(raw);
    return Status();
  }
  const Json parsed = parse_json_within_depth(raw);
  if (parsed.is_discarded()) return not_json();
  try {
    out = parsed.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception&) {
    return not_json();
  }
  return Status();
}

// Data or metadata: a JSON string carries the bytes themselves, any other
// value its compact serialisation.
Status value_bytes(od::value value, std::string& out) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return not_json();
  std::string_view raw;
  switch (type) {
    case od::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return not_json();
      out.assign(text);
      return Status();
    }
    case od::json_type::object: {
      od::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS || object.raw_json().get(raw) != simdjson::SUCCESS) {
        return not_json();
      }
      return json_bytes(raw, out);
    }
    case od::json_type::array: {
      od::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS || array.raw_json().get(raw) != simdjson::SUCCESS) {
        return not_json();
      }
      return json_bytes(raw, out);
    }
    default: {
      // Scalars: raw_json_token() is not checked by On-Demand; json_bytes
      // checks it (or parses it).
      return json_bytes(value.raw_json_token(), out);
    }
  }
}

Status string_field(od::value value, std::string_view key, std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return protocol_error("\"" + std::string(key) + "\" is not a string");
  }
  out.assign(text);
  return Status();
}

Status u64_field(od::value value, std::string_view key, std::uint64_t& out) {
  if (value.get_uint64().get(out) != simdjson::SUCCESS) {
    return protocol_error("\"" + std::string(key) + "\" is not an unsigned integer");
  }
  return Status();
}

// The fields of one event object, in any order; unknown ones are skipped.
Status decode_event(od::object object, RecordedEvent& event) {
  bool id = false, stream = false, revision = false, position = false, type = false, recorded_at = false;
  bool content_type = false;
  event.data.clear();
  event.metadata.clear();
  std::string scratch;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return not_json();
    od::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return not_json();
    Status status;
    if (key == "id") {
      status = string_field(value, key, scratch);
      if (status.ok()) {
        const std::optional<Uuid> uuid = Uuid::parse(scratch);
        if (!uuid) return protocol_error("event id '" + scratch + "' is not a UUID");
        event.id = *uuid;
        id = true;
      }
    } else if (key == "stream") {
      status = string_field(value, key, event.stream);
      stream = true;
    } else if (key == "revision") {
      status = u64_field(value, key, event.revision);
      revision = true;
    } else if (key == "position") {
      status = u64_field(value, key, event.position);
      position = true;
    } else if (key == "type") {
      status = string_field(value, key, event.type);
      type = true;
    } else if (key == "data") {
      status = value_bytes(value, event.data);
    } else if (key == "metadata") {
      status = value_bytes(value, event.metadata);
    } else if (key == "recordedAt") {
      status = string_field(value, key, scratch);
      if (status.ok()) {
        const std::optional<Timestamp> time = parse_rfc3339(scratch);
        if (!time) return protocol_error("recordedAt '" + scratch + "' is not an RFC 3339 time");
        event.recorded_at = *time;
        recorded_at = true;
      }
    } else if (key == "contentType") {
      // Anything but a string leaves the default, as the DOM decoder does.
      std::string_view text;
      if (value.get_string().get(text) == simdjson::SUCCESS) {
        event.content_type.assign(text);
        content_type = true;
      }
    }
    if (!status.ok()) return status;
  }
  if (!id) return protocol_error("\"id\" is not a string");
  if (!stream) return protocol_error("\"stream\" is not a string");
  if (!revision) return protocol_error("\"revision\" is not an unsigned integer");
  if (!position) return protocol_error("\"position\" is not an unsigned integer");
  if (!type) return protocol_error("\"type\" is not a string");
  if (!recorded_at) return protocol_error("\"recordedAt\" is not a string");
  if (!content_type) event.content_type.assign(kDefaultContentType);
  return Status();
}

// Opens `body` as a document holding one value and nothing after it
// (On-Demand reads lazily: the document is skimmed once for its end, then
// rewound).
Status open_document(std::string_view body, od::document& document) {
  ThreadParser& state = thread_parser();
  if (state.ready != simdjson::SUCCESS) return Status::io_error("no memory for the JSON parser of responses");
  const simdjson::padded_string_view padded = state.pad(body);
  if (state.parser.iterate(padded).get(document) != simdjson::SUCCESS) return not_json();
  std::string_view whole;
  if (document.raw_json().get(whole) != simdjson::SUCCESS) return not_json();
  const char* end = padded.data() + trim_right(padded).size();
  if (whole.data() + trim_right(whole).size() != end) return not_json();
  document.rewind();
  return Status();
}

}  // namespace

Result<EventPage> decode_event_page(std::string_view body) {
  od::document document;
  if (Status status = open_document(body, document); !status.ok()) return status;
  od::object root;
  if (document.get_object().get(root) != simdjson::SUCCESS) return not_json();
  EventPage page;
  bool have_events = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) return not_json();
    od::value value;
    if (field.value().get(value) != simdjson::SUCCESS) return not_json();
    if (key == "events") {
      od::array events;
      if (value.get_array().get(events) != simdjson::SUCCESS) return protocol_error("a page has no \"events\" array");
      page.events.clear();
      for (auto element : events) {
        od::object object;
        if (element.get_object().get(object) != simdjson::SUCCESS) return protocol_error("an event is not a JSON object");
        RecordedEvent& event = page.events.emplace_back();
        if (Status status = decode_event(object, event); !status.ok()) return status;
      }
      have_events = true;
    } else if (key == "next") {
      bool null = false;
      if (value.is_null().get(null) != simdjson::SUCCESS) return not_json();
      if (null) {
        page.next.reset();
      } else {
        std::uint64_t next = 0;
        if (value.get_uint64().get(next) != simdjson::SUCCESS) {
          return protocol_error("\"next\" is not an unsigned integer or null");
        }
        page.next = next;
      }
    }
  }
  if (!have_events) return protocol_error("a page has no \"events\" array");
  return page;
}

Result<RecordedEvent> decode_recorded_event(std::string_view json) {
  od::document document;
  if (Status status = open_document(json, document); !status.ok()) return status;
  od::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) return protocol_error("an event is not a JSON object");
  RecordedEvent event;
  if (Status status = decode_event(object, event); !status.ok()) return status;
  return event;
}

}  // namespace evsrc::client
