// JSON for the HTTP API (Boost.JSON), with the byte conventions of the CLI
// (tools/cli/json_event.h) so that `evsrc --server URL` stores and prints
// exactly what the local CLI does:
//   - in a request, event data/metadata given as a JSON string are the bytes
//     themselves; any other JSON value is stored as its compact serialisation;
//   - in a response, bytes that are a JSON document other than a bare string
//     are embedded as JSON; any other bytes become a JSON string.
// The compact serialisation is byte-for-byte nlohmann::json's dump(): keys in
// document order, the same string escapes, the same number formatting. Numbers
// are parsed correctly rounded (Boost 1.81's own parser is only within 1 ULP).
//
// Internal to the API's .cc files (it includes Boost.JSON: keep it out of
// headers that other targets include).
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/event_cursor.h"
#include "core/canonical_json.h"
#include "evsrc/types.h"

namespace evsrc::server {

// Nesting accepted in request bodies and stored documents.
inline constexpr std::size_t kMaxJsonDepth = 512;

// Parses one JSON document (RFC 8259: UTF-8 validated, no comments, no
// trailing commas). nullopt on any error; `error` (if given) says what.
std::optional<boost::json::value> parse_json(std::string_view text, std::string* error = nullptr);

// Appends the compact serialisation of `value` (nlohmann's dump() format).
void append_json(std::string& out, const boost::json::value& value);
std::string json_text(const boost::json::value& value);

// Appends `bytes` as a JSON string. Invalid UTF-8 sequences become U+FFFD,
// as nlohmann's dump with error_handler_t::replace does.
void append_json_string(std::string& out, std::string_view bytes);

// core/canonical_json.h: stored documents in this form are copied as they are.
using ::evsrc::is_canonical_json;

// Event bytes <-> JSON (see the conventions above).
void append_bytes_as_json(std::string& out, std::string_view bytes);
std::string json_to_bytes(const boost::json::value& value);

// A recorded event as the API (and the CLI) shows it:
// {"id","stream","revision","position","type","data","metadata","recordedAt"}.
void append_event_json(std::string& out, const EventView& event);
inline void append_recorded_event_json(std::string& out, const RecordedEvent& event) {
  append_event_json(out, EventView::of(event));
}

}  // namespace evsrc::server
