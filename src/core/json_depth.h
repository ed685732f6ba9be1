// Parsing JSON with nlohmann under a nesting limit. nlohmann's dump() (and
// its destructor) recurse once per level, so a document nested deeper than
// the server accepts (src/server/api_json.h kMaxJsonDepth) would overflow the
// stack; the CLI's import and the remote client refuse it at parse time.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace evsrc {

inline constexpr int kMaxJsonNesting = 512;

// Parses `text`; discarded when it is not JSON or nests deeper than
// kMaxJsonNesting (then *too_deep is set, when given).
inline nlohmann::ordered_json parse_json_within_depth(std::string_view text, bool* too_deep = nullptr) {
  using Json = nlohmann::ordered_json;
  bool deep = false;
  const auto within_depth = [&deep](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxJsonNesting) {
      deep = true;
      return false;
    }
    return true;
  };
  Json parsed = Json::parse(text.begin(), text.end(), within_depth, /*allow_exceptions=*/false);
  if (too_deep != nullptr) *too_deep = deep;
  return deep ? Json(Json::value_t::discarded) : parsed;
}

}  // namespace evsrc
