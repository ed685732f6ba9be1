// evsrc bench-postgres: the PostgreSQL backend against the usual SQL design of
// an event table (bench/postgres_baseline.h) on the same server in the same
// run (issue "PostgreSQL backend"; results go to docs/benchmarks.md).
//
// Each run creates two fresh schemas on the server at --uri, one for the evsrc
// store and one for the baseline's table, and drops both at its end. In each
// run, workload by workload, evsrc then the baseline (the other way round on
// even runs, so a drift of the machine does not always favour one side):
//   append-1     1 client, 1 event per append, own stream
//   append-1     16 clients sharing one store object (how evsrcd or an
//                application uses it: the backend group-commits)
//   append-1     16 clients with a store object each (16 "processes"; compared
//                with the baseline figure of the row above)
//   append-100   16 clients, 100-event appends, own stream each
//   $all read    catch-up read of everything written, pages of 1000
// Ratios evsrc / baseline are per run, then the median over --runs.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/append_clients.h"
#include "bench/postgres_baseline.h"
#include "bench/store_bench.h"
#include "cli/cli_common.h"
#include "evsrc/postgres.h"

namespace evsrc::bench {
namespace {

using cli::Json;

struct PostgresBenchArguments {
  std::string uri;
  double seconds = 5;
  int runs = 1;
  std::size_t event_bytes = 256;
  std::size_t clients = 16;
  std::size_t batch = 100;
  std::uint64_t read_page = 1000;
  bool json = false;
};

// One row of the table: evsrc's figure, with the same run's baseline figure
// in ceiling_events_per_s and evsrc / baseline in ratio; and the baseline's.
struct Comparison {
  WorkloadResult evsrc;
  WorkloadResult baseline;
};

// The single-event append target of the issue, with 16 clients.
constexpr double kTargetAppendsPerSecond = 20'000;

extern "C" void interrupt_postgres_bench(int) { bench_interrupted.store(true); }

void progress(const std::string& text) {
  std::fprintf(stderr, "bench-postgres: %s\n", text.c_str());
  std::fflush(stderr);
}

std::string with_schema(const std::string& uri, const std::string& schema) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema;
}

// The URI without user and password, for the report.
std::string displayed_uri(const std::string& uri) {
  const std::size_t scheme = uri.find("://");
  const std::size_t at = uri.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return uri;
  return uri.substr(0, scheme + 3) + uri.substr(at + 1);
}

std::string rate_text(const WorkloadResult& result) {
  return std::to_string(static_cast<long long>(result.events_per_s)) + " events/s, p50 " +
         std::to_string(static_cast<long long>(result.p50_us)) + " us, p99 " +
         std::to_string(static_cast<long long>(result.p99_us)) + " us";
}

// The two schemas of one run, dropped (with everything in them) on
// destruction, also after an error or an interruption.
class RunSchemas {
 public:
  explicit RunSchemas(std::string uri)
      : uri_(std::move(uri)), evsrc_("evsrc_bench_" + random_tag()), baseline_(evsrc_ + "_baseline") {}
  RunSchemas(const RunSchemas&) = delete;
  RunSchemas& operator=(const RunSchemas&) = delete;
  ~RunSchemas() {
    auto parsed = parse_postgres_uri(uri_);
    if (!parsed.ok()) return;
    PostgresConnectOptions options;
    options.statement_timeout = std::chrono::minutes(5);
    auto connection = PostgresConnection::connect(parsed->libpq_uri, options);
    Status status = connection.ok() ? connection->exec("DROP SCHEMA IF EXISTS " + quote_identifier(evsrc_) + ", " +
                                                       quote_identifier(baseline_) + " CASCADE")
                                    : connection.status();
    if (!status.ok()) progress("could not drop schemas " + evsrc_ + " and " + baseline_ + ": " + status.message());
  }
  const std::string& evsrc() const { return evsrc_; }
  const std::string& baseline() const { return baseline_; }

 private:
  std::string uri_;
  std::string evsrc_;
  std::string baseline_;
};

// Whole passes over the baseline table in pages until the budget is spent (at
// least one), as run_catch_up_read does over $all.
Result<WorkloadResult> run_baseline_catch_up(BaselineConnection& connection, std::uint64_t page,
                                             std::size_t event_bytes, const Budget& budget) {
  WorkloadResult result;
  std::vector<double> latencies;
  const auto start = Clock::now();
  do {
    std::int64_t after = 0;
    for (;;) {
      const auto call_start = Clock::now();
      auto events = connection.read_after(after, page);
      if (!events.ok()) return events.status();
      latencies.push_back(micros_since(call_start));
      ++result.calls;
      if (events->empty()) break;
      result.events += events->size();
      after = static_cast<std::int64_t>(events->back().position);
      if (events->size() < page) break;
    }
  } while (budget.time_left(start));
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  finish_result(result, event_bytes, latencies);
  return result;
}

// Everything of one run that the workloads share.
class Run {
 public:
  Run(const PostgresBenchArguments& args, int index)
      : args_(args), index_(index), schemas_(args.uri), budget_{args.seconds, 0} {
    EventData event = bench_event(args.event_bytes);
    single_ = {event};
    batch_.assign(args.batch, event);
  }

