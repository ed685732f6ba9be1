#include <string>

#include "evsrc/event_store.h"

namespace evsrc {
namespace {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code = 0;
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > n) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (s[i + k] & 0x3F);
    }
    static constexpr std::uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

}  // namespace

Status validate_stream_name(std::string_view stream) {
  if (stream.empty()) return Status::invalid_argument("stream name is empty");
  if (stream.size() > 1024) {
    return Status::invalid_argument("stream name is " + std::to_string(stream.size()) +
                                    " bytes; the limit is 1024");
  }
  if (stream.find('\0') != std::string_view::npos) return Status::invalid_argument("stream name contains NUL");
  if (stream.front() == '$') return Status::invalid_argument("stream names starting with '$' are reserved");
  if (!is_valid_utf8(stream)) return Status::invalid_argument("stream name is not valid UTF-8");
  return Status();
}

}  // namespace evsrc
