// The concurrent workload whose history the checker judges: writer clients
// on a few hot streams doing read-then-append with the revision they read
// (so conflicts are expected), appends with `any`, multi-event appends,
// two-stream transactions and appends bound to fail; reader clients reading
// streams (heads, windows, whole) and paging through $all. Every call goes
// through a HistoryRecorder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "history/history_recorder.h"

namespace evsrc::history {

struct WorkloadOptions {
  std::size_t writers = 8;
  std::size_t readers = 2;
  std::size_t streams = 4;
  std::size_t writer_operations = 600;  // per writer
  std::size_t reader_operations = 400;  // per reader
  std::uint64_t seed = 1;
};

// "hot-0", "hot-1", ...
std::vector<std::string> hot_streams(std::size_t count);

// Runs every client on a thread of its own until each has done its count of
// operations. `store_for(client)` is the store client `client` talks to
// (clients 0..writers-1 write, the rest read); it is called once per client
// before the threads start.
void run_workload(const WorkloadOptions& options, const std::function<EventStore&(std::size_t)>& store_for,
                  HistoryRecorder& recorder);

}  // namespace evsrc::history
