// evsrc bench: the embedded engine against the raw ceiling of the same file
// system (issue "Performance"; results go to docs/benchmarks.md).
//
// In a scratch directory (a fresh one under --dir, removed afterwards):
//   1. raw ceilings: a preallocated file overwritten with commits of 1, W
//      (writers), B (bulk batch), F (few writers) and G (small batch) records
//      of 256 bytes, one fdatasync each;
//   2. workloads a, b, b2, c, d, d2, e, e2, f, g, h on a fresh file: store in that
//      directory (or --store-uri), see store_bench.h; unless --no-sqlite, the
//      SQLite program of issue 15 (sqlite_baseline.h) does the same workloads
//      on a fresh database in its own directory <scratch>/sqlite-baseline,
//      each right after evsrc's (right before on even-numbered runs, so that a
//      drift of the machine does not always favour one side). d2 (cursor) is
//      compared with SQLite's d, e2 (cursor loads) with SQLite's h.
// Ratios: (a) / ceiling of 1-record commits, (b) and (b2) / ceiling of
// W-record commits (the largest group W writers can form; b2 is compared
// with SQLite's b), (c) / ceiling of B-record
// commits, (f) / F-record, (g) / G-record commits; (d), (d2), (e), (e2) and
// (h) are reads: no ceiling. evsrc / SQLite: of events/s; of the p50 speed
// (SQLite p50 / evsrc p50) for the loads e2 and h; > 1: evsrc is faster.
// With --runs N everything is repeated N times (fresh store each time) and
// each figure (each ratio: per run) is the median over the runs.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/raw_ceiling.h"
#include "bench/sqlite_baseline.h"
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
  bool no_sqlite = false;
  WorkloadSettings settings;
  std::size_t ceiling_file_mib = 128;
  std::vector<std::string> workloads;  // --workloads; empty = all
};

// The workloads of one run, in the order they run (store_bench.h).
const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names = {"a", "b", "b2", "c", "d", "d2", "e", "e2", "f", "g", "h"};
  return names;
}

bool chosen(const BenchArguments& args, const std::string& workload) {
  return args.workloads.empty() ||
         std::find(args.workloads.begin(), args.workloads.end(), workload) != args.workloads.end();
}

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

// One row of the report: evsrc's figures and, unless --no-sqlite, the SQLite
// program's for the same work in the same run (its ceiling_events_per_s is the
// same ceiling, its ratio SQLite / ceiling) with evsrc / SQLite.
struct Row {
  WorkloadResult evsrc;
  std::optional<WorkloadResult> sqlite;
  std::optional<double> sqlite_ratio;
};

using Workload = std::function<Result<WorkloadResult>(EventStore&, const WorkloadSettings&)>;
using SqliteWorkload = std::function<Result<WorkloadResult>(const std::string&, const WorkloadSettings&)>;

struct PlannedWorkload {
  std::string name;
  Workload evsrc;
  std::optional<std::size_t> ceiling;  // index into the commit sizes of run_once
  std::string sqlite;                  // the SQLite workload compared with (once a run), "" = none
  SqliteWorkload sqlite_run;
  bool compare_latency = false;  // evsrc / SQLite of the p50 speed, not of events/s
};

void report_figures(const WorkloadResult& result) {
  progress("  " + std::to_string(static_cast<long long>(result.events_per_s)) + " events/s, p50 " +
           std::to_string(static_cast<long long>(result.p50_us)) + " us, p99 " +
           std::to_string(static_cast<long long>(result.p99_us)) + " us");
}

void set_ceiling(WorkloadResult& result, const std::optional<double>& ceiling) {
  result.ceiling_events_per_s = ceiling;
  if (ceiling && *ceiling > 0) result.ratio = result.events_per_s / *ceiling;
}

