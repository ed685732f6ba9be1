// Operations endpoints of the API: health, Prometheus metrics, statistics
// for the console, projection status, and the console's static files.
#include <chrono>

#include "evsrc/projection.h"
#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/api_metrics.h"
#include "server/console_assets.h"
#include "server/descriptors.h"
#include "server/server_metrics.h"

namespace evsrc::server {
namespace {

namespace bj = boost::json;

void append_optional(std::string& out, const std::optional<std::uint64_t>& value) {
  out.append(value ? std::to_string(*value) : "null");
}

void append_member(std::string& out, std::string_view name, std::uint64_t value) {
  out.append(",\"").append(name).append("\":").append(std::to_string(value));
}

void append_latency(std::string& out, std::string_view name, const LatencyHistogram& histogram) {
  out.append(",\"").append(name).append("\":{\"count\":").append(std::to_string(histogram.count()));
  out.append(",\"p50\":");
  append_json(out, bj::value(histogram.quantile(0.5)));
  out.append(",\"p99\":");
  append_json(out, bj::value(histogram.quantile(0.99)));
  out.push_back('}');
}

std::vector<ProjectionStatus> projection_statuses(const ApiContext& context) {
  return context.projections ? context.projections() : std::vector<ProjectionStatus>();
}

void append_projection(std::string& out, const ProjectionStatus& status) {
  out.append("{\"name\":");
  append_json_string(out, status.name);
  out.append(",\"version\":").append(std::to_string(status.version));
  out.append(",\"state\":\"").append(projection_state_name(status.state)).append("\"");
  out.append(",\"position\":");
  append_optional(out, status.position);
  out.append(",\"lagPositions\":").append(std::to_string(status.lag_positions));
  out.append(",\"lagSeconds\":");
  append_json(out, bj::value(status.lag_seconds));
  out.append(",\"eventsApplied\":").append(std::to_string(status.events_applied));
  out.append(",\"error\":");
  if (status.error.empty()) {
    out.append("null");
  } else {
    append_json_string(out, status.error);
  }
  out.push_back('}');
}

Timestamp now_timestamp() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace

namespace {

// How long after a refused request or connection for lack of resources the
// server reports itself degraded.
constexpr std::int64_t kShortageMemoryMs = 60'000;

// {"status":<status>,"reason":<reason>} (+ error and message when failed).
HttpResponse health_response(std::string_view status, const std::string& reason) {
  std::string body = "{\"status\":\"";
  body.append(status).append("\",\"reason\":");
  append_json_string(body, reason);
  if (status == "failed") {
    body.append(",\"error\":\"unavailable\",\"message\":");
    append_json_string(body, reason);
  }
  body.push_back('}');
  return json_response(status == "failed" ? 503 : 200, std::move(body));
}

}  // namespace

Reply handle_health(ApiRequest& request) {
  Result<StoreStats> stats = request.context.store->stats();
  if (!stats.ok()) return reply(health_response("failed", "the store does not answer: " + stats.status().to_string()));
  if (!stats->write_status.ok()) {
    return reply(health_response("failed", "the store refuses writes: " + stats->write_status.to_string()));
  }
  if (request.context.metrics != nullptr) {
    const std::optional<std::int64_t> since = request.context.metrics->since_last_shortage_ms();
    if (since && *since < kShortageMemoryMs) {
      return reply(health_response("degraded", "a request or connection was refused for lack of resources (file "
                                               "descriptors) " + std::to_string(*since / 1000) + " s ago"));
    }
  }
  if (const std::optional<DescriptorUse> use = descriptor_use()) {
    if (use->open + kDescriptorReserve / 2 >= use->limit) {
      return reply(health_response("degraded", std::to_string(use->open) + " of " + std::to_string(use->limit) +
                                                   " file descriptors are open"));
    }
  }
  return reply(json_response(200, "{\"status\":\"ok\"}"));
}

Reply handle_metrics(ApiRequest& request) {
  static const ServerMetrics kNoMetrics;
  Result<StoreStats> stats = request.context.store->stats();
  HttpResponse response;
  response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  response.body = render_prometheus(request.context.metrics != nullptr ? *request.context.metrics : kNoMetrics,
                                    stats.ok() ? &stats.value() : nullptr, projection_statuses(request.context));
  return reply(std::move(response));
}

Reply handle_stats(ApiRequest& request) {
  Result<StoreStats> stats = request.context.store->stats();
  if (!stats.ok()) return reply(store_error_response(stats.status()));
  std::string out = "{\"events\":" + std::to_string(stats->events);
  append_member(out, "streams", stats->streams);
  append_member(out, "bytes", stats->bytes);
  append_member(out, "segments", stats->segments);
  out.append(",\"lastPosition\":");
  append_optional(out, stats->last_position);
  out.append(",\"time\":\"").append(format_rfc3339(now_timestamp())).append("\"");
  if (const ServerMetrics* metrics = request.context.metrics) {
    const auto load = [](const std::atomic<std::uint64_t>& value) { return value.load(std::memory_order_relaxed); };
    append_member(out, "requests", load(metrics->requests));
    append_member(out, "responses4xx", load(metrics->responses_4xx));
    append_member(out, "responses5xx", load(metrics->responses_5xx));
    append_member(out, "appends", load(metrics->appends));
    append_member(out, "appendedEvents", load(metrics->appended_events));
    append_member(out, "appendedBytes", load(metrics->appended_bytes));
    append_member(out, "appendConflicts", load(metrics->append_conflicts));
    append_member(out, "readEvents", load(metrics->read_events));
    append_member(out, "connectionsOpen", load(metrics->connections_open));
    append_member(out, "connectionsTotal", load(metrics->connections_total));
    append_member(out, "subscriptionsOpen", load(metrics->subscriptions_open));
    append_member(out, "subscriptionsTotal", load(metrics->subscriptions_total));
    append_member(out, "subscriptionEvents", load(metrics->subscription_events));
    append_member(out, "subscriptionsDropped", load(metrics->subscriptions_dropped));
    append_latency(out, "appendLatency", metrics->append_latency);
    append_latency(out, "readLatency", metrics->read_latency);
  }
  out.push_back('}');
  return reply(json_response(200, std::move(out)));
}

Reply handle_projections(ApiRequest& request) {
  std::string out = "{\"projections\":[";
  bool first = true;
  for (const ProjectionStatus& status : projection_statuses(request.context)) {
    if (!first) out.push_back(',');
    first = false;
    append_projection(out, status);
  }
  out.append("]}");
  return reply(json_response(200, std::move(out)));
}

Reply handle_projection(ApiRequest& request, const std::string& name) {
  for (const ProjectionStatus& status : projection_statuses(request.context)) {
    if (status.name == name) {
      std::string out;
      append_projection(out, status);
      return reply(json_response(200, std::move(out)));
    }
  }
  return reply(error_response(404, "projection_not_found", "no projection named " + name));
}

Reply handle_console(std::string_view path) {
  if (path == "/console") {
    HttpResponse response;
    response.status = 302;
    response.headers.set("Location", "/console/");
    return reply(std::move(response));
  }
  std::string_view name = path.substr(std::string_view("/console/").size());
  if (name.empty()) name = "index.html";
  for (const ConsoleAsset& asset : console_assets()) {
    if (asset.name == name) {
      HttpResponse response;
      response.headers.set("Content-Type", std::string(asset.content_type));
      // The console is small and changes with the server: always revalidate.
      response.headers.set("Cache-Control", "no-cache");
      response.body = std::string(asset.bytes);
      return reply(std::move(response));
    }
  }
  return reply(error_response(404, "not_found", "no console file " + std::string(name)));
}

}  // namespace evsrc::server
