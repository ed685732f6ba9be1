// evsrc bench-toolkit: the read and command side against baselines measured
// in the same run (issue "Toolkit and read side", results in
// docs/benchmarks.md).
//
//   view        loading a view of streams of 1k, 100k and 1M events with a
//               snapshot every 1000 events; ratio = load time / load time of
//               the 1k stream (cost must not grow with history)
//   commands    8 threads executing read-modify-write commands on 1 stream
//               vs on 8 streams; conflicts and retries counted; ratio =
//               contended / uncontended commands per second
//   projection  $all into SQLite read models with batched transactions;
//               ratio = projection / plain $all read of the same events
//   rebuild     the user-directory read models rebuilt from a store of
//               --events events; ratio as for projection
// Each workload runs on a fresh file: store in a scratch directory under
// --dir (removed afterwards). With --runs N each figure is the median of N.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_stats.h"
#include "bench/toolkit_workloads.h"
#include "cli/cli_common.h"

namespace evsrc::bench {
namespace {

using cli::Json;

struct ToolkitBenchArguments {
  std::string dir = ".";
  std::vector<std::string> workloads{"view", "commands", "projection", "rebuild"};
  int runs = 3;
  bool json = false;
  ToolkitSettings settings;
};

void progress(const std::string& text) {
  std::fprintf(stderr, "bench-toolkit: %s\n", text.c_str());
  std::fflush(stderr);
}

// Median of each figure over the runs (figures are matched by name).
std::vector<Figure> combine(const std::vector<std::vector<Figure>>& runs) {
  std::vector<Figure> combined = runs.front();
  for (std::size_t i = 0; i < combined.size(); ++i) {
    std::vector<double> values;
    std::vector<double> ratios;
    for (const auto& run : runs) {
      if (i >= run.size()) continue;
      values.push_back(run[i].value);
      if (run[i].ratio) ratios.push_back(*run[i].ratio);
    }
    combined[i].value = median(values);
    if (!ratios.empty()) combined[i].ratio = median(ratios);
  }
  return combined;
}

int run_toolkit_bench(const ToolkitBenchArguments& args) {
  const std::map<std::string, ToolkitWorkload> known = toolkit_workloads();
  for (const std::string& name : args.workloads) {
    if (!known.contains(name)) return cli::report_error(Status::invalid_argument("unknown workload '" + name + "'"));
  }
  for (const std::string& name : args.workloads) {
    std::vector<std::vector<Figure>> runs;
    for (int run = 0; run < args.runs; ++run) {
      std::error_code error;
      std::filesystem::create_directories(args.dir, error);
      std::string scratch = (std::filesystem::path(args.dir) / "evsrc-bench-XXXXXX").string();
      if (::mkdtemp(scratch.data()) == nullptr) {
        return cli::report_error(Status::io_error("cannot create a scratch directory under '" + args.dir + "'"));
      }
      progress(name + " run " + std::to_string(run + 1) + "/" + std::to_string(args.runs) + " in " + scratch);
      Result<std::vector<Figure>> figures = known.at(name)(scratch, args.settings, progress);
      std::filesystem::remove_all(scratch, error);
      if (!figures.ok()) return cli::report_error(figures.status());
      runs.push_back(std::move(figures).value());
    }
    for (const Figure& figure : combine(runs)) {
      if (args.json) {
        Json line = Json::object();
        line["workload"] = name;
        line["figure"] = figure.name;
        line["value"] = figure.value;
        line["unit"] = figure.unit;
        if (figure.ratio) line["ratio"] = *figure.ratio;
        if (!figure.baseline.empty()) line["baseline"] = figure.baseline;
        line["runs"] = args.runs;
        cli::print_json_line(line);
      } else {
        std::printf("%-11s %-58s %14.1f %-9s", name.c_str(), figure.name.c_str(), figure.value, figure.unit.c_str());
        if (figure.ratio) std::printf(" ratio %7.3f vs %s", *figure.ratio, figure.baseline.c_str());
        std::printf("\n");
      }
    }
  }
  if (!args.json) std::printf("(medians of %d runs)\n", args.runs);
  return cli::flush_stdout() ? cli::kExitOk : cli::kExitError;
}

}  // namespace

void register_toolkit_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<ToolkitBenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench-toolkit",
      "Benchmark the toolkit on a fresh file: store: (view) loading views of 1k/100k/1M-event streams with a "
      "snapshot every 1000 events; (commands) 8 threads on 1 stream vs 8 streams; (projection) $all into SQLite "
      "read models; (rebuild) the user-directory read models. Prints figures with ratios against baselines "
      "measured in the same run; medians of --runs.");
  command->add_option("--dir", args->dir, "Directory for the scratch stores")->capture_default_str();
  command->add_option("--workload", args->workloads, "Workloads to run: view, commands, projection, rebuild")
      ->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat each workload N times and report medians")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_flag("--json", args->json, "One JSON object per figure: workload, figure, value, unit, ratio, baseline");
  command->add_option("--events", args->settings.events, "Events in the store for projection and rebuild")
      ->capture_default_str();
  command->add_option("--largest-stream", args->settings.largest_stream,
                      "Length of the longest stream of the view workload")
      ->capture_default_str();
  command->add_option("--seconds", args->settings.seconds, "Duration of each commands measurement")
      ->capture_default_str();
  command->callback([&context, args] { context.run = [args] { return run_toolkit_bench(*args); }; });
}

}  // namespace evsrc::bench
