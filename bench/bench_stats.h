// Measurement helpers shared by the benchmark workloads.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace evsrc::bench {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM: every workload stops at its next check so the
// scratch directory can still be removed.
inline std::atomic<bool> bench_interrupted{false};

// How long a workload runs: until `seconds` pass or `events` are done,
// whichever comes first; 0 means no bound of that kind.
struct Budget {
  double seconds = 5;
  std::uint64_t events = 2'000'000;

  bool time_left(Clock::time_point start) const {
    if (bench_interrupted.load(std::memory_order_relaxed)) return false;
    return seconds <= 0 || std::chrono::duration<double>(Clock::now() - start).count() < seconds;
  }
  bool events_left(std::uint64_t done) const {
    return !bench_interrupted.load(std::memory_order_relaxed) && (events == 0 || done < events);
  }
};

// Value at quantile q (0..1) of the samples; 0 when there are none.
inline double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  const auto index = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
  return samples[index];
}

inline double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

inline double micros_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// What one workload (or one raw ceiling) measured.
struct WorkloadResult {
  std::string workload;  // "a" .. "e"
  std::string description;
  std::uint64_t events = 0;
  std::uint64_t calls = 0;  // append calls (writes) or read calls (reads)
  double seconds = 0;
  double events_per_s = 0;
  double mb_per_s = 0;  // payload bytes
  double p50_us = 0;    // per append call (writes) / per read call (reads)
  double p99_us = 0;
  std::optional<double> ceiling_events_per_s;
  std::optional<double> ceiling_p50_us;  // the baseline's p50 for the same call, where one is measured
  std::optional<double> ratio;
};

// The median of every figure of one workload over several runs (optional
// figures: over the runs that have them). Defined in bench_command.cc.
WorkloadResult combine_runs(const std::vector<WorkloadResult>& runs);

// Fills rates and latency percentiles from the raw measurements.
inline void finish_result(WorkloadResult& result, std::size_t payload_bytes, const std::vector<double>& latencies_us) {
  if (result.seconds > 0) {
    result.events_per_s = static_cast<double>(result.events) / result.seconds;
    result.mb_per_s = result.events_per_s * static_cast<double>(payload_bytes) / 1e6;
  }
  result.p50_us = percentile(latencies_us, 0.50);
  result.p99_us = percentile(latencies_us, 0.99);
}

// Eight random hex digits, to name a run's streams or schemas apart from
// earlier runs'.
inline std::string random_tag() {
  const unsigned value = std::random_device{}();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(8, '0');
  for (int i = 0; i < 8; ++i) text[7 - i] = kHex[(value >> (4 * i)) & 0xf];
  return text;
}

}  // namespace evsrc::bench
