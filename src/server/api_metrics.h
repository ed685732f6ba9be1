// The Prometheus exposition (text format 0.0.4) of GET /metrics: the
// server's counters and latency histograms (server_metrics.h), the store's
// size and the lag of the projections the server runs.
#pragma once

#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "server/server_metrics.h"

namespace evsrc::server {

// `stats` may be null (the store did not answer): its gauges are left out.
std::string render_prometheus(const ServerMetrics& metrics, const StoreStats* stats,
                              const std::vector<ProjectionStatus>& projections);

}  // namespace evsrc::server
