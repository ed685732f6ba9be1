// The store workloads of `evsrc bench` (issue "Performance"), 256-byte
// payloads, all on one store in this order:
//   a  1 writer, 1 event per append
//   b  64 concurrent writers, 1 event per append, each to its own stream
//   b2 1 thread, 64 append_async calls in flight, 1 event each to its own
//      stream with the exact expected revision
//   c  bulk: appends of 4096 events to one stream, round-robin over 1000 streams
//   d  $all catch-up read of everything written (read_all pages)
//   e  read 1000 random streams of 100 events each (written first)
// and, for the comparison with the SQLite program of issue 15
// (bench/sqlite_baseline.h), after them:
//   f  8 concurrent writers, 1 event per append, each to its own stream
//   g  1 writer, appends of 100 events to one stream
//   h  load a 1000-event stream with one read_stream call and fold it,
//      touching every field of every event; 20 such streams are written
//      first, 10 events per append, round-robin (the layout of e2), so each
//      one lies in 100 places of the log
// Write latencies are per append call; read latencies per read call (per
// load and fold for h). Appends use ExpectedRevision::any() (a-c, f-g).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/bench_stats.h"
#include "evsrc/event_store.h"

namespace evsrc::bench {

struct WorkloadSettings {
  Budget budget;
  std::size_t payload_bytes = 256;
  std::size_t writers = 64;             // b
  std::size_t bulk_batch = 4096;        // c
  std::size_t bulk_streams = 1000;      // c
  std::uint64_t read_page = 4096;       // d
  std::size_t read_streams = 1000;      // e
  std::size_t events_per_stream = 100;  // e
  std::size_t few_writers = 8;          // f
  std::size_t small_batch = 100;        // g
  std::size_t fold_streams = 20;        // h: streams loaded, a random one each time
  std::size_t fold_events = 1000;       // h: events of each
  std::size_t fold_append = 10;         // h: written in appends of this many
};

// The fold of h: reads every field of `event` into `state` (a checksum, so
// that the reads are not optimised away). The same for evsrc and SQLite.
inline std::uint64_t fold_event(std::uint64_t state, const RecordedEvent& event) {
  state = state * 31 + event.revision + event.position;
  state += static_cast<std::uint64_t>(event.recorded_at.time_since_epoch().count());
  state += event.id.bytes[0] + event.id.bytes[15] + event.stream.size() + event.type.size() + event.metadata.size() +
           event.content_type.size() + event.data.size();
  if (!event.data.empty()) state += static_cast<unsigned char>(event.data.back());
  return state;
}

// Loads done at least in h, whatever the budget, so that p50 means something.
inline constexpr std::uint64_t kMinimumLoads = 21;

// The names of h's streams, "<prefix><i>".
inline std::vector<std::string> fold_stream_names(const std::string& prefix, std::size_t streams) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < streams; ++i) names.push_back(prefix + std::to_string(i));
  return names;
}

// The event appended by every writer: a JSON object of exactly payload_bytes.
EventData bench_event(std::size_t payload_bytes);

Result<WorkloadResult> run_single_writer(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_concurrent_writers(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_bulk_appends(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_catch_up_read(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_random_stream_reads(EventStore& store, const WorkloadSettings& settings);
// Borrowing reads (bench/cursor_workloads.cc): d2 $all through one cursor,
// e2 loads of 1000-event streams through a stream cursor (p50 per load).
Result<WorkloadResult> run_cursor_catch_up(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_cursor_stream_loads(EventStore& store, const WorkloadSettings& settings);
// b2: one thread keeps `writers` asynchronous appends in flight
// (append_async), one per stream, each expecting its stream's last revision.
Result<WorkloadResult> run_async_writers(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_few_writers(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_batch_appends(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_stream_loads(EventStore& store, const WorkloadSettings& settings);

}  // namespace evsrc::bench