// One run: ceilings then the workloads in the order of store_bench.h, each by
// evsrc and by SQLite (run `run` decides which goes first).
Result<std::vector<Row>> run_once(const BenchArguments& args, const std::string& run_dir, int run) {
  const WorkloadSettings& settings = args.settings;
  const std::size_t record = settings.payload_bytes;
  const std::vector<std::size_t> commit_sizes = {1, settings.writers, settings.bulk_batch, settings.few_writers,
                                                 settings.small_batch};
  const std::size_t largest_commit = *std::max_element(commit_sizes.begin(), commit_sizes.end());
  const std::size_t ceiling_bytes = std::max(args.ceiling_file_mib << 20, record * largest_commit);  // must fit
  const std::string ceiling_path = run_dir + "/raw-ceiling";
  std::vector<std::optional<double>> ceilings(commit_sizes.size());
  // The commit sizes the chosen workloads are compared with.
  const std::vector<std::vector<std::string>> ceiling_users = {{"a"}, {"b", "b2"}, {"c"}, {"f"}, {"g"}};
  std::vector<bool> ceiling_needed(commit_sizes.size());
  for (std::size_t i = 0; i < commit_sizes.size(); ++i) {
    for (const std::string& workload : ceiling_users[i]) ceiling_needed[i] = ceiling_needed[i] || chosen(args, workload);
  }
  if (std::find(ceiling_needed.begin(), ceiling_needed.end(), true) != ceiling_needed.end()) {
    progress("preallocating " + std::to_string(ceiling_bytes >> 20) + " MiB for the raw ceiling");
    auto file = RawCeilingFile::create(ceiling_path, ceiling_bytes);
    if (!file.ok()) return file.status();
    for (std::size_t i = 0; i < commit_sizes.size() && !bench_interrupted.load(); ++i) {
      if (!ceiling_needed[i]) continue;
      progress("raw ceiling, " + std::to_string(commit_sizes[i]) + " records per fdatasync");
      auto ceiling = file->measure(record, commit_sizes[i], settings.budget);
      if (!ceiling.ok()) return ceiling.status();
      ceilings[i] = ceiling->events_per_s;
      progress("  " + std::to_string(static_cast<long long>(ceiling->events_per_s)) + " events/s, p50 " +
               std::to_string(static_cast<long long>(ceiling->p50_us)) + " us per commit");
    }
  }
  std::filesystem::remove(ceiling_path);

  const bool with_sqlite = !args.no_sqlite;
  const std::string sqlite_dir = run_dir + "/sqlite-baseline";
  const std::string sqlite_path = sqlite_dir + "/messages.db";
  if (with_sqlite) {
    std::error_code error;
    if (!std::filesystem::create_directory(sqlite_dir, error)) {
      return Status::io_error("cannot create " + sqlite_dir + ": " + error.message());
    }
    if (Status status = SqliteBaseline::create(sqlite_path); !status.ok()) return status;
  }

  const std::string uri = args.store_uri.empty() ? "file:" + run_dir + "/store" : args.store_uri;
  auto opened = open_store(uri);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<EventStore> store = std::move(opened).value();

  const std::vector<PlannedWorkload> workloads = {
      {"a", run_single_writer, 0, "a", run_sqlite_single_writer},
      {"b", run_concurrent_writers, 1, "b", run_sqlite_concurrent_writers},
      {"b2", run_async_writers, 1, "b", run_sqlite_concurrent_writers},
      {"c", run_bulk_appends, 2, "c", run_sqlite_bulk_appends},
      {"d", run_catch_up_read, std::nullopt, "d", run_sqlite_catch_up_read},
      {"d2", run_cursor_catch_up, std::nullopt, "d", run_sqlite_catch_up_read},
      {"e", run_random_stream_reads, std::nullopt, "e", run_sqlite_random_stream_reads},
      {"e2", run_cursor_stream_loads, std::nullopt, "h", run_sqlite_stream_loads, /*compare_latency=*/true},
      {"f", run_few_writers, 3, "f", run_sqlite_few_writers},
      {"g", run_batch_appends, 4, "g", run_sqlite_batch_appends},
      {"h", run_stream_loads, std::nullopt, "h", run_sqlite_stream_loads, /*compare_latency=*/true}};
  std::map<std::string, WorkloadResult> sqlite_results;  // by SQLite workload, measured once a run
  std::vector<Row> rows;
  for (const PlannedWorkload& planned : workloads) {
    if (!chosen(args, planned.name)) continue;
    const std::optional<double> ceiling = planned.ceiling ? ceilings[*planned.ceiling] : std::nullopt;
    Row row;
    auto run_evsrc = [&]() -> Status {
      progress("workload " + planned.name + " on " + uri);
      auto result = planned.evsrc(*store, settings);
      if (!result.ok()) return result.status();
      row.evsrc = std::move(result).value();
      set_ceiling(row.evsrc, ceiling);
      report_figures(row.evsrc);
      return Status();
    };
    auto run_sqlite = [&]() -> Status {
      if (!with_sqlite || planned.sqlite.empty() || sqlite_results.count(planned.sqlite) != 0) return Status();
      progress("workload " + planned.sqlite + " on SQLite " + sqlite_path);
      auto result = planned.sqlite_run(sqlite_path, settings);
      if (!result.ok()) return result.status();
      set_ceiling(*result, ceiling);
      report_figures(*result);
      sqlite_results.emplace(planned.sqlite, std::move(result).value());
      return Status();
    };
    const bool sqlite_first = run % 2 == 1;
    Status status = sqlite_first ? run_sqlite() : run_evsrc();
    if (status.ok() && !bench_interrupted.load()) status = sqlite_first ? run_evsrc() : run_sqlite();
    if (!status.ok()) {
      (void)store->close();
      return status;
    }
    if (bench_interrupted.load()) break;
    if (auto found = sqlite_results.find(planned.sqlite); found != sqlite_results.end()) {
      const WorkloadResult& sqlite = found->second;
      row.sqlite = sqlite;
      if (planned.compare_latency && row.evsrc.p50_us > 0) {
        row.sqlite_ratio = sqlite.p50_us / row.evsrc.p50_us;
      } else if (!planned.compare_latency && sqlite.events_per_s > 0) {
        row.sqlite_ratio = row.evsrc.events_per_s / sqlite.events_per_s;
      }
    }
    rows.push_back(std::move(row));
  }
  if (Status status = store->close(); !status.ok()) return status;
  return rows;
}

