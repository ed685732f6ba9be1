#include "bench/store_bench.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
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

namespace {

// `writers` threads append 1 event per call, each to its own stream
// "bench-<workload>-<writer>", until the budget ends (b, f).
Result<WorkloadResult> concurrent_writers(EventStore& store, const WorkloadSettings& settings, std::size_t writers,
                                          const std::string& workload) {
  WorkloadResult result;
  result.workload = workload;
  result.description = std::to_string(writers) + " writers, 1 event per append, own stream each";
  const EventData event = bench_event(settings.payload_bytes);
  std::atomic<std::uint64_t> claimed{0};
  std::atomic<bool> go{false};
  std::mutex mutex;  // guards the three below
  std::vector<double> latencies;
  Status failure;
  std::uint64_t appended_events = 0;

  Clock::time_point start;
  std::vector<std::thread> threads;
  for (std::size_t writer = 0; writer < writers; ++writer) {
    threads.emplace_back([&, writer] {
      const std::string stream = "bench-" + workload + "-" + std::to_string(writer);
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

}  // namespace

Result<WorkloadResult> run_concurrent_writers(EventStore& store, const WorkloadSettings& settings) {
  return concurrent_writers(store, settings, settings.writers, "b");
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

Result<WorkloadResult> run_async_writers(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "b2";
  result.description = "1 thread, " + std::to_string(settings.writers) +
                       " async appends in flight (1 event each, own stream, exact expected revision)";
  const EventData event = bench_event(settings.payload_bytes);
  struct Slot {
    std::string stream;
    ExpectedRevision expected = ExpectedRevision::no_stream();
    Clock::time_point issued;
    bool idle = true;
  };
  std::mutex mutex;  // guards everything below
  std::condition_variable cv;
  std::vector<Slot> slots(settings.writers);
  std::vector<std::size_t> idle;
  std::vector<double> latencies;
  Status failure;
  std::size_t in_flight = 0;
  const std::string run = std::to_string(Clock::now().time_since_epoch().count());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i].stream = "bench-b2-" + run + "-" + std::to_string(i);
    idle.push_back(i);
  }
  const Clock::time_point start = Clock::now();
  std::uint64_t issued = 0;
  std::unique_lock lock(mutex);
  while (failure.ok() && settings.budget.time_left(start) && settings.budget.events_left(issued)) {
    cv.wait(lock, [&] { return !idle.empty() || !failure.ok(); });
    if (!failure.ok()) break;
    const std::size_t index = idle.back();
    idle.pop_back();
    Slot& slot = slots[index];
    slot.issued = Clock::now();
    ++in_flight;
    ++issued;
    const ExpectedRevision expected = slot.expected;
    const std::string stream = slot.stream;
    lock.unlock();
    store.append_async(stream, expected, {event}, [&, index](Result<AppendResult> appended) {
      std::lock_guard done(mutex);
      Slot& finished = slots[index];
      if (appended.ok()) {
        latencies.push_back(micros_since(finished.issued));
        finished.expected = ExpectedRevision::exact(appended->last_revision);
      } else if (failure.ok()) {
        failure = appended.status();
      }
      idle.push_back(index);
      --in_flight;
      cv.notify_all();
    });
    lock.lock();
  }
  cv.wait(lock, [&] { return in_flight == 0; });
  result.seconds = seconds_since(start);
  if (!failure.ok()) return failure;
  result.events = latencies.size();
  result.calls = latencies.size();
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_few_writers(EventStore& store, const WorkloadSettings& settings) {
  return concurrent_writers(store, settings, settings.few_writers, "f");
}

Result<WorkloadResult> run_batch_appends(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "g";
  result.description = "1 writer, " + std::to_string(settings.small_batch) + " events per append, one stream";
  const std::vector<EventData> batch(settings.small_batch, bench_event(settings.payload_bytes));
  std::vector<double> latencies;
  const auto start = Clock::now();
  do {
    const auto call_start = Clock::now();
    auto appended = store.append("bench-g", ExpectedRevision::any(), batch);
    if (!appended.ok()) return appended.status();
    latencies.push_back(micros_since(call_start));
    result.events += batch.size();
    ++result.calls;
  } while (settings.budget.time_left(start) && settings.budget.events_left(result.events));
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_stream_loads(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "h";
  result.description = "load a " + std::to_string(settings.fold_events) + "-event stream and fold it (read_stream)";
  const std::vector<std::string> streams =
      fold_stream_names("bench-h-", std::max<std::size_t>(1, settings.fold_streams));
  const std::size_t append_size = std::max<std::size_t>(1, settings.fold_append);
  for (std::size_t written = 0; written < settings.fold_events; written += append_size) {
    const std::vector<EventData> batch(std::min(append_size, settings.fold_events - written),
                                       bench_event(settings.payload_bytes));
    for (const std::string& stream : streams) {
      auto appended = store.append(stream, ExpectedRevision::any(), batch);
      if (!appended.ok()) return appended.status();
    }
  }
  std::mt19937_64 random(11);
  std::vector<double> latencies;
  volatile std::uint64_t folded = 0;  // keeps the fold
  auto load = [&](const std::string& stream, bool measured) -> Status {
    const auto call_start = Clock::now();
    StreamReadOptions options;
    options.limit = settings.fold_events;
    auto page = store.read_stream(stream, options);
    if (!page.ok()) return page.status();
    if (page->events.size() != settings.fold_events) {
      return Status::corruption("bench: stream " + stream + " returned " + std::to_string(page->events.size()) +
                                " events instead of " + std::to_string(settings.fold_events));
    }
    std::uint64_t state = 0;
    for (const RecordedEvent& event : page->events) state = fold_event(state, event);
    folded = state;
    if (!measured) return Status();
    latencies.push_back(micros_since(call_start));
    result.events += page->events.size();
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