  Result<std::vector<Comparison>> measure() {
    progress("evsrc schema " + schemas_.evsrc() + ", baseline schema " + schemas_.baseline());
    auto opened = open_postgres_store(with_schema(args_.uri, schemas_.evsrc()));
    if (!opened.ok()) return opened.status();
    store_ = std::move(opened).value();
    auto baseline = BaselineConnection::connect(args_.uri, schemas_.baseline());
    if (!baseline.ok()) return baseline.status();
    if (Status status = baseline->create_table(); !status.ok()) return status;

    std::vector<Comparison> rows;
    Status status = measure_all(rows, *baseline);
    if (Status closed = store_->close(); status.ok()) status = closed;
    if (!status.ok()) return status;
    return rows;
  }

 private:
  Status measure_all(std::vector<Comparison>& rows, BaselineConnection& reader) {
    const std::size_t n = args_.clients;
    const std::string clients = std::to_string(n) + " clients";
    if (Status s = compare(rows, "append-1", "1 client, 1 event per append", evsrc_shared(1, single_, "one"),
                           baseline_clients(1, single_, "one"));
        !s.ok()) {
      return s;
    }
    if (Status s = compare(rows, "append-1", clients + ", 1 event per append, one shared store",
                           evsrc_shared(n, single_, "shared"), baseline_clients(n, single_, "many"));
        !s.ok()) {
      return s;
    }
    if (bench_interrupted.load() || rows.size() != 2) return Status();
    {
      progress("append-1, " + clients + ", a store object each (baseline: the row above)");
      auto evsrc = evsrc_own_stores(n);
      if (!evsrc.ok()) return evsrc.status();
      progress("  evsrc:    " + rate_text(*evsrc));
      Comparison row{std::move(evsrc).value(), rows.back().baseline};
      label(row, "append-1", clients + ", 1 event per append, a store each");
      rows.push_back(std::move(row));
    }
    if (Status s = compare(rows, "append-" + std::to_string(args_.batch),
                           clients + ", " + std::to_string(args_.batch) + " events per append",
                           evsrc_shared(n, batch_, "batch"), baseline_clients(n, batch_, "batch"));
        !s.ok()) {
      return s;
    }
    const std::string pages = "pages of " + std::to_string(args_.read_page);
    return compare(
        rows, "$all-read", "catch-up read of everything written, " + pages,
        [&] {
          WorkloadSettings settings;
          settings.budget = budget_;
          settings.payload_bytes = args_.event_bytes;
          settings.read_page = args_.read_page;
          return run_catch_up_read(*store_, settings);
        },
        [&] { return run_baseline_catch_up(reader, args_.read_page, args_.event_bytes, budget_); });
  }

  using Measure = std::function<Result<WorkloadResult>()>;

  Measure evsrc_shared(std::size_t clients, const std::vector<EventData>& events, const std::string& name) {
    return [this, clients, &events, name] {
      return run_append_clients(clients, events.size(), args_.event_bytes, budget_,
                                [this, &events, name](std::size_t client) -> Result<AppendCall> {
                                  const std::string stream = "bench-" + name + "-" + std::to_string(client);
                                  return AppendCall([this, &events, stream] {
                                    return store_->append(stream, ExpectedRevision::any(), events).status();
                                  });
                                });
    };
  }

  Result<WorkloadResult> evsrc_own_stores(std::size_t clients) {
    // One reading connection each: the workload only appends.
    PostgresStoreOptions options;
    options.read_pool_size = 1;
    std::vector<std::unique_ptr<EventStore>> stores;
    for (std::size_t i = 0; i < clients; ++i) {
      auto opened = open_postgres_store(with_schema(args_.uri, schemas_.evsrc()), options);
      if (!opened.ok()) return opened.status();
      stores.push_back(std::move(opened).value());
    }
    auto result = run_append_clients(clients, 1, args_.event_bytes, budget_, [&](std::size_t client) {
      const std::string stream = "bench-stores-" + std::to_string(client);
      EventStore* store = stores[client].get();
      return Result<AppendCall>(AppendCall(
          [this, store, stream] { return store->append(stream, ExpectedRevision::any(), single_).status(); }));
    });
    for (auto& store : stores) {
      if (Status status = store->close(); !status.ok() && result.ok()) return status;
    }
    return result;
  }