// The median of each figure of one workload over the runs (ratios per run).
Row combine_rows(const std::vector<Row>& runs) {
  std::vector<WorkloadResult> evsrc;
  std::vector<WorkloadResult> sqlite;
  std::vector<double> sqlite_ratios;
  for (const Row& run : runs) {
    evsrc.push_back(run.evsrc);
    if (run.sqlite) sqlite.push_back(*run.sqlite);
    if (run.sqlite_ratio) sqlite_ratios.push_back(*run.sqlite_ratio);
  }
  Row combined;
  combined.evsrc = combine_runs(evsrc);
  if (!sqlite.empty()) combined.sqlite = combine_runs(sqlite);
  if (!sqlite_ratios.empty()) combined.sqlite_ratio = median(sqlite_ratios);
  return combined;
}

Json optional_json(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

Json to_json(const Row& row, int runs) {
  const WorkloadResult& result = row.evsrc;
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
  // The SQLite program's figures of the same workload (null with --no-sqlite).
  const std::optional<WorkloadResult>& sqlite = row.sqlite;
  auto sqlite_field = [&](auto field) { return sqlite ? Json((*sqlite).*field) : Json(nullptr); };
  line["sqlite_workload"] = sqlite ? Json(sqlite->workload) : Json(nullptr);
  line["sqlite_events_per_s"] = sqlite_field(&WorkloadResult::events_per_s);
  line["sqlite_ratio"] = optional_json(row.sqlite_ratio);  // evsrc / SQLite; > 1: evsrc is faster
  line["sqlite_ceiling_ratio"] = sqlite ? optional_json(sqlite->ratio) : Json(nullptr);  // SQLite / ceiling
  line["sqlite_p50_us"] = sqlite_field(&WorkloadResult::p50_us);
  line["sqlite_p99_us"] = sqlite_field(&WorkloadResult::p99_us);
  line["sqlite_mb_per_s"] = sqlite_field(&WorkloadResult::mb_per_s);
  line["sqlite_events"] = sqlite_field(&WorkloadResult::events);
  line["sqlite_calls"] = sqlite_field(&WorkloadResult::calls);
  line["sqlite_seconds"] = sqlite_field(&WorkloadResult::seconds);
  return line;
}

std::string format_optional(const std::optional<double>& value, const char* format) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), format, *value);
  return text;
}

