// The store workloads of `evsrc bench` (issue "Performance"), 256-byte
// payloads, all on one store in this order:
//   a  1 writer, 1 event per append
//   b  64 concurrent writers, 1 event per append, each to its own stream
//   c  bulk: appends of 4096 events to one stream, round-robin over 1000 streams
//   d  $all catch-up read of everything written (read_all pages)
//   e  read 1000 random streams of 100 events each (written first)
// Write latencies are per append call; read latencies per read call.
#pragma once

#include <cstddef>
#include <cstdint>

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
};

// The event appended by every writer: a JSON object of exactly payload_bytes.
EventData bench_event(std::size_t payload_bytes);

Result<WorkloadResult> run_single_writer(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_concurrent_writers(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_bulk_appends(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_catch_up_read(EventStore& store, const WorkloadSettings& settings);
Result<WorkloadResult> run_random_stream_reads(EventStore& store, const WorkloadSettings& settings);

}  // namespace evsrc::bench
