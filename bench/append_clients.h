// Many clients appending at once: the load generator of bench-postgres and
// bench-dynamodb.
#pragma once

#include <cstddef>
#include <functional>

#include "bench/bench_stats.h"
#include "evsrc/status.h"

namespace evsrc::bench {

// A client's append: one call appends one batch. Made on the client's own
// thread before the clock starts (connecting is not measured).
using AppendCall = std::function<Status()>;
using ClientFactory = std::function<Result<AppendCall>(std::size_t client)>;

// `clients` threads append batches of `batch` events until the budget ends;
// latency per append call. The first failure of any client is the result.
Result<WorkloadResult> run_append_clients(std::size_t clients, std::size_t batch, std::size_t event_bytes,
                                          const Budget& budget, const ClientFactory& make_client);

}  // namespace evsrc::bench
