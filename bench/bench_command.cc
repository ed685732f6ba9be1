// evsrc bench: the embedded engine against the raw ceiling of the same file
// system (issue "Performance"; results go to docs/benchmarks.md).
//
// In a scratch directory (a fresh one under --dir, removed afterwards):
//   1. raw ceilings: a preallocated file overwritten with commits of 1, W
//      (writers) and B (bulk batch) records of 256 bytes, one fdatasync each;
//   2. workloads (a)-(e) on a fresh file: store in that directory (or
//      --store-uri), see store_bench.h.
// Ratios: (a) / ceiling of 1-record commits, (b) / ceiling of W-record
// commits (the largest group W writers can form), (c) / ceiling of B-record
// commits; (d) and (e) are reads: no ceiling.
// With --runs N everything is repeated N times (fresh store each time) and
// each figure is the median over the runs.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/raw_ceiling.h"
#include "bench/store_bench.h"
#include "cli/cli_common.h"

namespace evsrc::bench {
namespace {

using cli::Json;

struct BenchArguments {
  std::string dir = ".";
  std::string store_uri;  // default: file:<scratch>/store
  double seconds = 5;
  std::uint64_t events = 2'000'000;
  int runs = 1;
  bool json = false;
  WorkloadSettings settings;
  std::size_t ceiling_file_mib = 128;
};

// A scratch directory removed when the benchmark ends.
class ScratchDirectory {
 public:
  static Result<ScratchDirectory> create(const std::string& parent) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    std::string pattern = (std::filesystem::path(parent) / "evsrc-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::io_error("cannot create a scratch directory under '" + parent + "'");
    }
    return ScratchDirectory(pattern);
  }
  ScratchDirectory(ScratchDirectory&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDirectory& operator=(ScratchDirectory&&) = delete;
  ~ScratchDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

extern "C" void interrupt_bench(int) { bench_interrupted.store(true); }

void progress(const std::string& text) {
  std::fprintf(stderr, "bench: %s\n", text.c_str());
  std::fflush(stderr);
}

// One run: ceilings then workloads, in order a..e.
Result<std::vector<WorkloadResult>> run_once(const BenchArguments& args, const std::string& run_dir) {
  const WorkloadSettings& settings = args.settings;
  const std::size_t record = settings.payload_bytes;
  const std::size_t ceiling_bytes =
      std::max(args.ceiling_file_mib << 20, record * settings.bulk_batch);  // one bulk commit must fit
  const std::string ceiling_path = run_dir + "/raw-ceiling";
  std::vector<std::optional<double>> ceilings(3);
  {
    progress("preallocating " + std::to_string(ceiling_bytes >> 20) + " MiB for the raw ceiling");
    auto file = RawCeilingFile::create(ceiling_path, ceiling_bytes);
    if (!file.ok()) return file.status();
    const std::size_t commit_sizes[3] = {1, settings.writers, settings.bulk_batch};
    for (int i = 0; i < 3; ++i) {
      progress("raw ceiling, " + std::to_string(commit_sizes[i]) + " records per fdatasync");
      auto ceiling = file->measure(record, commit_sizes[i], settings.budget);
      if (!ceiling.ok()) return ceiling.status();
      ceilings[i] = ceiling->events_per_s;
      progress("  " + std::to_string(static_cast<long long>(ceiling->events_per_s)) + " events/s, p50 " +
               std::to_string(static_cast<long long>(ceiling->p50_us)) + " us per commit");
    }
  }
  std::filesystem::remove(ceiling_path);

  const std::string uri = args.store_uri.empty() ? "file:" + run_dir + "/store" : args.store_uri;
  auto opened = open_store(uri);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<EventStore> store = std::move(opened).value();

  using Workload = std::function<Result<WorkloadResult>(EventStore&, const WorkloadSettings&)>;
  const std::vector<std::pair<Workload, std::optional<double>>> workloads = {{run_single_writer, ceilings[0]},
                                                                             {run_concurrent_writers, ceilings[1]},
                                                                             {run_bulk_appends, ceilings[2]},
                                                                             {run_catch_up_read, std::nullopt},
                                                                             {run_random_stream_reads, std::nullopt}};
  std::vector<WorkloadResult> results;
  for (std::size_t i = 0; i < workloads.size(); ++i) {
    progress(std::string("workload ") + static_cast<char>('a' + i) + " on " + uri);
    auto result = workloads[i].first(*store, settings);
    if (!result.ok()) {
      (void)store->close();
      return result.status();
    }
    result->ceiling_events_per_s = workloads[i].second;
    if (result->ceiling_events_per_s && *result->ceiling_events_per_s > 0) {
      result->ratio = result->events_per_s / *result->ceiling_events_per_s;
    }
    progress("  " + std::to_string(static_cast<long long>(result->events_per_s)) + " events/s, p50 " +
             std::to_string(static_cast<long long>(result->p50_us)) + " us, p99 " +
             std::to_string(static_cast<long long>(result->p99_us)) + " us");
    results.push_back(std::move(result).value());
    if (bench_interrupted.load()) break;
  }
  if (Status status = store->close(); !status.ok()) return status;
  return results;
}


Json optional_json(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

Json to_json(const WorkloadResult& result, int runs) {
  Json line = Json::object();
  line["workload"] = result.workload;
  line["description"] = result.description;
  line["events_per_s"] = result.events_per_s;
  line["ceiling_events_per_s"] = optional_json(result.ceiling_events_per_s);
  line["ratio"] = optional_json(result.ratio);
  line["p50_us"] = result.p50_us;
  line["p99_us"] = result.p99_us;
  line["mb_per_s"] = result.mb_per_s;
  line["events"] = result.events;
  line["calls"] = result.calls;
  line["seconds"] = result.seconds;
  line["runs"] = runs;
  return line;
}

std::string format_optional(const std::optional<double>& value, const char* format) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), format, *value);
  return text;
}

void print_table(const std::vector<WorkloadResult>& results, const std::string& where, int runs) {
  std::printf("evsrc bench: %s, %d run(s)%s\n", where.c_str(), runs, runs > 1 ? ", medians" : "");
  std::printf("%-3s %-62s %12s %9s %10s %10s %12s %7s\n", "", "workload", "events/s", "MB/s", "p50 us", "p99 us",
              "ceiling/s", "ratio");
  for (const WorkloadResult& result : results) {
    std::printf("%-3s %-62s %12.0f %9.1f %10.1f %10.1f %12s %7s\n", result.workload.c_str(), result.description.c_str(),
                result.events_per_s, result.mb_per_s, result.p50_us, result.p99_us,
                format_optional(result.ceiling_events_per_s, "%.0f").c_str(),
                format_optional(result.ratio, "%.3f").c_str());
  }
  std::printf("latency: per append call (a-c), per read call (d-e); MB/s of 256-byte payloads.\n");
}

int run_bench(const BenchArguments& args) {
  if (args.seconds <= 0 && args.events == 0) {
    return cli::report_error(Status::invalid_argument("--seconds and --events cannot both be 0 (unbounded)"));
  }
  if (args.runs < 1) return cli::report_error(Status::invalid_argument("--runs must be at least 1"));
  struct sigaction action {};
  action.sa_handler = interrupt_bench;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  BenchArguments effective = args;
  effective.settings.budget = Budget{args.seconds, args.events};

  std::vector<std::vector<WorkloadResult>> per_workload(5);
  std::string where;
  for (int run = 0; run < args.runs; ++run) {
    auto scratch = ScratchDirectory::create(args.dir);
    if (!scratch.ok()) return cli::report_error(scratch.status());
    where = args.store_uri.empty() ? "file: store under " + args.dir : args.store_uri;
    if (args.runs > 1) progress("run " + std::to_string(run + 1) + " of " + std::to_string(args.runs));
    auto results = run_once(effective, scratch->path());
    if (!results.ok()) return cli::report_error(results.status());
    if (bench_interrupted.load()) {
      constexpr int kExitInterrupted = 130;
      (void)cli::report_error(Status(ErrorCode::closed, "interrupted; the scratch directory was removed"));
      return kExitInterrupted;
    }
    for (std::size_t i = 0; i < results->size(); ++i) per_workload[i].push_back((*results)[i]);
  }
  std::vector<WorkloadResult> combined;
  for (const auto& runs : per_workload) combined.push_back(combine_runs(runs));
  if (args.json) {
    for (const WorkloadResult& result : combined) cli::print_json_line(to_json(result, args.runs));
  } else {
    print_table(combined, where, args.runs);
  }
  return cli::flush_stdout() ? cli::kExitOk : cli::kExitError;
}

}  // namespace

