// Inside the HTTP API v1 (api.h): the request handlers, one family per file,
// and the helpers they share (query parameters, expectations, permissions,
// error responses). Api::handle() routes, authenticates and times requests;
// a handler validates everything before it writes anything.
//
// Internal to src/server/api*.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "evsrc/event_store.h"
#include "server/api.h"
#include "server/api_keys.h"
#include "server/http_message.h"

namespace evsrc::server {

// A value, or the error response that replaces it.
template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : state_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  ApiResult(HttpResponse error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return std::holds_alternative<T>(state_); }
  // REQUIRES: ok().
  T& value() { return std::get<T>(state_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  // REQUIRES: !ok().
  HttpResponse take_error() { return std::move(std::get<HttpResponse>(state_)); }

 private:
  std::variant<T, HttpResponse> state_;
};

// What a handler sees of a request.
struct ApiRequest {
  const HttpRequest& http;
  const ParsedTarget& target;
  const Principal& principal;
  ApiContext& context;
};

// ---- responses ---------------------------------------------------------------

inline constexpr std::string_view kJsonContentType = "application/json";

HttpResponse json_response(unsigned status, std::string body);
// `"<revision>"`: the ETag of a stream at a revision.
std::string revision_etag(StreamRevision revision);
// The response for a failed store call: http_error_for(status) with, for a
// wrong expected revision, "actual" (null when the stream does not exist)
// and the actual ETag. `extra_json_members` (e.g. "\"part\":1") are added.
HttpResponse store_error_response(const Status& status, std::string_view extra_json_members = {});
inline Reply reply(HttpResponse response) { return Reply{std::move(response), nullptr, nullptr}; }

// What an event read from the store holds in memory as an owned
// RecordedEvent: the measure by which read pages and SSE batches size their
// reads of stores whose cursors do not borrow (EventStore::cursors_borrow).
inline std::size_t event_bytes(const EventView& event) {
  return sizeof(RecordedEvent) + event.stream.size() + event.type.size() + event.data.size() +
         event.metadata.size() + event.content_type.size();
}

// ---- request parts -------------------------------------------------------------

// A decimal uint64 query parameter; nullopt when absent; 400 bad_request when
// malformed.
ApiResult<std::optional<std::uint64_t>> uint_param(const ParsedTarget& target, std::string_view name);
// `limit`: default limits.default_page, 1..limits.max_page, else 400.
ApiResult<std::uint64_t> page_limit_param(const ParsedTarget& target, const ApiLimits& limits);
// `direction`: forward (default) or backward, else 400.
ApiResult<Direction> direction_param(const ParsedTarget& target);
// `name`: true|false|1|0 (absent: false), else 400.
ApiResult<bool> bool_param(const ParsedTarget& target, std::string_view name);
// The expectation of a write from If-Match: "<n>" | *, If-None-Match: * or
// Expected-Revision: any|no-stream|exists|<n> (at most one of them);
// ExpectedRevision::any() when none. 400 invalid_expected_revision otherwise.
ApiResult<ExpectedRevision> expected_revision_from_headers(const HttpHeaders& headers);

// 400 invalid_stream_name when `stream` is not a valid stream name.
std::optional<HttpResponse> check_stream_name(std::string_view stream);
// 403 forbidden unless the principal may touch `stream`.
std::optional<HttpResponse> check_stream_access(const Principal& principal, std::string_view stream);
// For $all reads, subscriptions and stream listings: a principal limited to
// prefixes must filter by a prefix it may access (403 forbidden otherwise).
std::optional<HttpResponse> check_prefix_access(const Principal& principal, std::string_view prefix);
// 403 forbidden unless the principal has at least `role`.
std::optional<HttpResponse> check_role(const Principal& principal, Role role);

// ---- handlers (api_writes.cc) --------------------------------------------------
Reply handle_append(ApiRequest& request, const std::string& stream);
Reply handle_transaction(ApiRequest& request);
Reply handle_delete_stream(ApiRequest& request, const std::string& stream);
Reply handle_put_metadata(ApiRequest& request, const std::string& stream);

// ---- handlers (api_reads.cc) ---------------------------------------------------
Reply handle_read_stream(ApiRequest& request, const std::string& stream);
Reply handle_read_event(ApiRequest& request, const std::string& stream, std::string_view revision);
Reply handle_read_all(ApiRequest& request);
Reply handle_list_streams(ApiRequest& request);
Reply handle_get_metadata(ApiRequest& request, const std::string& stream);
// 200 with the stream's settings and state (GET /v1/streams/{stream}/metadata).
HttpResponse stream_metadata_response(EventStore& store, const std::string& stream);

// ---- handlers (api_subscriptions.cc) -------------------------------------------
Reply handle_subscribe_all(ApiRequest& request);
Reply handle_subscribe_stream(ApiRequest& request, const std::string& stream);

// ---- handlers (api_admin.cc) ---------------------------------------------------
Reply handle_health(ApiRequest& request);
Reply handle_metrics(ApiRequest& request);
Reply handle_stats(ApiRequest& request);
Reply handle_projections(ApiRequest& request);
Reply handle_projection(ApiRequest& request, const std::string& name);
// `path` is the request path as sent: "/console", "/console/", "/console/app.js".
Reply handle_console(std::string_view path);

}  // namespace evsrc::server
