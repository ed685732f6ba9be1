// Conversions between events and the CLI's JSON lines.
//
// Event data and metadata are bytes. On output, bytes that are a JSON
// document (other than a bare string) are embedded as JSON; any other bytes
// (not JSON, or a JSON string) become a JSON string holding the bytes. On
// import the inverse holds: a JSON string is taken as the bytes themselves,
// any other JSON value as its compact serialisation. So `export | import`
// reproduces every event's bytes up to the spelling of embedded JSON (whitespace,
// number spelling such as 1E2 -> 100.0, escapes, duplicate keys). Documents
// nested deeper than 512 levels are refused on import and exported as strings;
// metadata that is the JSON document `null` is exported as a string (a bare
// null means "no metadata").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/cli_common.h"
#include "evsrc/event_cursor.h"
#include "evsrc/types.h"

namespace evsrc::cli {

Json bytes_to_json(std::string_view bytes);
std::string json_to_bytes(const Json& value);

// A recorded event as printed by read, read-all and tail:
// {"id","stream","revision","position","type","data","metadata","recordedAt"}.
Json recorded_event_to_json(const RecordedEvent& event);

// One line of the import/export format:
// {"stream","type","data","metadata"?,"id"?,"expected"?}.
struct ImportLine {
  std::string stream;
  std::optional<ExpectedRevision> expected;
  EventData event;
};

// The export line of a recorded event (no "expected"; "metadata" only when
// not empty).
Json recorded_event_to_import_line(const EventView& event);

// Parses one import line; invalid_argument saying what is wrong.
Result<ImportLine> parse_import_line(std::string_view line);

// Parses an expectation given as "any", "no-stream", "exists" or a revision
// (a JSON integer or its decimal text).
std::optional<ExpectedRevision> parse_expected(const Json& value);

}  // namespace evsrc::cli
