// Feeds: the fuzz bytes as the Data of a Kinesis record to
// decode_kinesis_event (the version-1 event record of include/evsrc/kinesis.h,
// read by the Kinesis consumer from a stream anyone with PutRecords rights
// writes to).
// Asserts: no crash, hang or sanitizer report on any record; a record that is
// not a version-1 event record is corruption; an event that decodes is
// written by encode_kinesis_event as a record that decodes to the same event.
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_fuzz.h"
#include "evsrc/kinesis.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto event = evsrc::decode_kinesis_event(evsrc::fuzz::as_text(data, size));
  if (!event.ok()) {
    EVSRC_FUZZ_CHECK(event.status().code() == evsrc::ErrorCode::corruption, "a bad record is not corruption");
    return 0;
  }
  EVSRC_FUZZ_CHECK(!event->stream.empty(), "a record decoded with an empty stream name");
  const std::string record = evsrc::encode_kinesis_event(*event);
  auto again = evsrc::decode_kinesis_event(record);
  EVSRC_FUZZ_CHECK(again.ok(), "an encoded event record does not decode");
  EVSRC_FUZZ_CHECK(*again == *event, "an event record does not survive decode -> encode -> decode");
  EVSRC_FUZZ_CHECK(evsrc::encode_kinesis_event(*again) == record, "encoding one event twice differs");
  return 0;
}
