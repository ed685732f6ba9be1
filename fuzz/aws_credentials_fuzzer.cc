// Feeds: the fuzz bytes as a shared AWS credentials file (INI) and a profile
// name to aws::parse_credentials_file (src/aws/aws_credentials.h). The first
// byte is the profile name's length (mod 32), the profile name follows, the
// rest is the file.
// Asserts: no crash, hang or sanitizer report on any file; the result is the
// profile's keys, not_found or invalid_argument; keys returned are non-empty
// (the id and the secret) and trimmed single-line values; the same file with
// CRLF line ends gives the same result (the header promises CRLF tolerance).
#include <cstddef>
#include <cstdint>
#include <string>

#include "aws/aws_credentials.h"
#include "decoder_fuzz.h"

namespace {

bool trimmed_line(const std::string& value) {
  if (value.find('\n') != std::string::npos) return false;
  if (value.empty()) return true;
  constexpr std::string_view kSpace = " \t\r\n";
  return kSpace.find(value.front()) == std::string_view::npos && kSpace.find(value.back()) == std::string_view::npos;
}

std::string with_crlf(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t profile_size = std::min<std::size_t>(data[0] % 32, size - 1);
  const std::string_view profile = evsrc::fuzz::as_text(data + 1, profile_size);
  const std::string_view text = evsrc::fuzz::as_text(data + 1 + profile_size, size - 1 - profile_size);

  auto credentials = evsrc::aws::parse_credentials_file(text, profile);
  if (credentials.ok()) {
    EVSRC_FUZZ_CHECK(!credentials->access_key_id.empty() && !credentials->secret_access_key.empty(),
                     "credentials without an id or a secret");
    EVSRC_FUZZ_CHECK(trimmed_line(credentials->access_key_id) && trimmed_line(credentials->secret_access_key) &&
                         trimmed_line(credentials->session_token),
                     "a key that is not a trimmed single line");
  } else {
    const evsrc::ErrorCode code = credentials.status().code();
    EVSRC_FUZZ_CHECK(code == evsrc::ErrorCode::not_found || code == evsrc::ErrorCode::invalid_argument,
                     "a refusal that is neither not_found nor invalid_argument");
  }

  auto crlf = evsrc::aws::parse_credentials_file(with_crlf(text), profile);
  EVSRC_FUZZ_CHECK(crlf.ok() == credentials.ok() && crlf.status().code() == credentials.status().code(),
                   "CRLF line ends change the outcome");
  if (crlf.ok()) {
    EVSRC_FUZZ_CHECK(crlf->access_key_id == credentials->access_key_id &&
                         crlf->secret_access_key == credentials->secret_access_key &&
                         crlf->session_token == credentials->session_token,
                     "CRLF line ends change the keys");
  }
  return 0;
}