void print_table(const std::vector<Row>& rows, const std::string& where, int runs) {
  std::printf("evsrc bench: %s, %d run(s)%s\n", where.c_str(), runs, runs > 1 ? ", medians" : "");
  std::printf("%-3s %-62s %12s %9s %10s %10s %12s %7s %12s %10s %9s\n", "", "workload", "events/s", "MB/s", "p50 us",
              "p99 us", "ceiling/s", "ratio", "sqlite/s", "sqlite p50", "vs sqlite");
  for (const Row& row : rows) {
    const WorkloadResult& result = row.evsrc;
    const std::optional<WorkloadResult>& sqlite = row.sqlite;
    std::printf("%-3s %-62s %12.0f %9.1f %10.1f %10.1f %12s %7s %12s %10s %9s\n", result.workload.c_str(),
                result.description.c_str(), result.events_per_s, result.mb_per_s, result.p50_us, result.p99_us,
                format_optional(result.ceiling_events_per_s, "%.0f").c_str(),
                format_optional(result.ratio, "%.3f").c_str(),
                format_optional(sqlite ? std::optional(sqlite->events_per_s) : std::nullopt, "%.0f").c_str(),
                format_optional(sqlite ? std::optional(sqlite->p50_us) : std::nullopt, "%.1f").c_str(),
                format_optional(row.sqlite_ratio, "%.3f").c_str());
  }
  std::printf(
      "latency: per append call (a-c, f-g; b2: from the call to its callback), per read call (d-e), per pass (d2), per "
      "load (e2, h); MB/s of "
      "256-byte payloads.\n");
  std::printf(
      "ratio: evsrc / raw ceiling. vs sqlite: evsrc / the SQLite program (WAL, synchronous=FULL, a connection "
      "per thread) in the same run, of events/s, of the p50 speed for e2 and h; > 1: evsrc is faster.\n");
}

