// Fuzz target json_document: arbitrary bytes through the API's JSON layer
// (src/server/api_json.h): parse_json, append_json / json_text,
// append_json_string, append_bytes_as_json and json_to_bytes.
//
// Asserts (abort on violation):
//   - parse_json never nests deeper than kMaxJsonDepth (deeper input is
//     refused, without exhausting the stack);
//   - a parsed document's compact text is valid UTF-8, parses again to an
//     equal value (non-finite doubles, which nlohmann writes as null, become
//     null) and is a fixed point: its own compact text;
//   - append_json_string of any bytes is valid UTF-8 and parses to a JSON
//     string; to the bytes themselves when they are valid UTF-8;
//   - append_bytes_as_json of any bytes parses, and json_to_bytes of that
//     gives back the compact text of the document the bytes hold (after an
//     optional byte order mark), or else the bytes themselves (valid UTF-8);
//     for a document, its output is exactly the compact text;
//   - is_canonical_json accepts only documents that are their compact text.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/api_json.h"
#include "utf8_model.h"

namespace {

namespace bj = boost::json;
using evsrc::fuzz::valid_utf8;
using evsrc::server::kMaxJsonDepth;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "json_document fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

// Nesting depth (a scalar is 0, [] is 1), without recursion.
std::size_t depth_of(const bj::value& root) {
  std::size_t deepest = 0;
  std::vector<std::pair<const bj::value*, std::size_t>> pending{{&root, 0}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (value->is_array()) {
      deepest = std::max(deepest, depth + 1);
      for (const bj::value& element : value->get_array()) pending.emplace_back(&element, depth + 1);
    } else if (value->is_object()) {
      deepest = std::max(deepest, depth + 1);
      for (const auto& member : value->get_object()) pending.emplace_back(&member.value(), depth + 1);
    }
  }
  return deepest;
}

// `original` and `reparsed` are the same document, reading a non-finite
// double of `original` as null. REQUIRES: depth within kMaxJsonDepth.
bool same_document(const bj::value& original, const bj::value& reparsed) {
  if (original.is_double() && !std::isfinite(original.get_double())) return reparsed.is_null();
  if (original.is_array()) {
    if (!reparsed.is_array() || original.get_array().size() != reparsed.get_array().size()) return false;
    for (std::size_t i = 0; i < original.get_array().size(); ++i) {
      if (!same_document(original.get_array()[i], reparsed.get_array()[i])) return false;
    }
    return true;
  }
  if (original.is_object()) {
    const bj::object& a = original.get_object();
    const bj::object& b = reparsed.get_object();
    if (!reparsed.is_object() || a.size() != b.size()) return false;
    auto left = a.begin();
    auto right = b.begin();
    for (; left != a.end(); ++left, ++right) {
      if (left->key() != right->key() || !same_document(left->value(), right->value())) return false;
    }
    return true;
  }
  return original == reparsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::optional<bj::value> document = evsrc::server::parse_json(input);
  if (document) {
    require(depth_of(*document) <= kMaxJsonDepth, "a document nested deeper than kMaxJsonDepth parsed");
    const std::string text = evsrc::server::json_text(*document);
    require(valid_utf8(text), "compact text is not valid UTF-8");
    const std::optional<bj::value> reparsed = evsrc::server::parse_json(text);
    require(reparsed.has_value(), "compact text does not parse");
    require(same_document(*document, *reparsed), "compact text parses to another value");
    require(evsrc::server::json_text(*reparsed) == text, "compact text is not a fixed point");
  }

  // The canonical check never accepts what a parse would change.
  if (evsrc::server::is_canonical_json(input)) {
    require(document && !document->is_string(), "is_canonical_json accepted what does not parse as a document");
    require(evsrc::server::json_text(*document) == input, "is_canonical_json accepted a non-canonical text");
  }

  std::string quoted;
  evsrc::server::append_json_string(quoted, input);
  require(valid_utf8(quoted), "append_json_string output is not valid UTF-8");
  const std::optional<bj::value> string_value = evsrc::server::parse_json(quoted);
  require(string_value && string_value->is_string(), "append_json_string output is not a JSON string");
  if (valid_utf8(input)) {
    require(std::string_view(string_value->get_string()) == input, "a valid UTF-8 string does not round-trip");
  }

  std::string embedded;
  evsrc::server::append_bytes_as_json(embedded, input);
  require(valid_utf8(embedded), "append_bytes_as_json output is not valid UTF-8");
  const std::optional<bj::value> embedded_value = evsrc::server::parse_json(embedded);
  require(embedded_value.has_value(), "append_bytes_as_json output does not parse");
  const std::string bytes = evsrc::server::json_to_bytes(*embedded_value);
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  const std::string_view body = input.starts_with(kByteOrderMark) ? input.substr(kByteOrderMark.size()) : input;
  const std::optional<bj::value> held = evsrc::server::parse_json(body);
  if (held && !held->is_string()) {
    require(bytes == evsrc::server::json_text(*held), "embedded JSON does not come back as its compact text");
    // Byte for byte, whether the bytes were copied (already canonical) or
    // parsed and written again.
    require(embedded == evsrc::server::json_text(*held), "append_bytes_as_json differs from the compact text");
  } else if (valid_utf8(input)) {
    require(bytes == input, "bytes stored as a JSON string do not come back");
  }
  return 0;
}
