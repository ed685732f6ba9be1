// Api::handle(): routing, authentication, permissions by role, latency
// metrics and the last line of defence against exceptions. The handlers live in
// api_writes.cc, api_reads.cc, api_subscriptions.cc and api_admin.cc.
#include "server/api.h"

#include <chrono>
#include <exception>

#include "server/api_handlers.h"
#include "server/api_keys.h"
#include "server/server_metrics.h"

namespace evsrc::server {
namespace {

enum class Route : std::uint8_t {
  health,
  metrics,
  console,
  stats,
  streams,
  stream,
  stream_metadata,
  stream_event,
  all,
  transactions,
  subscribe_all,
  subscribe_stream,
  projections,
  projection,
};

struct RouteMatch {
  Route route;
  std::string_view allow;  // methods of the route, for 405's Allow header
  std::string name;        // {stream} or {name}
  std::string revision;    // {revision}
};

// The route of a decoded path, or nullopt (404).
std::optional<RouteMatch> match_route(std::string_view raw_path, const std::vector<std::string>& segments) {
  if (raw_path == "/console" || raw_path.starts_with("/console/")) return RouteMatch{Route::console, "GET", {}, {}};
  const std::size_t n = segments.size();
  if (n == 1 && segments[0] == "health") return RouteMatch{Route::health, "GET", {}, {}};
  if (n == 1 && segments[0] == "metrics") return RouteMatch{Route::metrics, "GET", {}, {}};
  if (n < 2 || segments[0] != "v1") return std::nullopt;
  const std::string& collection = segments[1];
  if (collection == "stats" && n == 2) return RouteMatch{Route::stats, "GET", {}, {}};
  if (collection == "all" && n == 2) return RouteMatch{Route::all, "GET", {}, {}};
  if (collection == "transactions" && n == 2) return RouteMatch{Route::transactions, "POST", {}, {}};
  if (collection == "streams") {
    if (n == 2) return RouteMatch{Route::streams, "GET", {}, {}};
    if (n == 3) return RouteMatch{Route::stream, "GET, POST, DELETE", segments[2], {}};
    if (n == 4 && segments[3] == "metadata") return RouteMatch{Route::stream_metadata, "GET, PUT", segments[2], {}};
    if (n == 4) return RouteMatch{Route::stream_event, "GET", segments[2], segments[3]};
    return std::nullopt;
  }
  if (collection == "subscriptions") {
    if (n == 3 && segments[2] == "all") return RouteMatch{Route::subscribe_all, "GET", {}, {}};
    if (n == 4 && segments[2] == "streams") return RouteMatch{Route::subscribe_stream, "GET", segments[3], {}};
    return std::nullopt;
  }
  if (collection == "projections") {
    if (n == 2) return RouteMatch{Route::projections, "GET", {}, {}};
    if (n == 3) return RouteMatch{Route::projection, "GET", segments[2], {}};
  }
  return std::nullopt;
}

bool allows(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    const std::size_t comma = allow.find(',');
    std::string_view token = allow.substr(0, comma);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 1);
  }
  return false;
}

constexpr std::string_view kBearerChallenge = "Bearer realm=\"evsrc\"";

bool needs_key(Route route) { return route != Route::health && route != Route::console; }

bool is_append(Route route, std::string_view method) {
  return (route == Route::stream && method == "POST") || route == Route::transactions;
}

bool is_read(Route route, std::string_view method) {
  return method == "GET" && (route == Route::stream || route == Route::stream_event || route == Route::all);
}

