#include "server/server_metrics.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cmath>

#include "evsrc/projection.h"
#include "server/api_metrics.h"

namespace evsrc::server {
namespace {

// Shortest round-trip decimal without an exponent ("0.00025", "10").
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buffer[400];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed);
  out.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

void append_number(std::string& out, std::uint64_t value) { out.append(std::to_string(value)); }

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ");
  append_number(out, value);
  out.append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ");
  append_number(out, value);
  out.append("\n");
}

void counter(std::string& out, std::string_view name, std::string_view help, const std::atomic<std::uint64_t>& value) {
  header(out, name, "counter", help);
  sample(out, name, {}, value.load(std::memory_order_relaxed));
}

void gauge(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
  header(out, name, "gauge", help);
  sample(out, name, {}, value);
}

}  // namespace

void LatencyHistogram::record(double seconds) {
  if (!(seconds > 0)) seconds = 0;  // also NaN
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  const double micros = std::min(seconds * 1e6, 1e18);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(micros)), std::memory_order_relaxed);
}

double LatencyHistogram::quantile(double q) const {
  std::array<std::uint64_t, kBounds.size() + 1> counts;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    counts[i] = buckets_[i].load(std::memory_order_relaxed);
    total += counts[i];
  }
  if (total == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && static_cast<double>(below + counts[i]) >= rank) {
      if (i == kBounds.size()) return kBounds.back();  // +Inf: the highest finite bound
      const double lower = i == 0 ? 0.0 : kBounds[i - 1];
      const double upper = kBounds[i];
      // Linear within the bucket, as Prometheus' histogram_quantile().
      return lower + (upper - lower) * (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    }
    below += counts[i];
  }
  return kBounds.back();
}

void LatencyHistogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  std::string prefix = labels;
  if (!prefix.empty() && prefix.back() != ',') prefix.push_back(',');
  const std::string plain = prefix.empty() ? std::string() : prefix.substr(0, prefix.size() - 1);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out.append(name).append("_bucket{").append(prefix).append("le=\"");
    if (i < kBounds.size()) {
      append_number(out, kBounds[i]);
    } else {
      out.append("+Inf");
    }
    out.append("\"} ");
    append_number(out, cumulative);
    out.append("\n");
  }
  sample(out, name + "_sum", plain, static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  // The count is the +Inf bucket's, so the two always agree in one scrape.
  sample(out, name + "_count", plain, cumulative);
}

std::string render_prometheus(const ServerMetrics& metrics, const StoreStats* stats,
                              const std::vector<ProjectionStatus>& projections) {
  std::string out;
  out.reserve(8192);
  counter(out, "evsrc_http_requests_total", "HTTP requests handled by the API.", metrics.requests);
  header(out, "evsrc_http_responses_total", "counter", "API error responses by status class.");
  sample(out, "evsrc_http_responses_total", "class=\"4xx\"", metrics.responses_4xx.load(std::memory_order_relaxed));
  sample(out, "evsrc_http_responses_total", "class=\"5xx\"", metrics.responses_5xx.load(std::memory_order_relaxed));
  counter(out, "evsrc_appends_total", "Successful appends and transactions.", metrics.appends);
  counter(out, "evsrc_appended_events_total", "Events written by appends and transactions.", metrics.appended_events);
  counter(out, "evsrc_appended_bytes_total", "Data and metadata bytes of the events written.", metrics.appended_bytes);
  counter(out, "evsrc_append_conflicts_total", "Appends refused with a wrong expected revision (409).",
          metrics.append_conflicts);
  counter(out, "evsrc_read_events_total", "Events returned by stream and $all reads.", metrics.read_events);
  gauge(out, "evsrc_connections_open", "Open client connections.",
        metrics.connections_open.load(std::memory_order_relaxed));
  counter(out, "evsrc_connections_total", "Client connections accepted.", metrics.connections_total);
  gauge(out, "evsrc_subscriptions_open", "Open live subscriptions (SSE).",
        metrics.subscriptions_open.load(std::memory_order_relaxed));
  counter(out, "evsrc_subscriptions_total", "Live subscriptions started.", metrics.subscriptions_total);
  counter(out, "evsrc_subscription_events_total", "Events sent to subscribers.", metrics.subscription_events);
  counter(out, "evsrc_subscriptions_dropped_total", "Slow subscribers dropped.", metrics.subscriptions_dropped);
  counter(out, "evsrc_resource_shortages_total",
          "Requests refused and connections not accepted because a resource (file descriptors) ran out.",
          metrics.resource_shortages);
  header(out, "evsrc_append_latency_seconds", "histogram", "Time to handle an append or a transaction.");
  metrics.append_latency.write(out, "evsrc_append_latency_seconds", "");
  header(out, "evsrc_read_latency_seconds", "histogram", "Time to handle a stream or $all read.");
  metrics.read_latency.write(out, "evsrc_read_latency_seconds", "");

  if (stats != nullptr) {
    gauge(out, "evsrc_store_events", "Events in the store.", stats->events);
    gauge(out, "evsrc_store_streams", "Streams in the store.", stats->streams);
    gauge(out, "evsrc_store_bytes", "Bytes of log records.", stats->bytes);
    gauge(out, "evsrc_store_segments", "Log segment files.", stats->segments);
    if (stats->last_position)
      gauge(out, "evsrc_store_last_position", "Last committed position.", *stats->last_position);
  }

  if (!projections.empty()) {
    std::vector<std::pair<std::string, ProjectionStatus>> statuses;
    for (const ProjectionStatus& status : projections) {
      statuses.emplace_back("projection=\"" + label_value(status.name) + "\"", status);
    }
    header(out, "evsrc_projection_lag_positions", "gauge", "Store head minus the projection's checkpoint.");
    for (const auto& [labels, status] : statuses)
      sample(out, "evsrc_projection_lag_positions", labels, status.lag_positions);
    header(out, "evsrc_projection_lag_seconds", "gauge",
           "Recorded-at of the store head minus that of the projection's checkpoint.");
    for (const auto& [labels, status] : statuses)
      sample(out, "evsrc_projection_lag_seconds", labels, status.lag_seconds);
    header(out, "evsrc_projection_position", "gauge", "The projection's checkpoint (absent before the first batch).");
    for (const auto& [labels, status] : statuses) {
      if (status.position) sample(out, "evsrc_projection_position", labels, *status.position);
    }
    header(out, "evsrc_projection_events_applied_total", "counter", "Events applied by the projection's runner.");
    for (const auto& [labels, status] : statuses) {
      sample(out, "evsrc_projection_events_applied_total", labels, status.events_applied);
    }
    header(out, "evsrc_projection_state", "gauge", "1 for the projection's current state.");
    for (const auto& [labels, status] : statuses) {
      for (const ProjectionState state :
           {ProjectionState::stopped, ProjectionState::running, ProjectionState::caught_up, ProjectionState::failed}) {
        sample(out, "evsrc_projection_state", labels + ",state=\"" + std::string(projection_state_name(state)) + "\"",
               std::uint64_t{status.state == state ? 1u : 0u});
      }
    }
  }
  return out;
}

namespace {
std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void ServerMetrics::note_shortage() {
  resource_shortages.fetch_add(1, std::memory_order_relaxed);
  last_shortage_ms.store(steady_ms(), std::memory_order_relaxed);
}

std::optional<std::int64_t> ServerMetrics::since_last_shortage_ms() const {
  const std::int64_t last = last_shortage_ms.load(std::memory_order_relaxed);
  if (last < 0) return std::nullopt;
  return steady_ms() - last;
}

}  // namespace evsrc::server
