// Feeds: the fuzz bytes to the decoders of the remote store's responses
// (src/client/remote_codec.h). The first byte chooses the decoder; the rest
// is the response body (or header value). parse_transaction_result takes its
// part count, status_from_response its HTTP status, from the next bytes.
// Asserts: no crash, hang or sanitizer report on any body; an event nested
// deeper than 512 levels is refused (the server never nests deeper); what decodes
// survives the round trip through the encoder of the other side:
//   - events (parse_recorded_event, parse_event_page) written back as the
//     server writes them (server::append_recorded_event_json) decode to the
//     same event — data and metadata byte for byte where the remote_codec.h
//     contract promises it (bytes that are not JSON, or compact JSON), as the
//     same JSON value otherwise;
//   - a timestamp parse_rfc3339 accepts is formatted by format_rfc3339 as text
//     that parses back to it; an ETag revision written as "N" parses back;
//   - the fast decoders (page_decoder.h) take every event and page the DOM
//     decoders take, and decode them to the same events (they may take more:
//     On-Demand does not look into fields it does not read);
//   - status_from_response never says ok, and names the actual revision only
//     for wrong_expected_revision.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "client/remote_codec.h"
#include "decoder_fuzz.h"
#include "server/api_json.h"

namespace {

using evsrc::RecordedEvent;
using Json = nlohmann::ordered_json;

// Whether the client reads `bytes` back byte for byte after the server
// embedded them (remote_codec.h): bytes that are no JSON document other than
// a string, or its compact serialisation.
bool reads_back_exactly(const std::string& bytes) {
  const Json parsed = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || parsed.is_string()) return true;
  return parsed.dump(-1, ' ', false, Json::error_handler_t::replace) == bytes;
}

bool same_bytes_or_same_document(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const Json x = Json::parse(a, nullptr, /*allow_exceptions=*/false);
  const Json y = Json::parse(b, nullptr, /*allow_exceptions=*/false);
  return !x.is_discarded() && !y.is_discarded() && x == y;
}

void check_event(const RecordedEvent& event) {
  std::string served;
  evsrc::server::append_recorded_event_json(served, event);
  auto again = evsrc::client::parse_recorded_event(served);
  EVSRC_FUZZ_CHECK(again.ok(), "an event as the server writes it does not decode");
  EVSRC_FUZZ_CHECK(again->id == event.id && again->stream == event.stream && again->revision == event.revision &&
                       again->position == event.position && again->type == event.type &&
                       again->content_type == event.content_type,
                   "an event's fields changed through the server's encoding");
  EVSRC_FUZZ_CHECK(again->recorded_at == event.recorded_at, "recordedAt changed through the server's encoding");
  for (const auto& [before, after] : {std::pair(&event.data, &again->data), std::pair(&event.metadata, &again->metadata)}) {
    if (reads_back_exactly(*before)) {
      EVSRC_FUZZ_CHECK(*before == *after, "data or metadata bytes changed through the server's encoding");
    } else {
      EVSRC_FUZZ_CHECK(same_bytes_or_same_document(*before, *after), "embedded JSON changed through the server");
    }
  }
}

bool same_event(const RecordedEvent& a, const RecordedEvent& b) {
  return a.id == b.id && a.stream == b.stream && a.revision == b.revision && a.position == b.position &&
         a.type == b.type && a.data == b.data && a.metadata == b.metadata && a.recorded_at == b.recorded_at &&
         a.content_type == b.content_type;
}