Reply dispatch(ApiRequest& request, const RouteMatch& match, std::string_view raw_path) {
  const std::string& method = request.http.method;
  switch (match.route) {
    case Route::health:
      return handle_health(request);
    case Route::metrics:
      return handle_metrics(request);
    case Route::console:
      return handle_console(raw_path);
    case Route::stats:
      return handle_stats(request);
    case Route::streams:
      return handle_list_streams(request);
    case Route::stream:
      if (method == "POST") return handle_append(request, match.name);
      if (method == "DELETE") return handle_delete_stream(request, match.name);
      return handle_read_stream(request, match.name);
    case Route::stream_metadata:
      if (method == "PUT") return handle_put_metadata(request, match.name);
      return handle_get_metadata(request, match.name);
    case Route::stream_event:
      return handle_read_event(request, match.name, match.revision);
    case Route::all:
      return handle_read_all(request);
    case Route::transactions:
      return handle_transaction(request);
    case Route::subscribe_all:
      return handle_subscribe_all(request);
    case Route::subscribe_stream:
      return handle_subscribe_stream(request, match.name);
    case Route::projections:
      return handle_projections(request);
    case Route::projection:
      return handle_projection(request, match.name);
  }
  return reply(error_response(404, "not_found", "no such resource"));
}

// 500 internal; a bare 500 if even that cannot be built (out of memory).
Reply internal_error(const char* what) noexcept {
  try {
    return reply(error_response(500, "internal", std::string("internal error: ") + what));
  } catch (...) {
    Reply bare;
    bare.response.status = 500;
    return bare;
  }
}

}  // namespace

struct Api::Impl {
  ApiContext context;

  Reply route_and_handle(const HttpRequest& http) {
    Result<ParsedTarget> target = parse_target(http.target);
    if (!target.ok()) return reply(error_response(400, "bad_request", target.status().message()));
    const std::string_view raw_path = std::string_view(http.target).substr(0, http.target.find('?'));
    const std::optional<RouteMatch> match = match_route(raw_path, target->segments);
    if (!match) return reply(error_response(404, "not_found", "no such resource: " + std::string(raw_path)));
    if (!allows(match->allow, http.method)) {
      HttpResponse response = error_response(
          405, "method_not_allowed", http.method + " is not allowed here; allowed: " + std::string(match->allow));
      response.headers.set("Allow", std::string(match->allow));
      return reply(std::move(response));
    }

    Principal principal;  // everything, when authentication is off
    if (context.keys != nullptr && needs_key(match->route)) {
      std::optional<Principal> authenticated = context.keys->authenticate(http.headers.get("Authorization"));
      if (!authenticated) {
        HttpResponse response =
            error_response(401, "unauthenticated", "a valid API key is required: Authorization: Bearer <key>");
        response.headers.set("WWW-Authenticate", std::string(kBearerChallenge));
        return reply(std::move(response));
      }
      principal = std::move(*authenticated);
      if (auto error = check_role(principal, http.method == "GET" ? Role::reader : Role::writer)) {
        return reply(std::move(*error));
      }
      // Store-wide figures and projection errors may name any stream: not for
      // a key restricted to stream prefixes.
      const bool store_wide = match->route == Route::stats || match->route == Route::metrics ||
                              match->route == Route::projections || match->route == Route::projection;
      if (store_wide && !principal.prefixes.empty()) {
        return reply(error_response(403, "forbidden",
                                    "this key is restricted to stream prefixes; store-wide figures need an "
                                    "unrestricted key"));
      }
    }

    ApiRequest request{http, *target, principal, context};
    const auto started = std::chrono::steady_clock::now();
    Reply result = dispatch(request, *match, raw_path);
    if (context.metrics != nullptr) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (is_append(match->route, http.method)) context.metrics->append_latency.record(seconds);
      if (is_read(match->route, http.method)) context.metrics->read_latency.record(seconds);
    }
    return result;
  }
};

Api::Api(ApiContext context) : impl_(std::make_unique<Impl>()) { impl_->context = std::move(context); }

Api::~Api() = default;

Reply Api::handle(const HttpRequest& request) {
  Reply result;
  try {
    result = impl_->route_and_handle(request);
  } catch (const std::exception& error) {
    result = internal_error(error.what());
  } catch (...) {
    result = internal_error("unknown exception");
  }
  // Requests and responses by status class are counted by the transport,
  // which also sees the requests it answers itself (431, 413, shutdown).
  return result;
}

}  // namespace evsrc::server
