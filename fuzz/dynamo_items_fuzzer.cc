// Feeds: the fuzz bytes, parsed as JSON, as an item in DynamoDB's
// attribute-value JSON (as GetItem / Query / BatchGetItem return it) to every
// item decoder of the DynamoDB backend (src/dynamodb/dynamo_items.h):
// decode_event_item, decode_log_item, decode_log_entry, decode_stream_item.
// Asserts: no crash, hang or sanitizer report on any item; a decoder refuses
// with corruption; what decodes encodes (encode_*) to an item that decodes to
// the same value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_fuzz.h"
#include "dynamodb/dynamo_items.h"

namespace {

using evsrc::RecordedEvent;
using evsrc::dynamo::Json;

void check_refusal(const evsrc::Status& status) {
  EVSRC_FUZZ_CHECK(status.code() == evsrc::ErrorCode::corruption, "a bad item is not corruption");
}

void check_event_item(const Json& item) {
  auto event = evsrc::dynamo::decode_event_item(item);
  if (!event.ok()) return check_refusal(event.status());
  auto again = evsrc::dynamo::decode_event_item(evsrc::dynamo::encode_event_item(*event));
  EVSRC_FUZZ_CHECK(again.ok() && *again == *event, "an event item does not survive encode -> decode");
}

void check_log_entry(const Json& entry, std::uint64_t seed) {
  const evsrc::Position position = seed;
  const evsrc::Timestamp at{std::chrono::microseconds(static_cast<std::int64_t>(seed >> 1))};
  auto event = evsrc::dynamo::decode_log_entry(entry, position, at);
  if (!event.ok()) return check_refusal(event.status());
  EVSRC_FUZZ_CHECK(event->position == position && event->recorded_at == at, "a log entry ignored its position or time");
  auto again = evsrc::dynamo::decode_log_entry(evsrc::dynamo::encode_log_entry(*event), position, at);
  EVSRC_FUZZ_CHECK(again.ok() && *again == *event, "a log entry does not survive encode -> decode");
}

void check_log_item(const Json& item) {
  auto log = evsrc::dynamo::decode_log_item(item);
  if (!log.ok()) return check_refusal(log.status());
  EVSRC_FUZZ_CHECK(log->next - log->first == log->events.size(), "a log item spans other than its events");
  for (std::size_t i = 0; i < log->events.size(); ++i) {
    EVSRC_FUZZ_CHECK(log->events[i].position == log->first + i, "a log item's events are not at first + index");
  }
  if (log->events.empty()) return;  // encode_log_item REQUIRES events
  auto again = evsrc::dynamo::decode_log_item(evsrc::dynamo::encode_log_item(log->events));
  EVSRC_FUZZ_CHECK(again.ok() && again->first == log->first && again->next == log->next && again->events == log->events,
                   "a log item does not survive encode -> decode");
}

void check_stream_item(const Json& item) {
  auto row = evsrc::dynamo::decode_stream_item(item);
  if (!row.ok()) return check_refusal(row.status());
  auto again = evsrc::dynamo::decode_stream_item(evsrc::dynamo::encode_stream_item("stream-1", *row));
  EVSRC_FUZZ_CHECK(again.ok(), "an encoded stream item does not decode");
  const evsrc::StreamState& a = row->state;
  const evsrc::StreamState& b = again->state;
  EVSRC_FUZZ_CHECK(a.last_revision == b.last_revision && a.visible_from == b.visible_from &&
                       a.soft_deleted == b.soft_deleted && a.tombstoned == b.tombstoned && a.metadata == b.metadata &&
                       row->last_position == again->last_position && row->version == again->version,
                   "a stream item does not survive encode -> decode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Json item = Json::parse(evsrc::fuzz::as_text(data, size), nullptr, /*allow_exceptions=*/false);
  if (item.is_discarded()) return 0;
  check_event_item(item);
  check_log_item(item);
  check_stream_item(item);
  std::uint64_t seed = 0;
  for (std::size_t i = 0; i < size && i < 8; ++i) seed = seed << 8 | data[i];
  check_log_entry(item, seed);
  // A log item's entries, each as a lone entry too.
  if (item.is_object() && item.contains("e") && item["e"].is_object() && item["e"].contains("L") &&
      item["e"]["L"].is_array()) {
    for (const Json& entry : item["e"]["L"]) check_log_entry(entry, seed);
  }
  return 0;
}
