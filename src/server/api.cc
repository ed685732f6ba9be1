// Api::handle(): routing, authentication, permissions by role, latency
// metrics and the last line of defence against exceptions. The handlers live in
// api_writes.cc, api_reads.cc, api_subscriptions.cc and api_admin.cc.
#include "server/api.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <exception>
#include <functional>

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

// A subscription opened with an API key: the key is looked up again
// whenever the key file's generation changed, and its role and prefixes are
// checked against what the subscription reads, so a revoked or narrowed key
// ends it.
class KeyCheckedFeed final : public SseFeed {
 public:
  using Scope = std::function<std::optional<HttpResponse>(const Principal&)>;
  KeyCheckedFeed(std::unique_ptr<SseFeed> inner, ApiKeyFile& keys, std::uint64_t generation,
                 std::string authorization, Scope scope)
      : inner_(std::move(inner)), keys_(keys), generation_(generation), authorization_(std::move(authorization)),
        scope_(std::move(scope)) {}

  Result<std::size_t> read_next(std::string& out, std::size_t max_events) override {
    return inner_->read_next(out, max_events);
  }
  bool behind() const override { return inner_->behind(); }

  // Thread-safe: the transport may check an idle feed while a batch starts.
  std::optional<Refusal> check_access() override {
    std::lock_guard lock(mutex_);
    if (refusal_) return refusal_;
    const std::uint64_t now = keys_.generation();
    if (now == generation_) return std::nullopt;
    generation_ = now;
    const std::optional<Principal> principal = keys_.authenticate(authorization_);
    if (!principal) {
      refusal_ = Refusal{"unauthenticated", "the subscription's API key is no longer valid (revoked)"};
    } else if (!principal->may(Role::reader) || scope_(*principal)) {
      refusal_ = Refusal{"forbidden", "the subscription's API key may no longer read these streams"};
    }
    return refusal_;
  }

 private:
  std::unique_ptr<SseFeed> inner_;
  ApiKeyFile& keys_;
  std::uint64_t generation_;  // of the keys last checked against
  const std::string authorization_;
  const Scope scope_;
  std::mutex mutex_;  // guards generation_ and refusal_
  std::optional<Refusal> refusal_;
};

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
    // Read before authenticating: a change after this is seen by a
    // subscription's first check.
    const std::uint64_t key_generation = context.keys != nullptr ? context.keys->generation() : 0;
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
    if (result.sse && context.keys != nullptr) {
      KeyCheckedFeed::Scope scope;
      if (match->route == Route::subscribe_stream) {
        scope = [stream = match->name](const Principal& p) { return check_stream_access(p, stream); };
      } else {
        scope = [prefix = std::string(target->param("prefix").value_or(""))](const Principal& p) {
          return check_prefix_access(p, prefix);
        };
      }
      result.sse = std::make_unique<KeyCheckedFeed>(std::move(result.sse), *context.keys, key_generation,
                                                    std::string(http.headers.get("Authorization").value_or("")),
                                                    std::move(scope));
    }
    LatencyHistogram* latency = nullptr;
    if (context.metrics != nullptr) {
      if (is_append(match->route, http.method)) latency = &context.metrics->append_latency;
      if (is_read(match->route, http.method)) latency = &context.metrics->read_latency;
    }
    if (latency != nullptr) {
      const auto record = [latency, started] {
        latency->record(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      };
      if (result.deferred) {
        // Timed until the store completes the write.
        result.deferred = [start = std::move(result.deferred), record](ResponseSink sink) {
          start([sink = std::move(sink), record](HttpResponse response) {
            record();
            sink(std::move(response));
          });
        };
      } else {
        record();
      }
    }
    return result;
  }
};

Api::Api(ApiContext context) : impl_(std::make_unique<Impl>()) { impl_->context = std::move(context); }

Api::~Api() = default;

namespace {

// Requests and responses by status class are counted by the transport,
// which also sees the requests it answers itself (431, 413, shutdown).
// A 503 (a resource ran out, the store closing) is worth a retry soon. One
// for lack of a resource is counted, and /health reports the server
// degraded for a while after it.
void finish_response(HttpResponse& response, ServerMetrics* metrics) {
  if (response.status != 503) return;
  response.headers.set("Retry-After", "1");
  if (response.resource_shortage && metrics != nullptr) metrics->note_shortage();
}

}  // namespace

void Api::handle_async(const HttpRequest& request, std::function<void(Reply)> done) {
  Reply result;
  try {
    result = impl_->route_and_handle(request);
  } catch (const std::exception& error) {
    result = internal_error(error.what());
  } catch (...) {
    result = internal_error("unknown exception");
  }
  ServerMetrics* const metrics = impl_->context.metrics;
  if (!result.deferred) {
    if (!result.sse) finish_response(result.response, metrics);
    done(std::move(result));
    return;
  }
  // `done` is called once whatever happens: if starting the write throws
  // before the sink was handed on, the answer is a 500 from here.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto shared_done = std::make_shared<std::function<void(Reply)>>(std::move(done));
  ResponseSink sink = [answered, shared_done, metrics](HttpResponse response) {
    if (answered->exchange(true)) return;
    finish_response(response, metrics);
    Reply reply;
    reply.response = std::move(response);
    (*shared_done)(std::move(reply));
  };
  try {
    result.deferred(sink);
  } catch (const std::exception& error) {
    sink(internal_error(error.what()).response);
  } catch (...) {
    sink(internal_error("unknown exception").response);
  }
}

Reply Api::handle(const HttpRequest& request) {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<Reply> answer;
  handle_async(request, [&](Reply reply) {
    std::lock_guard lock(mutex);
    answer = std::move(reply);
    cv.notify_one();
  });
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return answer.has_value(); });
  return std::move(*answer);
}

}  // namespace evsrc::server
