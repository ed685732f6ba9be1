// Fast decoding of the read responses of the HTTP API v1 (simdjson's
// On-Demand parser, no DOM): remote_codec.h's parse_event_page and
// parse_recorded_event. Same results and errors as the DOM decoder
// (parse_event_page_with_dom), which the fuzzer checks it against.
#pragma once

#include <string_view>

#include "client/remote_codec.h"

namespace evsrc::client {

Result<EventPage> decode_event_page(std::string_view body);
Result<RecordedEvent> decode_recorded_event(std::string_view json);

}  // namespace evsrc::client