int run_bench(const BenchArguments& args) {
  if (args.seconds <= 0 && args.events == 0) {
    return cli::report_error(Status::invalid_argument("--seconds and --events cannot both be 0 (unbounded)"));
  }
  if (args.runs < 1) return cli::report_error(Status::invalid_argument("--runs must be at least 1"));
  for (const std::string& workload : args.workloads) {
    if (std::find(workload_names().begin(), workload_names().end(), workload) == workload_names().end()) {
      return cli::report_error(Status::invalid_argument("--workloads: no workload '" + workload +
                                                        "' (known: a, b, b2, c, d, d2, e, e2, f, g, h)"));
    }
  }
  struct sigaction action {};
  action.sa_handler = interrupt_bench;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  BenchArguments effective = args;
  effective.settings.budget = Budget{args.seconds, args.events};

  std::vector<std::vector<Row>> per_workload;
  std::string where;
  for (int run = 0; run < args.runs; ++run) {
    auto scratch = ScratchDirectory::create(args.dir);
    if (!scratch.ok()) return cli::report_error(scratch.status());
    where = args.store_uri.empty() ? "file: store under " + args.dir : args.store_uri;
    if (args.runs > 1) progress("run " + std::to_string(run + 1) + " of " + std::to_string(args.runs));
    auto results = run_once(effective, scratch->path(), run);
    if (!results.ok()) return cli::report_error(results.status());
    if (bench_interrupted.load()) {
      constexpr int kExitInterrupted = 130;
      (void)cli::report_error(Status(ErrorCode::closed, "interrupted; the scratch directory was removed"));
      return kExitInterrupted;
    }
    if (per_workload.size() < results->size()) per_workload.resize(results->size());
    for (std::size_t i = 0; i < results->size(); ++i) per_workload[i].push_back((*results)[i]);
  }
  std::vector<Row> combined;
  for (const auto& runs : per_workload) combined.push_back(combine_rows(runs));
  if (args.json) {
    for (const Row& row : combined) cli::print_json_line(to_json(row, args.runs));
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
  combined.ceiling_p50_us = median_optional(&WorkloadResult::ceiling_p50_us);
  combined.ratio = median_optional(&WorkloadResult::ratio);
  return combined;
}

void register_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<BenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench",
      "Benchmark the store against the raw ceiling of the file system (a preallocated file overwritten and "
      "fdatasync'ed in commits of the same size). Workloads, 256-byte payloads: (a) 1 writer, 1 event per append; "
      "(b) 64 concurrent writers; (b2) 1 thread with 64 append_async calls in flight, each with the exact expected "
      "revision of its own stream; (c) appends of 4096 events round-robin over 1000 streams; (d) $all catch-up "
      "read in pages; (d2) $all through one borrowing cursor; (e) reading 1000 random streams of 100 events; (e2) "
      "loading 1000-event streams through a cursor (p50 per load); (f) 8 concurrent writers; (g) 1 writer, appends "
      "of 100 events; (h) loading and folding 1000-event streams with read_stream (p50 per load). Unless "
      "--no-sqlite, the SQLite program of issue 15 (WAL, synchronous=FULL, a connection per thread, an "
      "expected-revision check in every append) does each workload in the same run, with evsrc's ratio to it. Each "
      "write workload and ceiling stops at --seconds or --events, whichever comes first. Uses a scratch directory "
      "under --dir, removed afterwards.");
  command->add_option("--dir", args->dir, "Directory whose file system is measured")->capture_default_str();
  command->add_option("--seconds", args->seconds, "Time bound of each workload and ceiling (0 = none)")
      ->capture_default_str();
  command->add_option("--events", args->events, "Event bound of each write workload and ceiling (0 = none)")
      ->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat everything N times and report medians")->capture_default_str();
  command->add_flag("--json", args->json,
                    "One JSON object per workload, (a)-(h): workload, events_per_s, ceiling_events_per_s, ratio, "
                    "p50_us, p99_us, mb_per_s, events, ..., sqlite_events_per_s, sqlite_ratio (evsrc / SQLite), "
                    "sqlite_ceiling_ratio, sqlite_p50_us, ... (null with --no-sqlite)");
  command->add_option("--store-uri", args->store_uri,
                      "Benchmark this store instead of a fresh file: store in the scratch directory (e.g. memory:)");
  command->add_option("--writers", args->settings.writers, "Writer threads of (b)")->capture_default_str();
  command->add_option("--read-page", args->settings.read_page, "Page size of the $all read (d)")->capture_default_str();
  command->add_option("--workloads", args->workloads,
                      "Run only these workloads, comma-separated (e.g. b,f); the reads d and d2 read what the "
                      "chosen write workloads wrote before them")
      ->delimiter(',');
  command->add_flag("--no-sqlite", args->no_sqlite, "Leave out the SQLite baseline (its columns print - / null)");
  command->add_option("--ceiling-file-mib", args->ceiling_file_mib, "Size of the preallocated raw ceiling file")
      ->capture_default_str();
  command->callback([&context, args] { context.run = [args] { return run_bench(*args); }; });
}

}  // namespace evsrc::bench
