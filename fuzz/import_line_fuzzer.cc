// Feeds: the fuzz bytes as one line of the CLI's JSON-lines import
// (cli::parse_import_line, tools/cli/json_event.h), and as a JSON value given
// to cli::parse_expected.
// Asserts: no crash, hang or sanitizer report on any line; a line nested
// deeper than 512 levels is refused; a line that parses survives the export/import round trip of json_event.h — its event exported
// with recorded_event_to_import_line, written as the CLI writes a line and
// imported again gives the same stream, type and id, and data and metadata
// that are the same bytes or, where the bytes are a JSON document that export
// embeds, the same JSON value; an expectation parse_expected accepts prints
// (to_string) as text it parses back to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/json_event.h"
#include "decoder_fuzz.h"

namespace {

using evsrc::ExpectedRevision;
using evsrc::cli::Json;

// The bytes as the same JSON document when they are one (other than a bare
// string: export embeds exactly those).
bool same_bytes_or_same_document(const std::string& original, const std::string& round_tripped) {
  if (original == round_tripped) return true;
  const Json a = Json::parse(original, nullptr, /*allow_exceptions=*/false);
  const Json b = Json::parse(round_tripped, nullptr, /*allow_exceptions=*/false);
  return !a.is_discarded() && !a.is_string() && !b.is_discarded() && a == b;
}

void check_round_trip(const evsrc::cli::ImportLine& line) {
  evsrc::RecordedEvent recorded;
  recorded.stream = line.stream;
  recorded.id = line.event.id;
  recorded.type = line.event.type;
  recorded.data = line.event.data;
  recorded.metadata = line.event.metadata;
  const std::string exported = evsrc::cli::to_json_line(evsrc::cli::recorded_event_to_import_line(evsrc::EventView::of(recorded)));
  auto again = evsrc::cli::parse_import_line(exported);
  EVSRC_FUZZ_CHECK(again.ok(), "an exported line does not import");
  EVSRC_FUZZ_CHECK(again->stream == line.stream, "stream changed by export | import");
  EVSRC_FUZZ_CHECK(again->event.type == line.event.type, "type changed by export | import");
  EVSRC_FUZZ_CHECK(again->event.id == line.event.id, "id changed by export | import");
  EVSRC_FUZZ_CHECK(!again->expected.has_value(), "export wrote an expectation");
  EVSRC_FUZZ_CHECK(same_bytes_or_same_document(line.event.data, again->event.data), "data changed by export | import");
  EVSRC_FUZZ_CHECK(same_bytes_or_same_document(line.event.metadata, again->event.metadata),
                   "metadata changed by export | import");
  // What one round trip gives is a fixed point: bytes exported once come back
  // byte for byte.
  const std::string exported_again =
      evsrc::cli::to_json_line(evsrc::cli::recorded_event_to_import_line([&] {
        evsrc::EventView event = evsrc::EventView::of(recorded);
        event.data = again->event.data;
        event.metadata = again->event.metadata;
        return event;
      }()));
  auto third = evsrc::cli::parse_import_line(exported_again);
  EVSRC_FUZZ_CHECK(third.ok() && third->event.data == again->event.data &&
                       third->event.metadata == again->event.metadata,
                   "a second export | import changed the bytes");
}

void check_expected(const Json& value) {
  const std::optional<ExpectedRevision> expected = evsrc::cli::parse_expected(value);
  if (value.is_number_unsigned()) {
    EVSRC_FUZZ_CHECK(expected == ExpectedRevision::exact(value.get<evsrc::StreamRevision>()),
                     "an unsigned integer is not an exact expectation");
  }
  if (!expected) return;
  EVSRC_FUZZ_CHECK(ExpectedRevision::parse(expected->to_string()) == expected,
                   "an expectation does not parse back from its text");
  EVSRC_FUZZ_CHECK(evsrc::cli::parse_expected(Json(expected->to_string())) == expected,
                   "an expectation's text is not accepted by parse_expected");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = evsrc::fuzz::as_text(data, size);
  auto line = evsrc::cli::parse_import_line(text);
  if (line.ok()) {
    EVSRC_FUZZ_CHECK(evsrc::fuzz::json_nesting_depth(text) <= evsrc::fuzz::kMaxJsonDepth,
                     "a line nested deeper than 512 levels was accepted");
    check_round_trip(*line);
  } else {
    EVSRC_FUZZ_CHECK(line.status().code() == evsrc::ErrorCode::invalid_argument, "a bad line is not invalid_argument");
  }
  const Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_discarded()) check_expected(value);
  return 0;
}
