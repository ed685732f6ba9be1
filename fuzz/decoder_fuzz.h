// What the decoder fuzz targets (fuzz/*_fuzzer.cc of the clients, backends
// and tools) share: a check that aborts — so libFuzzer, and the replay of a
// corpus in every build, report the input — when a property of a decoder does
// not hold. Works in every build (no FuzzedDataProvider: gcc has none).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define EVSRC_FUZZ_CHECK(condition, what)                                                              \
  do {                                                                                                 \
    if (!(condition)) {                                                                                \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   what);                                                                              \
      std::abort();                                                                                    \
    }                                                                                                  \
  } while (false)

namespace evsrc::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace evsrc::fuzz

namespace evsrc::fuzz {

// The deepest nesting of arrays and objects in JSON text (brackets inside
// strings do not count); for text that is not JSON, of its brackets.
inline std::size_t json_nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// What the CLI and the client accept (and evsrcd: src/server/api_json.h):
// nlohmann's dump() recurses once per level, so deeper documents are refused
// rather than overflow the stack.
inline constexpr std::size_t kMaxJsonDepth = 512;

}  // namespace evsrc::fuzz
