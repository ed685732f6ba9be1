// Server metrics in the Prometheus text format (version 0.0.4), served at
// /metrics and summarised as JSON for the console (/v1/stats).
//
// Counters and histograms are lock-free (relaxed atomics): recording costs a
// few atomic adds on the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace evsrc::server {

// A latency histogram with fixed buckets (seconds): 100 µs .. 10 s.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  10.0};
  void record(double seconds);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Estimated quantile (0..1) from the buckets; 0 when empty.
  double quantile(double q) const;
  // "<name>_bucket{<labels>le=...} n" lines, _sum and _count.
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // last = +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

struct ServerMetrics {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses_4xx{0};
  std::atomic<std::uint64_t> responses_5xx{0};
  std::atomic<std::uint64_t> appends{0};           // successful append/transaction calls
  std::atomic<std::uint64_t> appended_events{0};   // events they wrote
  std::atomic<std::uint64_t> appended_bytes{0};    // data + metadata bytes they wrote
  std::atomic<std::uint64_t> append_conflicts{0};  // 409s
  std::atomic<std::uint64_t> read_events{0};       // events returned by reads
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> subscriptions_open{0};
  std::atomic<std::uint64_t> subscriptions_total{0};
  std::atomic<std::uint64_t> subscription_events{0};   // events sent to subscribers
  std::atomic<std::uint64_t> subscriptions_dropped{0};  // slow clients dropped
  // Requests refused because a resource ran out (503 unavailable: file
  // descriptors, ...) and connections that could not be accepted for it.
  std::atomic<std::uint64_t> resource_shortages{0};
  std::atomic<std::int64_t> last_shortage_ms{-1};  // steady clock; -1: never
  void note_shortage();
  // Milliseconds since the last shortage; nullopt when there was none.
  std::optional<std::int64_t> since_last_shortage_ms() const;
  LatencyHistogram append_latency;  // seconds from request parsed to response ready
  LatencyHistogram read_latency;
};

}  // namespace evsrc::server