void check_timestamp(std::string_view text) {
  const std::optional<evsrc::Timestamp> time = evsrc::client::parse_rfc3339(text);
  if (!time) return;
  const std::string formatted = evsrc::format_rfc3339(*time);
  EVSRC_FUZZ_CHECK(evsrc::client::parse_rfc3339(formatted) == time, "a parsed time does not survive format_rfc3339");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  std::string_view body = evsrc::fuzz::as_text(data + 1, size - 1);
  switch (selector % 10) {
    case 0:
      (void)evsrc::client::parse_append_result(body);
      break;
    case 1: {
      const std::size_t parts = body.empty() ? 0 : static_cast<std::uint8_t>(body[0]) % 8;
      auto result = evsrc::client::parse_transaction_result(body.substr(body.empty() ? 0 : 1), parts);
      if (result.ok()) {
        EVSRC_FUZZ_CHECK(result->parts.size() == parts, "a transaction result with the wrong number of parts");
      }
      break;
    }
    case 2: {
      auto event = evsrc::client::parse_recorded_event(body);
      auto with_dom = evsrc::client::parse_recorded_event_with_dom(body);
      if (event.ok() && with_dom.ok()) {
        EVSRC_FUZZ_CHECK(same_event(*event, *with_dom), "the fast and the DOM decoder disagree on an event");
      }
      if (with_dom.ok()) EVSRC_FUZZ_CHECK(event.ok(), "an event the DOM decoder takes is refused by the fast one");
      if (event.ok()) {
        EVSRC_FUZZ_CHECK(evsrc::fuzz::json_nesting_depth(body) <= evsrc::fuzz::kMaxJsonDepth,
                         "an event nested deeper than 512 levels was accepted");
        check_event(*event);
      }
      break;
    }
    case 3: {
      auto page = evsrc::client::parse_event_page(body);
      auto with_dom = evsrc::client::parse_event_page_with_dom(body);
      if (with_dom.ok()) EVSRC_FUZZ_CHECK(page.ok(), "a page the DOM decoder takes is refused by the fast one");
      if (page.ok() && with_dom.ok()) {
        EVSRC_FUZZ_CHECK(page->next == with_dom->next && page->events.size() == with_dom->events.size(),
                         "the fast and the DOM decoder disagree on a page");
        for (std::size_t i = 0; i < page->events.size(); ++i) {
          EVSRC_FUZZ_CHECK(same_event(page->events[i], with_dom->events[i]),
                           "the fast and the DOM decoder disagree on an event of a page");
        }
      }
      if (page.ok()) {
        EVSRC_FUZZ_CHECK(evsrc::fuzz::json_nesting_depth(body) <= evsrc::fuzz::kMaxJsonDepth,
                         "a page nested deeper than 512 levels was accepted");
        for (const RecordedEvent& event : page->events) check_event(event);
      }
      break;
    }
    case 4:
      (void)evsrc::client::parse_stream_list(body);
      break;
    case 5:
      (void)evsrc::client::parse_stats(body);
      break;
    case 6: {
      auto info = evsrc::client::parse_stream_info("stream-1", body);
      if (info.ok()) EVSRC_FUZZ_CHECK(info->name == "stream-1", "stream info names another stream");
      break;
    }
    case 7: {
      unsigned http_status = 300;
      if (body.size() >= 2) {
        http_status = 300 + (static_cast<std::uint8_t>(body[0]) << 8 | static_cast<std::uint8_t>(body[1])) % 300;
        body.remove_prefix(2);
      }
      const evsrc::Status status = evsrc::client::status_from_response(http_status, body);
      EVSRC_FUZZ_CHECK(!status.ok(), "an error response decoded as ok");
      if (status.code() != evsrc::ErrorCode::wrong_expected_revision) {
        EVSRC_FUZZ_CHECK(!status.actual_revision().has_value(), "an actual revision outside wrong_expected_revision");
      }
      break;
    }
    case 8:
      check_timestamp(body);
      break;
    case 9: {
      const std::optional<std::uint64_t> revision = evsrc::client::parse_etag(body);
      if (revision) {
        EVSRC_FUZZ_CHECK(evsrc::client::parse_etag("\"" + std::to_string(*revision) + "\"") == revision,
                         "an ETag revision does not parse back");
        EVSRC_FUZZ_CHECK(evsrc::client::parse_etag("W/\"" + std::to_string(*revision) + "\"") == revision,
                         "a weak ETag revision does not parse back");
      }
      break;
    }
  }
  return 0;
}