  Measure baseline_clients(std::size_t clients, const std::vector<EventData>& events, const std::string& name) {
    return [this, clients, &events, name] {
      return run_append_clients(
          clients, events.size(), args_.event_bytes, budget_,
          [this, &events, name](std::size_t client) -> Result<AppendCall> {
            auto connected = BaselineConnection::connect(args_.uri, schemas_.baseline());
            if (!connected.ok()) return connected.status();
            auto connection = std::make_shared<BaselineConnection>(std::move(connected).value());
            const std::string stream = "bench-" + name + "-" + std::to_string(client);
            return AppendCall([connection, &events, stream] { return connection->append(stream, events); });
          });
    };
  }

  static void label(Comparison& row, const std::string& workload, const std::string& description) {
    row.evsrc.workload = row.baseline.workload = workload;
    row.evsrc.description = row.baseline.description = description;
    row.evsrc.ceiling_events_per_s = row.baseline.events_per_s;
    row.evsrc.ratio.reset();
    if (row.baseline.events_per_s > 0) row.evsrc.ratio = row.evsrc.events_per_s / row.baseline.events_per_s;
  }

  // Measures both sides, evsrc first on odd runs, the baseline first on even.
  Status compare(std::vector<Comparison>& rows, const std::string& workload, const std::string& description,
                 const Measure& evsrc, const Measure& baseline) {
    if (bench_interrupted.load()) return Status();
    progress(workload + ", " + description);
    Comparison row;
    const bool evsrc_first = index_ % 2 == 0;
    for (int turn = 0; turn < 2; ++turn) {
      const bool is_evsrc = (turn == 0) == evsrc_first;
      auto result = is_evsrc ? evsrc() : baseline();
      if (!result.ok()) return result.status();
      progress(std::string(is_evsrc ? "  evsrc:    " : "  baseline: ") + rate_text(*result));
      (is_evsrc ? row.evsrc : row.baseline) = std::move(result).value();
    }
    label(row, workload, description);
    rows.push_back(std::move(row));
    return Status();
  }

