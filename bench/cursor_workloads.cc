// The borrowing-read workloads of `evsrc bench` (issue 15, targets d and e):
//   d2  $all catch-up through one cursor (EventView: no copy), every field
//       touched
//   e2  load a 1000-event stream through a stream cursor, every field
//       touched; the streams are written 10 events per append, round-robin
//       over 20 streams, so each one lies in 100 places of the log
#include <random>

#include "bench/store_bench.h"

namespace evsrc::bench {
namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// What a fold reads of an event: every field, so no read can skip work.
std::uint64_t touch(const EventView& event) {
  return event.revision ^ event.position ^ static_cast<std::uint64_t>(event.recorded_at.time_since_epoch().count()) ^
         event.id.bytes[0] ^ event.stream.size() ^ event.type.size() ^ event.data.size() ^ event.metadata.size() ^
         event.content_type.size() ^ static_cast<unsigned char>(event.data.empty() ? 0 : event.data.back());
}

}  // namespace

std::uint64_t bench_sink = 0;  // keeps the touched fields observable

Result<WorkloadResult> run_cursor_catch_up(EventStore& store, const WorkloadSettings& settings) {
  WorkloadResult result;
  result.workload = "d2";
  result.description = "$all catch-up through one cursor (views, every field touched)";
  std::vector<double> latencies;
  const auto start = Clock::now();
  do {
    AllReadOptions options;
    options.limit = kNoLimit;
    const auto pass_start = Clock::now();
    auto cursor = store.open_all_cursor(options);
    if (!cursor.ok()) return cursor.status();
    while (true) {
      Result<const EventView*> event = (*cursor)->next();
      if (!event.ok()) return event.status();
      if (*event == nullptr) break;
      bench_sink += touch(**event);
      ++result.events;
    }
    latencies.push_back(micros_since(pass_start));
    ++result.calls;
  } while (settings.budget.time_left(start) && settings.budget.seconds > 0);
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_cursor_stream_loads(EventStore& store, const WorkloadSettings& settings) {
  constexpr std::size_t kStreams = 20;
  constexpr std::size_t kEvents = 1000;
  constexpr std::size_t kPerAppend = 10;
  WorkloadResult result;
  result.workload = "e2";
  result.description = "load a 1000-event stream through a cursor (every field touched; written 10 per append "
                       "over 20 streams)";
  const std::vector<EventData> batch(kPerAppend, bench_event(settings.payload_bytes));
  std::vector<std::string> streams;
  for (std::size_t i = 0; i < kStreams; ++i) streams.push_back("bench-e2-" + std::to_string(i));
  for (std::size_t round = 0; round < kEvents / kPerAppend; ++round) {
    for (const std::string& stream : streams) {
      auto appended = store.append(stream, ExpectedRevision::any(), batch);
      if (!appended.ok()) return appended.status();
    }
  }
  std::mt19937_64 random(11);
  std::vector<double> latencies;
  auto load = [&](const std::string& stream, bool measured) -> Status {
    StreamReadOptions options;
    options.limit = kNoLimit;
    const auto call_start = Clock::now();
    auto cursor = store.open_stream_cursor(stream, options);
    if (!cursor.ok()) return cursor.status();
    std::size_t events = 0;
    while (true) {
      Result<const EventView*> event = (*cursor)->next();
      if (!event.ok()) return event.status();
      if (*event == nullptr) break;
      bench_sink += touch(**event);
      ++events;
    }
    if (events != kEvents) {
      return Status::corruption("bench: stream " + stream + " loaded " + std::to_string(events) + " events");
    }
    if (!measured) return Status();
    latencies.push_back(micros_since(call_start));
    result.events += events;
    ++result.calls;
    return Status();
  };
  for (const std::string& stream : streams) {
    if (Status status = load(stream, false); !status.ok()) return status;
  }
  const auto start = Clock::now();
  do {
    if (Status status = load(streams[random() % kStreams], true); !status.ok()) return status;
  } while (settings.budget.time_left(start) && settings.budget.seconds > 0 && result.calls < 20'000);
  result.seconds = seconds_since(start);
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