namespace {
std::optional<double> median_of_optionals(const std::vector<std::optional<double>>& values) {
  std::vector<double> present;
  for (const auto& value : values) {
    if (value) present.push_back(*value);
  }
  if (present.empty()) return std::nullopt;
  return median(present);
}

}  // namespace

WorkloadResult combine_runs(const std::vector<WorkloadResult>& runs) {
  WorkloadResult combined = runs.front();
  auto median_field = [&](auto field) {
    std::vector<double> values;
    for (const WorkloadResult& run : runs) values.push_back(static_cast<double>(run.*field));
    return median(values);
  };
  auto median_optional = [&](auto field) {
    std::vector<std::optional<double>> values;
    for (const WorkloadResult& run : runs) values.push_back(run.*field);
    return median_of_optionals(values);
  };
  combined.events = static_cast<std::uint64_t>(median_field(&WorkloadResult::events));
  combined.calls = static_cast<std::uint64_t>(median_field(&WorkloadResult::calls));
  combined.seconds = median_field(&WorkloadResult::seconds);
  combined.events_per_s = median_field(&WorkloadResult::events_per_s);
  combined.mb_per_s = median_field(&WorkloadResult::mb_per_s);
  combined.p50_us = median_field(&WorkloadResult::p50_us);
  combined.p99_us = median_field(&WorkloadResult::p99_us);
  combined.ceiling_events_per_s = median_optional(&WorkloadResult::ceiling_events_per_s);
  combined.ratio = median_optional(&WorkloadResult::ratio);
  return combined;
}

