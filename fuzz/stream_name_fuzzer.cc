// Fuzz target stream_name: arbitrary bytes as a stream name, a request
// target and its query parameters, each checked against an independent
// model of its rules:
//   - validate_stream_name (src/core/stream_name.cc): ok exactly when the
//     name is 1..1024 bytes of strict UTF-8 without NUL, not starting with '$';
//   - stream_category: the part before the first '-', or the whole name;
//   - server::percent_decode: fails exactly on a '%' not followed by two hex
//     digits; what decodes, fully percent-encoded, decodes back to itself;
//   - server::parse_target (on the input, and on "/v1/all?" + input): ok
//     exactly when the target starts with '/' and every '%' escape is whole;
//     its segments and query pairs, re-encoded, parse back to the same;
//   - the API's query parameters (api_support.cc: uint_param,
//     page_limit_param, direction_param, bool_param) accept exactly their
//     documented forms and return the value written; the expectation headers
//     (expected_revision_from_headers, ExpectedRevision::parse) round-trip.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"
#include "server/api_handlers.h"
#include "server/http_message.h"
#include "utf8_model.h"

namespace {

using evsrc::fuzz::valid_utf8;
using evsrc::server::ParsedTarget;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "stream_name fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool escapes_whole(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size()) return false;
    if (!is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
    i += 2;
  }
  return true;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back('%');
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xF]);
  }
  return out;
}

std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

void check_stream_name(std::string_view name) {
  const bool expected = !name.empty() && name.size() <= 1024 && name.find('\0') == std::string_view::npos &&
                        name.front() != '$' && valid_utf8(name);
  const evsrc::Status status = evsrc::validate_stream_name(name);
  require(status.ok() == expected, "validate_stream_name disagrees with the rules");
  if (!status.ok()) require(status.code() == evsrc::ErrorCode::invalid_argument, "a bad name is not invalid_argument");

  const std::string_view category = evsrc::stream_category(name);
  require(name.starts_with(category) && category.find('-') == std::string_view::npos, "category is not a prefix");
  require(category.size() == name.size() || name[category.size()] == '-', "category does not end at the first '-'");
}

void check_percent_decode(std::string_view text, bool plus_is_space) {
  const std::optional<std::string> decoded = evsrc::server::percent_decode(text, plus_is_space);
  require(decoded.has_value() == escapes_whole(text), "percent_decode disagrees on escapes");
  if (!decoded) return;
  require(decoded->size() <= text.size(), "decoding grew the text");
  if (text.find('%') == std::string_view::npos && (!plus_is_space || text.find('+') == std::string_view::npos)) {
    require(*decoded == text, "text without escapes changed");
  }
  const std::optional<std::string> again = evsrc::server::percent_decode(percent_encode(*decoded), plus_is_space);
  require(again && *again == *decoded, "percent-encoding does not round-trip");
}

void check_query_parameters(const ParsedTarget& target) {
  const evsrc::server::ApiLimits limits;
  const std::optional<std::string_view> from = target.param("from");
  auto uint_value = evsrc::server::uint_param(target, "from");
  require(uint_value.ok() == (!from || decimal(*from).has_value()), "uint_param disagrees on its forms");
  if (uint_value.ok()) require(*uint_value == (from ? decimal(*from) : std::nullopt), "uint_param value differs");

  const std::optional<std::string_view> limit_text = target.param("limit");
  auto limit = evsrc::server::page_limit_param(target, limits);
  const std::optional<std::uint64_t> limit_value = limit_text ? decimal(*limit_text) : limits.default_page;
  const bool limit_ok = limit_value && *limit_value >= 1 && *limit_value <= limits.max_page;
  require(limit.ok() == limit_ok, "page_limit_param disagrees on its range");
  if (limit.ok()) require(*limit == *limit_value, "page_limit_param value differs");

  const std::optional<std::string_view> direction_text = target.param("direction");
  auto direction = evsrc::server::direction_param(target);
  require(direction.ok() == (!direction_text || *direction_text == "forward" || *direction_text == "backward"),
          "direction_param disagrees on its forms");
  if (direction.ok()) {
    const bool backward = direction_text && *direction_text == "backward";
    require((*direction == evsrc::Direction::backward) == backward, "direction_param value differs");
  }

  const std::optional<std::string_view> hard = target.param("hard");
  auto flag = evsrc::server::bool_param(target, "hard");
  const bool truthy = hard && (*hard == "true" || *hard == "1");
  const bool falsy = !hard || *hard == "false" || *hard == "0";
  require(flag.ok() == (truthy || falsy), "bool_param disagrees on its forms");
  if (flag.ok()) require(*flag == truthy, "bool_param value differs");
}

void check_target(std::string_view text) {
  auto target = evsrc::server::parse_target(text);
  const bool expected = !text.empty() && text.front() == '/' && escapes_whole(text);
  require(target.ok() == expected, "parse_target disagrees on its rules");
  if (!target.ok()) return;
  // Rebuilt from its parts, fully encoded, the target parses to the same parts.
  std::string rebuilt;
  for (const std::string& segment : target->segments) rebuilt += "/" + percent_encode(segment);
  if (rebuilt.empty()) rebuilt = "/";
  if (!target->query.empty()) {
    rebuilt += "?";
    for (const auto& [key, value] : target->query) rebuilt += percent_encode(key) + "=" + percent_encode(value) + "&";
  }
  auto again = evsrc::server::parse_target(rebuilt);
  require(again.ok(), "a rebuilt target does not parse");
  const bool ends_empty = !target->segments.empty() && target->segments.back().empty();
  if (!ends_empty) require(again->segments == target->segments, "segments differ after rebuilding");
  // Empty keys come back as pairs; only empty pairs ("&&") are dropped.
  require(again->query == target->query, "query pairs differ after rebuilding");
  for (const auto& [key, value] : target->query) {
    require(target->param(key).has_value(), "param() misses a present key");
  }
  check_query_parameters(*target);
}

void check_expectations(std::string_view text) {
  if (const auto parsed = evsrc::ExpectedRevision::parse(text)) {
    const auto again = evsrc::ExpectedRevision::parse(parsed->to_string());
    require(again && *again == *parsed, "ExpectedRevision does not round-trip through to_string");
  }
  for (const char* header : {"If-Match", "If-None-Match", "Expected-Revision"}) {
    evsrc::server::HttpHeaders headers;
    headers.add(header, std::string(text));
    auto expected = evsrc::server::expected_revision_from_headers(headers);
    const std::string_view value = trim(text);
    if (std::string_view(header) == "If-None-Match") {
      require(expected.ok() == (value == "*"), "If-None-Match disagrees on its forms");
    } else if (std::string_view(header) == "If-Match") {
      std::string_view tag = value;
      if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
      require(expected.ok() == (value == "*" || decimal(tag).has_value()), "If-Match disagrees on its forms");
      if (expected.ok() && value != "*") {
        require(*expected == evsrc::ExpectedRevision::exact(*decimal(tag)), "If-Match value differs");
      }
    } else {
      require(expected.ok() == evsrc::ExpectedRevision::parse(value).has_value(),
              "Expected-Revision disagrees with ExpectedRevision::parse");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_stream_name(input);
  check_percent_decode(input, false);
  check_percent_decode(input, true);
  check_target(input);
  check_target("/v1/all?" + std::string(input));
  check_expectations(input);
  return 0;
}