  const PostgresBenchArguments& args_;
  int index_;
  RunSchemas schemas_;
  Budget budget_;
  std::vector<EventData> single_;
  std::vector<EventData> batch_;
  std::unique_ptr<EventStore> store_;
};

std::string verdict(bool met) { return met ? "met" : "missed"; }

Json to_json(const Comparison& row, int runs) {
  Json line = Json::object();
  line["workload"] = row.evsrc.workload;
  line["description"] = row.evsrc.description;
  line["evsrc_events_per_s"] = row.evsrc.events_per_s;
  line["baseline_events_per_s"] = row.baseline.events_per_s;
  line["ratio"] = row.evsrc.ratio ? Json(*row.evsrc.ratio) : Json(nullptr);
  line["evsrc_p50_us"] = row.evsrc.p50_us;
  line["evsrc_p99_us"] = row.evsrc.p99_us;
  line["baseline_p50_us"] = row.baseline.p50_us;
  line["baseline_p99_us"] = row.baseline.p99_us;
  line["evsrc_events"] = row.evsrc.events;
  line["baseline_events"] = row.baseline.events;
  line["runs"] = runs;
  return line;
}

void print_table(const std::vector<Comparison>& rows, const PostgresBenchArguments& args) {
  std::printf("evsrc bench-postgres: %s, %zu-byte events, %.0f s per workload, %d run(s)%s\n",
              displayed_uri(args.uri).c_str(), args.event_bytes, args.seconds, args.runs,
              args.runs > 1 ? ", medians" : "");
  std::printf("%-11s %-52s %12s %12s %7s %10s %10s %10s %10s\n", "workload", "description", "evsrc/s", "baseline/s",
              "ratio", "evsrc p50", "evsrc p99", "base p50", "base p99");
  for (const Comparison& row : rows) {
    char ratio[16] = "-";
    if (row.evsrc.ratio) std::snprintf(ratio, sizeof(ratio), "%.2f", *row.evsrc.ratio);
    std::printf("%-11s %-52s %12.0f %12.0f %7s %10.0f %10.0f %10.0f %10.0f\n", row.evsrc.workload.c_str(),
                row.evsrc.description.c_str(), row.evsrc.events_per_s, row.baseline.events_per_s, ratio,
                row.evsrc.p50_us, row.evsrc.p99_us, row.baseline.p50_us, row.baseline.p99_us);
  }
  std::printf("events/s; latency in us per append call (append rows) or per page read ($all-read).\n");
  std::size_t at_least_baseline = 0;
  for (const Comparison& row : rows) at_least_baseline += row.evsrc.ratio.value_or(0) >= 1.0 ? 1 : 0;
  std::printf("target: at least the baseline's throughput: %zu of %zu rows\n", at_least_baseline, rows.size());
  if (rows.size() > 1 && args.clients == 16) {
    const double shared = rows[1].evsrc.events_per_s;
    std::printf("target: >= %.0f single-event appends/s with 16 clients: %s (%.0f/s with one shared store",
                kTargetAppendsPerSecond, verdict(shared >= kTargetAppendsPerSecond).c_str(), shared);
    if (rows.size() > 2) std::printf(", %.0f/s with a store each", rows[2].evsrc.events_per_s);
    std::printf(")\n");
  }
}

int run_postgres_bench(const PostgresBenchArguments& args) {
  if (args.seconds <= 0) return cli::report_error(Status::invalid_argument("--seconds must be positive"));
  if (args.runs < 1) return cli::report_error(Status::invalid_argument("--runs must be at least 1"));
  if (args.clients < 1 || args.batch < 1 || args.read_page < 1) {
    return cli::report_error(Status::invalid_argument("--clients, --batch and --read-page must be at least 1"));
  }
  if (auto parsed = parse_postgres_uri(args.uri); !parsed.ok()) return cli::report_error(parsed.status());
  struct sigaction action {};
  action.sa_handler = interrupt_postgres_bench;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::vector<std::vector<WorkloadResult>> evsrc_runs;
  std::vector<std::vector<WorkloadResult>> baseline_runs;
  std::vector<Comparison> labels;
  for (int index = 0; index < args.runs; ++index) {
    if (args.runs > 1) progress("run " + std::to_string(index + 1) + " of " + std::to_string(args.runs));
    Result<std::vector<Comparison>> rows = [&] {
      Run run(args, index);
      return run.measure();
    }();
    if (!rows.ok()) return cli::report_error(rows.status());
    if (bench_interrupted.load()) {
      constexpr int kExitInterrupted = 130;
      (void)cli::report_error(Status(ErrorCode::closed, "interrupted; the run's schemas were dropped"));
      return kExitInterrupted;
    }
    evsrc_runs.resize(rows->size());
    baseline_runs.resize(rows->size());
    for (std::size_t i = 0; i < rows->size(); ++i) {
      evsrc_runs[i].push_back((*rows)[i].evsrc);
      baseline_runs[i].push_back((*rows)[i].baseline);
    }
  }
  std::vector<Comparison> combined;
  for (std::size_t i = 0; i < evsrc_runs.size(); ++i) {
    combined.push_back({combine_runs(evsrc_runs[i]), combine_runs(baseline_runs[i])});
  }
  if (args.json) {
    for (const Comparison& row : combined) cli::print_json_line(to_json(row, args.runs));
  } else {
    print_table(combined, args);
  }
  return cli::flush_stdout() ? cli::kExitOk : cli::kExitError;
}

}  // namespace

void register_postgres_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<PostgresBenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench-postgres",
      "Benchmark the PostgreSQL backend against the usual SQL design of an event table on the same server in the "
      "same run (one INSERT per event in a transaction, unique (stream, revision) key, no no-skip guarantee): "
      "1-event appends with 1 and 16 clients (one shared store, and a store object each), 100-event appends with 16 "
      "clients, and a $all catch-up read in pages of 1000. Prints events/s, p50/p99 latency and the ratio "
      "evsrc/baseline per workload (medians of --runs). Each run works in two fresh schemas, dropped afterwards.");
  command->add_option("--uri", args->uri, "PostgreSQL server: postgres://user@host:port/database[?...]")->required();
  command->add_option("--seconds", args->seconds, "Duration of each workload, per side")->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat everything N times and report medians")->capture_default_str();
  command->add_option("--event-bytes", args->event_bytes, "Payload size of every event")->capture_default_str();
  command->add_option("--clients", args->clients, "Concurrent clients of the many-client workloads")
      ->capture_default_str();
  command->add_option("--batch", args->batch, "Events per append of the batch workload")->capture_default_str();
  command->add_option("--read-page", args->read_page, "Events per page of the $all read")->capture_default_str();
  command->add_flag("--json", args->json,
                    "One JSON object per workload: workload, description, evsrc_events_per_s, "
                    "baseline_events_per_s, ratio, evsrc_p50_us, evsrc_p99_us, baseline_p50_us, ...");
  command->callback([&context, args] { context.run = [args] { return run_postgres_bench(*args); }; });
}

}  // namespace evsrc::bench
