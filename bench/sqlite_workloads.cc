// The workloads of store_bench.h done by the SQLite program of
// sqlite_baseline.h: the same event, settings, budget and counting as evsrc's
// workload of the same letter.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "bench/sqlite_baseline.h"

namespace evsrc::bench {
namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One writer appending `batch` events per call, round-robin over `streams`
// streams "<prefix><i>", tracking each one's head (a, c, g).
Result<WorkloadResult> single_writer(const std::string& path, const WorkloadSettings& settings, std::size_t batch,
                                     std::size_t streams, const std::string& prefix, WorkloadResult result) {
  auto connection = SqliteBaseline::open(path);
  if (!connection.ok()) return connection.status();
  const std::vector<EventData> events(batch, bench_event(settings.payload_bytes));
  std::vector<std::optional<StreamRevision>> heads(streams);
  std::vector<double> latencies;
  std::size_t next = 0;
  const auto start = Clock::now();
  do {
    const auto call_start = Clock::now();
    auto appended = connection->append(prefix + std::to_string(next), heads[next], events);
    if (!appended.ok()) return appended.status();
    latencies.push_back(micros_since(call_start));
    heads[next] = *appended;
    next = (next + 1) % streams;
    result.events += batch;
    ++result.calls;
  } while (settings.budget.time_left(start) && settings.budget.events_left(result.events));
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

// `writers` threads, a connection each (opened before the clock starts),
// append 1 event per call to their own streams until the budget ends (b, f).
Result<WorkloadResult> concurrent_writers(const std::string& path, const WorkloadSettings& settings,
                                          std::size_t writers, WorkloadResult result) {
  const EventData event = bench_event(settings.payload_bytes);
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<std::size_t> ready{0};
  std::atomic<bool> go{false};
  std::mutex mutex;  // guards the three below
  std::vector<double> latencies;
  Status failure;
  std::uint64_t appended_events = 0;

  Clock::time_point start;
  std::vector<std::thread> threads;
  for (std::size_t writer = 0; writer < writers; ++writer) {
    threads.emplace_back([&, writer] {
      const std::string stream = "bench-" + result.workload + "-" + std::to_string(writer);
      std::vector<double> own_latencies;
      auto connection = SqliteBaseline::open(path);
      Status own_failure = connection.status();
      std::optional<StreamRevision> head;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (own_failure.ok() && settings.budget.time_left(start)) {
        if (!settings.budget.events_left(claimed.fetch_add(1))) break;
        const auto call_start = Clock::now();
        auto appended = connection->append(stream, head, std::span<const EventData>(&event, 1));
        if (!appended.ok()) {
          own_failure = appended.status();
          break;
        }
        own_latencies.push_back(micros_since(call_start));
        head = *appended;
      }
      std::lock_guard lock(mutex);
      appended_events += own_latencies.size();
      latencies.insert(latencies.end(), own_latencies.begin(), own_latencies.end());
      if (!own_failure.ok() && failure.ok()) failure = own_failure;
    });
  }
  while (ready.load() < writers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
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

WorkloadResult named(const std::string& workload, const std::string& description) {
  WorkloadResult result;
  result.workload = workload;
  result.description = "SQLite: " + description;
  return result;
}

}  // namespace

Result<WorkloadResult> run_sqlite_single_writer(const std::string& path, const WorkloadSettings& settings) {
  return single_writer(path, settings, 1, 1, "bench-a-", named("a", "1 writer, 1 event per append"));
}

Result<WorkloadResult> run_sqlite_concurrent_writers(const std::string& path, const WorkloadSettings& settings) {
  return concurrent_writers(
      path, settings, settings.writers,
      named("b", std::to_string(settings.writers) + " writers, 1 event per append, own stream each"));
}

Result<WorkloadResult> run_sqlite_bulk_appends(const std::string& path, const WorkloadSettings& settings) {
  return single_writer(
      path, settings, settings.bulk_batch, settings.bulk_streams, "bench-c-",
      named("c", "bulk: " + std::to_string(settings.bulk_batch) + " events per append, round-robin over " +
                     std::to_string(settings.bulk_streams) + " streams"));
}

Result<WorkloadResult> run_sqlite_few_writers(const std::string& path, const WorkloadSettings& settings) {
  return concurrent_writers(
      path, settings, settings.few_writers,
      named("f", std::to_string(settings.few_writers) + " writers, 1 event per append, own stream each"));
}

Result<WorkloadResult> run_sqlite_batch_appends(const std::string& path, const WorkloadSettings& settings) {
  return single_writer(path, settings, settings.small_batch, 1, "bench-g-",
                       named("g", "1 writer, " + std::to_string(settings.small_batch) + " events per append"));
}

Result<WorkloadResult> run_sqlite_catch_up_read(const std::string& path, const WorkloadSettings& settings) {
  WorkloadResult result = named("d", "catch-up read in position order, pages of " + std::to_string(settings.read_page));
  auto connection = SqliteBaseline::open(path);
  if (!connection.ok()) return connection.status();
  std::vector<double> latencies;
  // Whole passes over the table until the time budget is spent (at least one).
  const auto start = Clock::now();
  do {
    std::int64_t after = 0;
    for (;;) {
      const auto call_start = Clock::now();
      auto page = connection->read_after(after, settings.read_page);
      if (!page.ok()) return page.status();
      latencies.push_back(micros_since(call_start));
      result.events += page->size();
      ++result.calls;
      if (page->size() < settings.read_page || page->empty()) break;
      after = static_cast<std::int64_t>(page->back().position);
    }
  } while (settings.budget.time_left(start) && settings.budget.seconds > 0);
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_sqlite_random_stream_reads(const std::string& path, const WorkloadSettings& settings) {
  WorkloadResult result = named("e", "read " + std::to_string(settings.read_streams) + " random streams of " +
                                         std::to_string(settings.events_per_stream) + " events");
  auto connection = SqliteBaseline::open(path);
  if (!connection.ok()) return connection.status();
  const std::vector<EventData> batch(settings.events_per_stream, bench_event(settings.payload_bytes));
  std::vector<std::string> streams;
  for (std::size_t i = 0; i < settings.read_streams; ++i) {
    streams.push_back("bench-e-" + std::to_string(i));
    auto appended = connection->append(streams.back(), std::nullopt, batch);
    if (!appended.ok()) return appended.status();
  }
  std::mt19937_64 random(7);
  std::vector<double> latencies;
  auto read_pass = [&](bool measured) -> Status {
    std::shuffle(streams.begin(), streams.end(), random);
    for (const std::string& stream : streams) {
      const auto call_start = Clock::now();
      auto page = connection->read_stream(stream, 0, settings.events_per_stream);
      if (!page.ok()) return page.status();
      if (page->size() != settings.events_per_stream) {
        return Status::corruption("sqlite baseline: stream " + stream + " returned " + std::to_string(page->size()) +
                                  " events");
      }
      if (!measured) continue;
      latencies.push_back(micros_since(call_start));
      result.events += page->size();
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

Result<WorkloadResult> run_sqlite_stream_loads(const std::string& path, const WorkloadSettings& settings) {
  WorkloadResult result = named("h", "load a " + std::to_string(settings.fold_events) + "-event stream and fold it");
  auto connection = SqliteBaseline::open(path);
  if (!connection.ok()) return connection.status();
  const std::vector<std::string> streams =
      fold_stream_names("bench-h-", std::max<std::size_t>(1, settings.fold_streams));
  std::vector<std::optional<StreamRevision>> heads(streams.size());
  const std::size_t append_size = std::max<std::size_t>(1, settings.fold_append);
  for (std::size_t written = 0; written < settings.fold_events; written += append_size) {
    const std::vector<EventData> batch(std::min(append_size, settings.fold_events - written),
                                       bench_event(settings.payload_bytes));
    for (std::size_t i = 0; i < streams.size(); ++i) {
      auto appended = connection->append(streams[i], heads[i], batch);
      if (!appended.ok()) return appended.status();
      heads[i] = *appended;
    }
  }
  std::mt19937_64 random(11);
  std::vector<double> latencies;
  volatile std::uint64_t folded = 0;  // keeps the fold
  auto load = [&](const std::string& stream, bool measured) -> Status {
    const auto call_start = Clock::now();
    auto page = connection->read_stream(stream, 0, settings.fold_events);
    if (!page.ok()) return page.status();
    if (page->size() != settings.fold_events) {
      return Status::corruption("sqlite baseline: stream " + stream + " returned " + std::to_string(page->size()) +
                                " events");
    }
    std::uint64_t state = 0;
    for (const RecordedEvent& event : *page) state = fold_event(state, event);
    folded = state;
    if (!measured) return Status();
    latencies.push_back(micros_since(call_start));
    result.events += page->size();
    ++result.calls;
    return Status();
  };
  for (const std::string& stream : streams) {  // warm-up
    if (Status status = load(stream, false); !status.ok()) return status;
  }
  const auto start = Clock::now();
  do {
    if (Status status = load(streams[random() % streams.size()], true); !status.ok()) return status;
  } while (!bench_interrupted.load() &&
           (result.calls < kMinimumLoads || (settings.budget.seconds > 0 && settings.budget.time_left(start))));
  (void)folded;
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
