// The workloads of `evsrc bench-server` (issue 4 "Performance"): concurrent
// keep-alive HTTP clients against an evsrcd server, 256-byte payloads.
//   append-1     N clients, POST of 1 event, each to its own stream
//   append-100   N clients, POST of 100-event batches, each to its own stream
//   read         N clients, GET of 100-event pages of the append-100 streams
//   sse-fanout   S subscribers of /v1/subscriptions/all while W writers append
//                1 event each: delivered events/s over all subscribers and the
//                delivery latency (append sent -> event received)
//   remote-catchup    $all from 0 to the end through one cursor of the remote
//                     client (open_remote_store), every field used
//   remote-load-1000  a 1000-event stream loaded (read_stream) and folded
//                     through the remote client
// Latencies are per request (per delivered event for sse-fanout; per whole
// read for the remote workloads, whose baseline is the embedded engine doing
// the same read of the same store).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/bench_stats.h"
#include "evsrc/event_store.h"
#include "evsrc/status.h"
#include <vector>

namespace evsrc::bench {

struct ServerWorkloadSettings {
  std::string url;         // http://HOST:PORT
  std::string api_key;     // bearer key; empty = none
  std::string stream_tag;  // makes this run's stream names unique
  Budget budget;           // seconds bound each workload; events unused
  std::size_t clients = 64;
  std::size_t batch = 100;
  std::size_t payload_bytes = 256;
  std::size_t subscribers = 100;
  std::size_t fanout_writers = 4;
};

// WorkloadResult::calls counts requests (appended events for sse-fanout).
Result<WorkloadResult> run_server_single_appends(const ServerWorkloadSettings& settings);
// Leaves settings.clients streams of whole batches for run_server_reads.
Result<WorkloadResult> run_server_batch_appends(const ServerWorkloadSettings& settings);
Result<WorkloadResult> run_server_reads(const ServerWorkloadSettings& settings);
Result<WorkloadResult> run_server_fanout(const ServerWorkloadSettings& settings);
// remote-catchup and remote-load-1000 (bench/remote_workloads.cc), each with
// the figures of `embedded` (the store behind the server) as its ceiling.
Result<std::vector<WorkloadResult>> run_remote_reads(const ServerWorkloadSettings& settings, EventStore& embedded);

}  // namespace evsrc::bench
