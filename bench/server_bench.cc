// evsrc bench-server: the load generator of issue 4 ("Performance"; results
// go to docs/benchmarks.md). Workloads in server_workloads.h.
//
// With --server URL it loads that server. Without, it starts an in-process
// server (evsrc::Server on 127.0.0.1, a free port) over a fresh file: store
// in a scratch directory under --dir, and measures in the same run the
// embedded engine's figure for the same work as append-1 (--clients threads
// appending 1 event each straight through EventStore, workload b of
// `evsrc bench`): the ratio server/embedded is the server's overhead.
// With --runs N everything is repeated N times and each figure is the median.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/server_workloads.h"
#include "bench/store_bench.h"
#include "cli/cli_common.h"
#include "evsrc/server.h"

namespace evsrc::bench {
namespace {

using cli::Json;

struct ServerBenchArguments {
  std::string dir = ".";
  double seconds = 5;
  int runs = 1;
  bool json = false;
  bool skip_embedded = false;
  ServerWorkloadSettings settings;
};

struct Figure {
  WorkloadResult result;
  double requests_per_s = 0;
};

extern "C" void interrupt_server_bench(int) { bench_interrupted.store(true); }

void progress(const std::string& text) {
  std::fprintf(stderr, "bench-server: %s\n", text.c_str());
  std::fflush(stderr);
}

// A scratch directory removed when the run ends.
class Scratch {
 public:
  static Result<std::unique_ptr<Scratch>> create(const std::string& parent) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    std::string pattern = (std::filesystem::path(parent) / "evsrc-bench-server-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::io_error("cannot create a scratch directory under '" + parent + "'");
    }
    return std::make_unique<Scratch>(pattern);
  }
  explicit Scratch(std::string path) : path_(std::move(path)) {}
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<std::vector<WorkloadResult>> run_workloads(const ServerWorkloadSettings& settings) {
  using Workload = Result<WorkloadResult> (*)(const ServerWorkloadSettings&);
  const Workload workloads[] = {run_server_single_appends, run_server_batch_appends, run_server_reads,
                                run_server_fanout};
  std::vector<WorkloadResult> results;
  for (const Workload workload : workloads) {
    auto result = workload(settings);
    if (!result.ok()) return result.status();
    progress("  " + result->workload + ": " + std::to_string(static_cast<long long>(result->events_per_s)) +
             " events/s, p50 " + std::to_string(static_cast<long long>(result->p50_us)) + " us, p99 " +
             std::to_string(static_cast<long long>(result->p99_us)) + " us");
    results.push_back(std::move(result).value());
    if (bench_interrupted.load()) break;
  }
  return results;
}

// One run: the workloads against the given server, or against an in-process
// one followed by the embedded figure on the same store.
Result<std::vector<WorkloadResult>> run_once(const ServerBenchArguments& args, const std::string& server_url) {
  ServerWorkloadSettings settings = args.settings;
  settings.stream_tag = random_tag();
  if (!server_url.empty()) {
    settings.url = server_url;
    progress("workloads against " + server_url);
    return run_workloads(settings);
  }

  auto scratch = Scratch::create(args.dir);
  if (!scratch.ok()) return scratch.status();
  auto opened = open_store("file:" + (*scratch)->path() + "/store");
  if (!opened.ok()) return opened.status();
  std::unique_ptr<EventStore> store = std::move(opened).value();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.worker_threads = std::max<unsigned>(64, static_cast<unsigned>(settings.clients));
  auto server = Server::start(*store, options);
  if (!server.ok()) {
    (void)store->close();
    return server.status();
  }
  settings.url = (*server)->url();
  progress("workloads against an in-process server at " + settings.url + " on a file: store");
  auto results = run_workloads(settings);
  if (results.ok() && !bench_interrupted.load()) {
    progress("remote client reads, each beside the embedded engine's same read");
    auto remote = run_remote_reads(settings, *store);
    if (!remote.ok()) {
      (*server)->stop();
      (void)store->close();
      return remote.status();
    }
    for (WorkloadResult& result : *remote) {
      progress("  " + result.workload + ": " + std::to_string(static_cast<long long>(result.events_per_s)) +
               " events/s, p50 " + std::to_string(static_cast<long long>(result.p50_us)) + " us (embedded " +
               std::to_string(static_cast<long long>(result.ceiling_p50_us.value_or(0))) + " us)");
      results->push_back(std::move(result));
    }
  }
  (*server)->stop();
  if (results.ok() && !args.skip_embedded && !bench_interrupted.load()) {
    progress("embedded: " + std::to_string(settings.clients) + " threads appending 1 event each through EventStore");
    WorkloadSettings embedded;
    embedded.budget = Budget{args.seconds, 0};
    embedded.payload_bytes = settings.payload_bytes;
    embedded.writers = settings.clients;
    auto figure = run_concurrent_writers(*store, embedded);
    if (!figure.ok()) {
      (void)store->close();
      return figure.status();
    }
    figure->workload = "embedded-append-1";
    figure->description = std::to_string(settings.clients) + " threads, 1 event per append, through EventStore";
    progress("  " + std::to_string(static_cast<long long>(figure->events_per_s)) + " events/s");
    WorkloadResult& served = results->front();
    if (figure->events_per_s > 0) served.ratio = served.events_per_s / figure->events_per_s;
    served.ceiling_events_per_s = figure->events_per_s;
    results->push_back(std::move(figure).value());
  }
  if (Status status = store->close(); !status.ok() && results.ok()) return status;
  return results;
}


// Requests/s: HTTP requests for the request workloads; the fan-out and the
// embedded figure have none.
std::optional<double> requests_per_s(const WorkloadResult& result) {
  if (result.workload == "sse-fanout" || result.workload == "embedded-append-1" || result.seconds <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(result.calls) / result.seconds;
}

Json optional_json(const std::optional<double>& value) { return value ? Json(*value) : Json(nullptr); }

Json to_json(const WorkloadResult& result, int runs, std::size_t clients) {
  Json line = Json::object();
  line["workload"] = result.workload;
  line["description"] = result.description;
  line["requests_per_s"] = optional_json(requests_per_s(result));
  line["events_per_s"] = result.events_per_s;
  line["p50_us"] = result.p50_us;
  line["p99_us"] = result.p99_us;
  if (result.workload == "append-1" || result.workload.starts_with("remote-")) {
    line["embedded_events_per_s"] = optional_json(result.ceiling_events_per_s);
    line["ratio_server_embedded"] = optional_json(result.ratio);
  }
  if (result.ceiling_p50_us) line["embedded_p50_us"] = *result.ceiling_p50_us;
  line["events"] = result.events;
  line["requests"] = result.calls;
  line["seconds"] = result.seconds;
  line["clients"] = clients;
  line["runs"] = runs;
  return line;
}

std::string format_optional(const std::optional<double>& value, const char* format) {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof(text), format, *value);
  return text;
}

void print_table(const std::vector<WorkloadResult>& results, const std::string& where,
                 const ServerBenchArguments& args) {
  std::printf("evsrc bench-server: %s, %zu clients, %d run(s)%s\n", where.c_str(), args.settings.clients, args.runs,
              args.runs > 1 ? ", medians" : "");
  std::printf("%-18s %-58s %11s %11s %10s %10s\n", "workload", "description", "requests/s", "events/s", "p50 us",
              "p99 us");
  for (const WorkloadResult& result : results) {
    std::printf("%-18s %-58s %11s %11.0f %10.1f %10.1f\n", result.workload.c_str(), result.description.c_str(),
                format_optional(requests_per_s(result), "%.0f").c_str(), result.events_per_s, result.p50_us,
                result.p99_us);
  }
  for (const WorkloadResult& result : results) {
    if ((result.workload == "append-1" || result.workload.starts_with("remote-")) && result.ratio) {
      std::printf("%s server/embedded: %.3f (%.0f / %.0f events/s", result.workload.c_str(), *result.ratio,
                  result.events_per_s, result.ceiling_events_per_s.value_or(0));
      if (result.ceiling_p50_us) std::printf("; p50 %.0f / %.0f us", result.p50_us, *result.ceiling_p50_us);
      std::printf(")\n");
    }
  }
  std::printf(
      "latency: per request; sse-fanout: events/s delivered over all subscribers, latency from sending the append "
      "to receiving the event.\n");
}

int run_server_bench(const cli::CommandContext& context, const ServerBenchArguments& args) {
  if (args.seconds <= 0) return cli::report_error(Status::invalid_argument("--seconds must be positive"));
  if (args.runs < 1) return cli::report_error(Status::invalid_argument("--runs must be at least 1"));
  if (args.settings.clients < 1 || args.settings.batch < 1 || args.settings.subscribers < 1 ||
      args.settings.fanout_writers < 1) {
    return cli::report_error(
        Status::invalid_argument("--clients, --batch, --subscribers and --fanout-writers must be at least 1"));
  }
  struct sigaction action {};
  action.sa_handler = interrupt_server_bench;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ServerBenchArguments effective = args;
  effective.settings.budget = Budget{args.seconds, 0};
  effective.settings.api_key = context.api_key;
  std::vector<std::vector<WorkloadResult>> per_workload;
  for (int run = 0; run < args.runs; ++run) {
    if (args.runs > 1) progress("run " + std::to_string(run + 1) + " of " + std::to_string(args.runs));
    auto results = run_once(effective, context.server_url);
    if (!results.ok()) return cli::report_error(results.status());
    if (bench_interrupted.load()) {
      constexpr int kExitInterrupted = 130;
      (void)cli::report_error(Status(ErrorCode::closed, "interrupted"));
      return kExitInterrupted;
    }
    per_workload.resize(std::max(per_workload.size(), results->size()));
    for (std::size_t i = 0; i < results->size(); ++i) per_workload[i].push_back((*results)[i]);
  }
  std::vector<WorkloadResult> combined;
  for (const auto& runs : per_workload) combined.push_back(combine_runs(runs));
  if (args.json) {
    for (const WorkloadResult& result : combined) {
      cli::print_json_line(to_json(result, args.runs, args.settings.clients));
    }
  } else {
    const std::string where =
        context.server_url.empty() ? "in-process server on a file: store under " + args.dir : context.server_url;
    print_table(combined, where, effective);
  }
  return cli::flush_stdout() ? cli::kExitOk : cli::kExitError;
}

}  // namespace

void register_server_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<ServerBenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench-server",
      "Load an evsrcd server with concurrent keep-alive HTTP clients, 256-byte payloads: append-1 (POST of 1 event), "
      "append-100 (POST of 100-event batches), read (GET of 100-event pages) and sse-fanout (subscribers of $all "
      "while writers append). Prints requests/s, events/s, p50/p99 latency per workload (medians of --runs). With "
      "--server URL it loads that server; without, an in-process server on a fresh file: store under --dir, and "
      "compares append-1 with the embedded engine doing the same work in the same run (server/embedded ratio).");
  command->add_option("--dir", args->dir, "Parent of the scratch directory of the in-process server's store")
      ->capture_default_str();
  command->add_option("--seconds", args->seconds, "Duration of each workload")->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat everything N times and report medians")->capture_default_str();
  command->add_option("--clients", args->settings.clients, "Concurrent keep-alive clients (threads)")
      ->capture_default_str();
  command->add_option("--batch", args->settings.batch, "Events per batch append and per read page")
      ->capture_default_str();
  command->add_option("--subscribers", args->settings.subscribers, "Subscribers of the SSE fan-out")
      ->capture_default_str();
  command->add_option("--fanout-writers", args->settings.fanout_writers, "Writers during the SSE fan-out")
      ->capture_default_str();
  command->add_flag("--no-embedded", args->skip_embedded, "Skip the embedded comparison (in-process server only)");
  command->add_flag("--json", args->json,
                    "One JSON object per workload: workload, requests_per_s, events_per_s, p50_us, p99_us, "
                    "embedded_events_per_s and ratio_server_embedded (append-1), events, requests, seconds, ...");
  command->callback([&context, args] { context.run = [&context, args] { return run_server_bench(context, *args); }; });
}

}  // namespace evsrc::bench
