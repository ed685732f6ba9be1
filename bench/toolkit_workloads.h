// Workloads of `evsrc bench-toolkit` (see toolkit_bench.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "evsrc/status.h"

namespace evsrc::bench {

struct ToolkitSettings {
  std::uint64_t events = 1'000'000;        // store size of projection / rebuild
  std::uint64_t largest_stream = 1'000'000;  // view: streams of 1k, 100k and this
  double seconds = 3;                       // commands: per measurement
  std::uint64_t snapshot_every = 1000;
};

// One printed figure; `ratio` is value / the baseline measured in the same run.
struct Figure {
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<double> ratio;
  std::string baseline;
};

using Progress = std::function<void(const std::string&)>;
// Runs in `scratch` (a fresh, empty directory).
using ToolkitWorkload =
    std::function<Result<std::vector<Figure>>(const std::string& scratch, const ToolkitSettings&, const Progress&)>;

Result<std::vector<Figure>> run_view_workload(const std::string& scratch, const ToolkitSettings& settings,
                                              const Progress& progress);
Result<std::vector<Figure>> run_command_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                 const Progress& progress);
Result<std::vector<Figure>> run_projection_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                    const Progress& progress);
Result<std::vector<Figure>> run_rebuild_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                 const Progress& progress);

inline std::map<std::string, ToolkitWorkload> toolkit_workloads() {
  return {{"view", run_view_workload},
          {"commands", run_command_workload},
          {"projection", run_projection_workload},
          {"rebuild", run_rebuild_workload}};
}

}  // namespace evsrc::bench
