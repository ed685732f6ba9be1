// Feeds: the fuzz bytes as an RFC 3339 time to client::parse_rfc3339 (the
// client's reader of recordedAt, src/client/remote_codec.h), and their first
// 8 bytes as a Timestamp (microseconds, folded into the years 0000..9999) to
// format_rfc3339 (include/evsrc/types.h).
// Asserts: no crash, hang or sanitizer report; a time that parses is written
// by format_rfc3339 as 27 characters ("YYYY-MM-DDTHH:MM:SS.ffffffZ") that
// parse back to it; every timestamp of the years 0000..9999 formats to text
// that parses back to it exactly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/remote_codec.h"
#include "decoder_fuzz.h"

namespace {

using evsrc::Timestamp;

// 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds since the epoch.
constexpr std::int64_t kFirstMicros = -62'167'219'200'000'000;
constexpr std::int64_t kEndMicros = 253'402'300'800'000'000;

void check_format(Timestamp time, const char* what) {
  const std::string text = evsrc::format_rfc3339(time);
  EVSRC_FUZZ_CHECK(text.size() == 27 && text.back() == 'Z', what);
  EVSRC_FUZZ_CHECK(evsrc::client::parse_rfc3339(text) == time, what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::optional<Timestamp> parsed = evsrc::client::parse_rfc3339(evsrc::fuzz::as_text(data, size));
  if (parsed) check_format(*parsed, "a parsed time does not survive format_rfc3339 -> parse_rfc3339");

  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < size && i < 8; ++i) bits = bits << 8 | data[i];
  const auto span = static_cast<std::uint64_t>(kEndMicros - kFirstMicros);
  const auto micros = kFirstMicros + static_cast<std::int64_t>(bits % span);
  check_format(Timestamp(std::chrono::microseconds(micros)), "a timestamp does not survive format -> parse");
  return 0;
}