void register_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<BenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench",
      "Benchmark the store against the raw ceiling of the file system (a preallocated file overwritten and "
      "fdatasync'ed in commits of the same size). Workloads, 256-byte payloads: (a) 1 writer, 1 event per append; "
      "(b) 64 concurrent writers; (c) appends of 4096 events round-robin over 1000 streams; (d) $all catch-up "
      "read; (e) reading 1000 random streams of 100 events. Each write workload and ceiling stops at --seconds "
      "or --events, whichever comes first. Uses a scratch directory under --dir, removed afterwards.");
  command->add_option("--dir", args->dir, "Directory whose file system is measured")->capture_default_str();
  command->add_option("--seconds", args->seconds, "Time bound of each workload and ceiling (0 = none)")
      ->capture_default_str();
  command->add_option("--events", args->events, "Event bound of each write workload and ceiling (0 = none)")
      ->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat everything N times and report medians")->capture_default_str();
  command->add_flag("--json", args->json,
                    "One JSON object per workload, (a)-(e): workload, events_per_s, ceiling_events_per_s, ratio, "
                    "p50_us, p99_us, mb_per_s, events, ...");
  command->add_option("--store-uri", args->store_uri,
                      "Benchmark this store instead of a fresh file: store in the scratch directory (e.g. memory:)");
  command->add_option("--writers", args->settings.writers, "Writer threads of (b)")->capture_default_str();
  command->add_option("--read-page", args->settings.read_page, "Page size of the $all read (d)")->capture_default_str();
  command->add_option("--ceiling-file-mib", args->ceiling_file_mib, "Size of the preallocated raw ceiling file")
      ->capture_default_str();
  command->callback([&context, args] { context.run = [args] { return run_bench(*args); }; });
}

}  // namespace evsrc::bench
