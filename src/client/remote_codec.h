// The JSON of the HTTP API v1 (docs/api/openapi.yaml) as the remote store
// speaks it: request bodies from store types, store types from response
// bodies, and Status values from error responses.
//
// Event data and metadata are bytes; on the wire they follow the server's
// convention (the CLI's, tools/cli/json_event.h): a JSON string carries the
// bytes themselves, any other JSON value its compact serialisation (nlohmann's
// dump(), which the server reproduces byte for byte). Data is sent as
// embedded JSON only when that serialisation reproduces it exactly, otherwise
// as a string, so the server stores exactly the bytes given. Event metadata
// must be a JSON object in the API: it is sent as one, and stored in compact
// form (as the same JSON, not necessarily the same bytes). Responses embed
// stored JSON as JSON, which comes back as its compact serialisation: what
// was stored compact reads back byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc::client {

// Request bodies; invalid_argument when a text is not valid UTF-8 (JSON
// cannot carry it).
// A JSON array of events: [{"id"?,"type","data","metadata"?}, ...].
Result<std::string> events_body(std::span<const EventData> events);
// {"parts":[{"stream","expected","events"}, ...]}.
Result<std::string> transaction_body(std::span<const TransactionPart> parts);
// The metadata document of PUT /v1/streams/{stream}/metadata.
Result<std::string> metadata_body(const StreamMetadata& metadata);

// Parsed response bodies: io_error for a body without the documented shape
// (the server broke the protocol).
Result<AppendResult> parse_append_result(std::string_view body);
Result<TransactionResult> parse_transaction_result(std::string_view body, std::size_t parts);
Result<RecordedEvent> parse_recorded_event(std::string_view json);

struct EventPage {
  std::vector<RecordedEvent> events;
  std::optional<std::uint64_t> next;
};
Result<EventPage> parse_event_page(std::string_view body);

// The same decoders over a DOM (nlohmann): the reference the fast ones
// (page_decoder.h) are checked against.
Result<EventPage> parse_event_page_with_dom(std::string_view body);
Result<RecordedEvent> parse_recorded_event_with_dom(std::string_view json);

struct StreamListPage {
  struct Entry {
    std::string name;
    std::optional<StreamRevision> last_revision;
  };
  std::vector<Entry> streams;
};
Result<StreamListPage> parse_stream_list(std::string_view body);

Result<StoreStats> parse_stats(std::string_view body);
// The body of GET /v1/streams/{stream}/metadata as a StreamInfo.
Result<StreamInfo> parse_stream_info(std::string_view stream, std::string_view body);

// The Status of an error response (status >= 300): the body's "error" code
// mapped back to the store's ErrorCode ("actual" for a wrong expected
// revision); the HTTP status decides when the body says nothing usable.
Status status_from_response(unsigned http_status, std::string_view body);

// "2026-11-29T08:34:08.123456Z" (any fraction length, or none, and "Z" or a
// numeric offset); nullopt when malformed or outside the years 0000-9999 in
// UTC (what format_rfc3339 can write back). Response bodies nested deeper
// than 512 levels are io_error.
std::optional<Timestamp> parse_rfc3339(std::string_view text);

// A revision from an ETag ("\"5\"" or W/"5"); nullopt otherwise.
std::optional<std::uint64_t> parse_etag(std::string_view etag);

}  // namespace evsrc::client
