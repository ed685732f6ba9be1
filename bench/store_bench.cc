#include "bench/store_bench.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace evsrc::bench {

EventData bench_event(std::size_t payload_bytes) {
  EventData event;
  event.type = "BenchEvent";
  const std::string prefix = "{\"payload\":\"";
  const std::string suffix = "\"}";
  const std::size_t fill =
      payload_bytes > prefix.size() + suffix.size() ? payload_bytes - prefix.size() - suffix.size() : 0;
  event.data = prefix + std::string(fill, 'x') + suffix;
  return event;
}

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

Result<WorkloadResult> run_single_writer(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "a";
  result.description = "1 writer, 1 event per append";
  const EventData event = bench_event(settings.payload_bytes);
  std::vector<double> latencies;
  const auto start = Clock::now();
  do {
    const auto call_start = Clock::now();
    auto appended = store.append("bench-a", ExpectedRevision::any(), std::span<const EventData>(&event, 1));
    if (!appended.ok()) return appended.status();
    latencies.push_back(micros_since(call_start));
    ++result.events;
    ++result.calls;
  } while (settings.budget.time_left(start) && settings.budget.events_left(result.events));
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_concurrent_writers(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "b";
  result.description = std::to_string(settings.writers) + " writers, 1 event per append, own stream each";
  const EventData event = bench_event(settings.payload_bytes);
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<bool> go{false};
  std::mutex mutex;  // guards the three below
  std::vector<double> latencies;
  Status failure;
  std::uint64_t appended_events = 0;

  Clock::time_point start;
  std::vector<std::thread> threads;
  for (std::size_t writer = 0; writer < settings.writers; ++writer) {
    threads.emplace_back([&, writer] {
      const std::string stream = "bench-b-" + std::to_string(writer);
      std::vector<double> own_latencies;
      Status own_failure;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (settings.budget.time_left(start)) {
        if (!settings.budget.events_left(claimed.fetch_add(1))) break;
        const auto call_start = Clock::now();
        auto appended = store.append(stream, ExpectedRevision::any(), std::span<const EventData>(&event, 1));
        if (!appended.ok()) {
          own_failure = appended.status();
          break;
        }
        own_latencies.push_back(micros_since(call_start));
      }
      std::lock_guard lock(mutex);
      appended_events += own_latencies.size();
      latencies.insert(latencies.end(), own_latencies.begin(), own_latencies.end());
      if (!own_failure.ok() && failure.ok()) failure = own_failure;
    });
  }
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& thread : threads) thread.join();
  result.seconds = seconds_since(start);
  if (!failure.ok()) return failure;
  result.events = appended_events;
  result.calls = appended_events;
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_bulk_appends(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "c";
  result.description = "bulk: " + std::to_string(settings.bulk_batch) + " events per append, round-robin over " +
                       std::to_string(settings.bulk_streams) + " streams";
  const std::vector<EventData> batch(settings.bulk_batch, bench_event(settings.payload_bytes));
  std::vector<double> latencies;
  std::size_t next_stream = 0;
  const auto start = Clock::now();
  do {
    const std::string stream = "bench-c-" + std::to_string(next_stream);
    next_stream = (next_stream + 1) % settings.bulk_streams;
    const auto call_start = Clock::now();
    auto appended = store.append(stream, ExpectedRevision::any(), batch);
    if (!appended.ok()) return appended.status();
    latencies.push_back(micros_since(call_start));
    result.events += batch.size();
    ++result.calls;
  } while (settings.budget.time_left(start) && settings.budget.events_left(result.events));
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_catch_up_read(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "d";
  result.description = "$all catch-up read of everything written, pages of " + std::to_string(settings.read_page);
  std::vector<double> latencies;
  // Whole passes over $all until the time budget is spent (at least one).
  const auto start = Clock::now();
  do {
    AllReadOptions options;
    options.limit = settings.read_page;
    for (;;) {
      const auto call_start = Clock::now();
      auto page = store.read_all(options);
      if (!page.ok()) return page.status();
      latencies.push_back(micros_since(call_start));
      result.events += page->events.size();
      ++result.calls;
      if (!page->next || page->next == options.from) break;
      options.from = page->next;
    }
  } while (settings.budget.time_left(start) && settings.budget.seconds > 0);
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_random_stream_reads(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "e";
  result.description = "read " + std::to_string(settings.read_streams) + " random streams of " +
                       std::to_string(settings.events_per_stream) + " events";
  const std::vector<EventData> batch(settings.events_per_stream, bench_event(settings.payload_bytes));
  std::vector<std::string> streams;
  for (std::size_t i = 0; i < settings.read_streams; ++i) {
    streams.push_back("bench-e-" + std::to_string(i));
    auto appended = store.append(streams.back(), ExpectedRevision::no_stream(), batch);
    if (!appended.ok()) return appended.status();
  }

  std::mt19937_64 random(7);
  std::vector<double> latencies;
  auto read_pass = [&](bool measured) -> Status {
    std::shuffle(streams.begin(), streams.end(), random);
    for (const std::string& stream : streams) {
      StreamReadOptions options;
      options.limit = settings.events_per_stream;
      const auto call_start = Clock::now();
      auto page = store.read_stream(stream, options);
      if (!page.ok()) return page.status();
      if (page->events.size() != settings.events_per_stream) {
        return Status::corruption("bench: stream " + stream + " returned " + std::to_string(page->events.size()) +
                                  " events instead of " + std::to_string(settings.events_per_stream));
      }
      if (!measured) continue;
      latencies.push_back(micros_since(call_start));
      result.events += page->events.size();
      ++result.calls;
    }
    return Status();
  };
  // One warm-up pass, then whole measured passes until the time budget is spent.
  if (Status status = read_pass(false); !status.ok()) return status;
  const auto start = Clock::now();
  do {
    if (Status status = read_pass(true); !status.ok()) return status;
  } while (settings.budget.time_left(start) && settings.budget.seconds > 0);
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
