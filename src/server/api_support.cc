// Helpers shared by the API's handlers (api_handlers.h) and the error model
// of api.h.
#include <charconv>

#include "server/api_handlers.h"
#include "server/api_json.h"

namespace evsrc::server {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

HttpResponse bad_request(std::string message) { return error_response(400, "bad_request", message); }

HttpResponse bad_expected(std::string message) { return error_response(400, "invalid_expected_revision", message); }

}  // namespace

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view extra_json_object) {
  std::string body = "{\"error\":";
  append_json_string(body, code);
  body.append(",\"message\":");
  append_json_string(body, message);
  std::string_view extra = trim(extra_json_object);
  if (extra.size() >= 2 && extra.front() == '{' && extra.back() == '}') extra = trim(extra.substr(1, extra.size() - 2));
  if (!extra.empty()) body.append(",").append(extra);
  body.push_back('}');
  return json_response(status, std::move(body));
}

HttpError http_error_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ok:
      return {500, "internal"};
    case ErrorCode::wrong_expected_revision:
      return {409, "wrong_expected_revision"};
    case ErrorCode::stream_deleted:
      return {410, "stream_deleted"};
    case ErrorCode::not_found:
      return {404, "stream_not_found"};
    case ErrorCode::invalid_argument:
      return {400, "bad_request"};
    case ErrorCode::idempotency_conflict:
      return {409, "idempotency_conflict"};
    case ErrorCode::too_large:
      return {413, "too_large"};
    case ErrorCode::io_error:
      return {500, "io_error"};
    case ErrorCode::corruption:
      return {500, "corruption"};
    case ErrorCode::closed:
      return {503, "unavailable"};
    case ErrorCode::timeout:
      return {504, "timeout"};
    case ErrorCode::rejected:
      return {422, "rejected"};
    case ErrorCode::unavailable:
      return {503, "unavailable"};
  }
  return {500, "internal"};
}

HttpResponse json_response(unsigned status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.set("Content-Type", std::string(kJsonContentType));
  response.body = std::move(body);
  return response;
}

std::string revision_etag(StreamRevision revision) { return "\"" + std::to_string(revision) + "\""; }

HttpResponse store_error_response(const Status& status, std::string_view extra_json_members) {
  const HttpError http = http_error_for(status);
  std::string extra(extra_json_members);
  const bool wrong_revision = status.code() == ErrorCode::wrong_expected_revision;
  if (wrong_revision) {
    if (!extra.empty()) extra.push_back(',');
    extra.append("\"actual\":");
    extra.append(status.actual_revision() ? std::to_string(*status.actual_revision()) : "null");
  }
  HttpResponse response = error_response(http.status, http.code, status.message(), "{" + extra + "}");
  if (wrong_revision && status.actual_revision()) {
    response.headers.set("ETag", revision_etag(*status.actual_revision()));
  }
  response.resource_shortage = status.code() == ErrorCode::unavailable;
  return response;
}

ApiResult<std::optional<std::uint64_t>> uint_param(const ParsedTarget& target, std::string_view name) {
  const std::optional<std::string_view> text = target.param(name);
  if (!text) return std::optional<std::uint64_t>();
  const std::optional<std::uint64_t> value = parse_decimal(*text);
  if (!value) return bad_request("query parameter " + std::string(name) + " must be a non-negative integer");
  return value;
}

ApiResult<std::uint64_t> page_limit_param(const ParsedTarget& target, const ApiLimits& limits) {
  const std::optional<std::string_view> text = target.param("limit");
  if (!text) return limits.default_page;
  const std::optional<std::uint64_t> value = parse_decimal(*text);
  if (!value || *value == 0 || *value > limits.max_page) {
    return bad_request("query parameter limit must be an integer from 1 to " + std::to_string(limits.max_page));
  }
  return *value;
}

ApiResult<Direction> direction_param(const ParsedTarget& target) {
  const std::optional<std::string_view> text = target.param("direction");
  if (!text || *text == "forward") return Direction::forward;
  if (*text == "backward") return Direction::backward;
  return bad_request("query parameter direction must be forward or backward");
}

ApiResult<bool> bool_param(const ParsedTarget& target, std::string_view name) {
  const std::optional<std::string_view> text = target.param(name);
  if (!text || *text == "false" || *text == "0") return false;
  if (*text == "true" || *text == "1") return true;
  return bad_request("query parameter " + std::string(name) + " must be true or false");
}

ApiResult<ExpectedRevision> expected_revision_from_headers(const HttpHeaders& headers) {
  const std::optional<std::string_view> if_match = headers.get("If-Match");
  const std::optional<std::string_view> if_none_match = headers.get("If-None-Match");
  const std::optional<std::string_view> expected = headers.get("Expected-Revision");
  if (static_cast<int>(if_match.has_value()) + static_cast<int>(if_none_match.has_value()) +
          static_cast<int>(expected.has_value()) >
      1) {
    return bad_expected("give at most one of If-Match, If-None-Match and Expected-Revision");
  }
  if (if_match) {
    std::string_view value = trim(*if_match);
    if (value == "*") return ExpectedRevision::stream_exists();
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (const std::optional<std::uint64_t> revision = parse_decimal(value)) return ExpectedRevision::exact(*revision);
    return bad_expected("If-Match must be * or one ETag \"<revision>\"");
  }
  if (if_none_match) {
    if (trim(*if_none_match) == "*") return ExpectedRevision::no_stream();
    return bad_expected("If-None-Match on a write must be *");
  }
  if (expected) {
    if (std::optional<ExpectedRevision> parsed = ExpectedRevision::parse(trim(*expected))) return *parsed;
    return bad_expected("Expected-Revision must be any, no-stream, exists or a revision");
  }
  return ExpectedRevision::any();
}

std::optional<HttpResponse> check_stream_name(std::string_view stream) {
  if (Status status = validate_stream_name(stream); !status.ok()) {
    return error_response(400, "invalid_stream_name", status.message());
  }
  return std::nullopt;
}

std::optional<HttpResponse> check_stream_access(const Principal& principal, std::string_view stream) {
  if (principal.prefixes.empty() || principal.may_access_stream(stream)) return std::nullopt;
  return error_response(403, "forbidden", "this API key may not access stream " + std::string(stream));
}

std::optional<HttpResponse> check_prefix_access(const Principal& principal, std::string_view prefix) {
  if (principal.prefixes.empty()) return std::nullopt;
  if (prefix.empty()) {
    return error_response(403, "forbidden",
                          "this API key is limited to some stream prefixes: filter with a prefix parameter");
  }
  if (principal.may_access_prefix(prefix)) return std::nullopt;
  return error_response(403, "forbidden", "this API key may not access streams starting with " + std::string(prefix));
}

std::optional<HttpResponse> check_role(const Principal& principal, Role role) {
  if (principal.may(role)) return std::nullopt;
  return error_response(403, "forbidden",
                        "this API key has role " + std::string(role_name(principal.role)) + "; this request needs " +
                            std::string(role_name(role)));
}

}  // namespace evsrc::server
