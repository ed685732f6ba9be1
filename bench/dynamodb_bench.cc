// evsrc bench-dynamodb: the DynamoDB backend against the seed's plain design
// (one conditional PutItem per event into a (stream, revision) table: no
// global order, no idempotency, no multi-event atomicity) on the same server
// in the same run, and the Kinesis forwarder against raw PutRecords of the
// same events to the same Kinesis server (issue "DynamoDB backend, Kinesis";
// results go to docs/benchmarks.md).
//
// Each run creates fresh tables (a prefix of its own) and a fresh Kinesis
// stream, and deletes the tables at its end. Workloads, evsrc and baseline in
// alternating order per run:
//   append-1   1 client, 1 event per append, own stream
//   append-1   16 clients sharing one store object (the backend group-commits)
//   append-1   the 1-client figure against a bare TransactWriteItems of the
//              5 items such an append writes: the server's floor for a
//              commit with a global order (the ratio is evsrc's own cost)
//   $all read  catch-up read of everything written (baseline: a Scan)
//   forward    the forwarder publishing everything written to Kinesis
//              (baseline: PutRecords of the same events, 500 per request)
// Besides events/s, the requests sent per appended event: on AWS the cost
// driver (the baseline sends exactly one per event).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aws/aws_credentials.h"
#include "aws/aws_json_client.h"
#include "bench/append_clients.h"
#include "bench/store_bench.h"
#include "cli/cli_common.h"
#include "dynamodb/dynamo_client.h"
#include "evsrc/dynamodb.h"
#include "evsrc/kinesis.h"

namespace evsrc::bench {
namespace {

using cli::Json;
using dynamo::attr_b;
using dynamo::attr_n;
using dynamo::attr_s;
using DynamoJson = dynamo::Json;

struct DynamoBenchArguments {
  std::string endpoint;
  std::string kinesis_endpoint;
  std::string region = "us-east-1";
  double seconds = 5;
  int runs = 1;
  std::size_t event_bytes = 256;
  std::size_t clients = 16;
  std::uint64_t read_page = 1000;
  bool json = false;
};

struct Row {
  std::string workload;
  std::string description;
  WorkloadResult evsrc;
  WorkloadResult baseline;
  double evsrc_requests_per_event = 0;
  double baseline_requests_per_event = 0;
};

extern "C" void interrupt_dynamodb_bench(int) { bench_interrupted.store(true); }

void progress(const std::string& text) {
  std::fprintf(stderr, "bench-dynamodb: %s\n", text.c_str());
  std::fflush(stderr);
}

std::string rate_text(const WorkloadResult& result) {
  return std::to_string(static_cast<long long>(result.events_per_s)) + " events/s, p50 " +
         std::to_string(static_cast<long long>(result.p50_us)) + " us, p99 " +
         std::to_string(static_cast<long long>(result.p99_us)) + " us";
}

// The seed's plain table: (s, r) keys, one conditional PutItem per event.
class Baseline {
 public:
  static Result<std::unique_ptr<Baseline>> open(const std::string& endpoint, const std::string& region,
                                                const std::string& table) {
    Result<dynamo::DynamoUri> uri = dynamo::parse_dynamo_uri("dynamodb://" + region + "/" + table + "?endpoint=" +
                                                            endpoint);
    if (!uri.ok()) return uri.status();
    Result<std::unique_ptr<dynamo::DynamoClient>> client = dynamo::DynamoClient::open(*uri);
    if (!client.ok()) return client.status();
    auto baseline = std::unique_ptr<Baseline>(new Baseline(std::move(client).value(), table));
    Result<DynamoJson> created = baseline->client_->call(
        "CreateTable",
        DynamoJson{{"TableName", table},
                   {"AttributeDefinitions",
                    DynamoJson::array({{{"AttributeName", "s"}, {"AttributeType", "S"}},
                                       {{"AttributeName", "r"}, {"AttributeType", "N"}}})},
                   {"KeySchema", DynamoJson::array({{{"AttributeName", "s"}, {"KeyType", "HASH"}},
                                                    {{"AttributeName", "r"}, {"KeyType", "RANGE"}}})},
                   {"BillingMode", "PAY_PER_REQUEST"}});
    if (!created.ok()) return created.status();
    for (int i = 0; i < 600; ++i) {
      Result<DynamoJson> described = baseline->client_->call("DescribeTable", DynamoJson{{"TableName", table}});
      if (!described.ok()) return described.status();
      if ((*described)["Table"]["TableStatus"] == "ACTIVE") return baseline;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::timeout("bench-dynamodb: the baseline table did not become ACTIVE");
  }

  ~Baseline() { (void)client_->call("DeleteTable", DynamoJson{{"TableName", table_}}); }

  // Appends `event` at `revision` of `stream`, if that revision is free.
  Status append(const std::string& stream, std::uint64_t revision, const EventData& event) {
    DynamoJson item{{"s", attr_s(stream)}, {"r", attr_n(revision)}, {"id", attr_s(event.id.to_string())},
                    {"t", attr_b(event.type)}, {"d", attr_b(event.data)}};
    return client_
        ->call("PutItem", DynamoJson{{"TableName", table_},
                                     {"Item", std::move(item)},
                                     {"ConditionExpression", "attribute_not_exists(#r)"},
                                     {"ExpressionAttributeNames", {{"#r", "r"}}}})
        .status();
  }

  // Scans the whole table in pages of `page`; the items read.
  Result<std::uint64_t> scan(std::uint64_t page, std::vector<double>& latencies) {
    std::uint64_t items = 0;
    DynamoJson request{{"TableName", table_}, {"Limit", page}, {"ConsistentRead", true}};
    for (;;) {
      const auto start = Clock::now();
      Result<DynamoJson> response = client_->call("Scan", request);
      if (!response.ok()) return response.status();
      latencies.push_back(micros_since(start));
      items += (*response)["Items"].size();
      const auto next = response->find("LastEvaluatedKey");
      if (next == response->end() || next->is_null()) return items;
      request["ExclusiveStartKey"] = *next;
    }
  }

  // One TransactWriteItems of `items` conditional puts (new keys), each
  // holding `event`: what a commit of one event costs the server at least.
  Status transact(std::uint64_t call, std::size_t items, const EventData& event) {
    DynamoJson operations = DynamoJson::array();
    for (std::size_t i = 0; i < items; ++i) {
      DynamoJson item{{"s", attr_s("raw-" + std::to_string(call))}, {"r", attr_n(i)}, {"d", attr_b(event.data)}};
      operations.push_back({{"Put",
                             {{"TableName", table_},
                              {"Item", std::move(item)},
                              {"ConditionExpression", "attribute_not_exists(#r)"},
                              {"ExpressionAttributeNames", {{"#r", "r"}}}}}});
    }
    return client_->call("TransactWriteItems", DynamoJson{{"TransactItems", std::move(operations)}}).status();
  }

  std::uint64_t requests_sent() const { return client_->requests_sent(); }

 private:
  Baseline(std::unique_ptr<dynamo::DynamoClient> client, std::string table)
      : client_(std::move(client)), table_(std::move(table)) {}
  std::unique_ptr<dynamo::DynamoClient> client_;
  std::string table_;
};

class Run {
 public:
  Run(const DynamoBenchArguments& args, int index)
      : args_(args), index_(index), prefix_("bench_" + random_tag()), budget_{args.seconds, 0} {
    event_ = bench_event(args.event_bytes);
  }

  ~Run() {
    if (store_) (void)store_->close();
    if (Status status = delete_dynamodb_tables(uri()); !status.ok()) {
      progress("could not delete the tables " + prefix_ + "_*: " + status.message());
    }
  }

  std::string uri() const { return "dynamodb://" + args_.region + "/" + prefix_ + "?endpoint=" + args_.endpoint; }

  Result<std::vector<Row>> measure() {
    progress("tables " + prefix_ + "_*");
    auto opened = open_dynamodb_store(uri());
    if (!opened.ok()) return opened.status();
    store_ = std::move(opened).value();
    auto baseline = Baseline::open(args_.endpoint, args_.region, prefix_ + "_baseline");
    if (!baseline.ok()) return baseline.status();
    baseline_ = std::move(baseline).value();
    std::vector<Row> rows;
    for (std::size_t clients : {std::size_t{1}, args_.clients}) {
      if (bench_interrupted.load()) break;
      Row row;
      row.workload = "append-1";
      row.description = std::to_string(clients) + (clients == 1 ? " client" : " clients") +
                        ", 1 event per append" + (clients == 1 ? "" : ", one shared store");
      if (Status status = compare_appends(row, clients); !status.ok()) return status;
      rows.push_back(std::move(row));
    }
    if (!bench_interrupted.load() && !rows.empty()) {
      // The same single-client appends against the server's floor for them:
      // a bare TransactWriteItems of as many items as one such append writes
      // (head, log, event, id, stream).
      Row row = rows.front();
      row.workload = "append-1";
      row.description = "1 client, vs a bare 5-item TransactWriteItems";
      progress(row.workload + ", " + row.description);
      auto next = std::make_shared<std::uint64_t>(0);
      auto result = run_append_clients(1, 1, args_.event_bytes, budget_, [&](std::size_t) {
        return Result<AppendCall>(
            AppendCall([this, next] { return baseline_->transact((*next)++ + 1000000 * index_, 5, event_); }));
      });
      if (!result.ok()) return result.status();
      row.baseline = std::move(result).value();
      row.baseline_requests_per_event = 1;
      progress("  baseline: " + rate_text(row.baseline));
      rows.push_back(std::move(row));
    }
    if (!bench_interrupted.load()) {
      Row row;
      if (Status status = compare_reads(row); !status.ok()) return status;
      rows.push_back(std::move(row));
    }
    if (!bench_interrupted.load() && !args_.kinesis_endpoint.empty()) {
      Row row;
      if (Status status = compare_forwarding(row); !status.ok()) return status;
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  Status compare_appends(Row& row, std::size_t clients) {
    progress(row.workload + ", " + row.description);
    const std::string tag = std::to_string(clients) + "-" + std::to_string(index_);
    for (int turn = 0; turn < 2; ++turn) {
      const bool is_evsrc = (turn == 0) == (index_ % 2 == 0);
      if (is_evsrc) {
        const std::uint64_t before = dynamodb_requests_sent();
        auto result = run_append_clients(clients, 1, args_.event_bytes, budget_, [&](std::size_t client) {
          const std::string stream = "bench-" + tag + "-" + std::to_string(client);
          return Result<AppendCall>(AppendCall(
              [this, stream] { return store_->append(stream, ExpectedRevision::any(), {&event_, 1}).status(); }));
        });
        if (!result.ok()) return result.status();
        row.evsrc = std::move(result).value();
        row.evsrc_requests_per_event =
            static_cast<double>(dynamodb_requests_sent() - before) / std::max<double>(1, row.evsrc.events);
        progress("  evsrc:    " + rate_text(row.evsrc) + ", " + std::to_string(row.evsrc_requests_per_event) +
                 " requests/event");
      } else {
        const std::uint64_t before = baseline_->requests_sent();
        auto result = run_append_clients(clients, 1, args_.event_bytes, budget_, [&](std::size_t client) {
          const std::string stream = "base-" + tag + "-" + std::to_string(client);
          auto next = std::make_shared<std::uint64_t>(0);
          return Result<AppendCall>(
              AppendCall([this, stream, next] { return baseline_->append(stream, (*next)++, event_); }));
        });
        if (!result.ok()) return result.status();
        row.baseline = std::move(result).value();
        row.baseline_requests_per_event =
            static_cast<double>(baseline_->requests_sent() - before) / std::max<double>(1, row.baseline.events);
        progress("  baseline: " + rate_text(row.baseline));
      }
    }
    return Status();
  }

  Status compare_reads(Row& row) {
    row.workload = "$all-read";
    row.description = "catch-up read of everything written, pages of " + std::to_string(args_.read_page);
    progress(row.workload + ", " + row.description + " (baseline: Scan)");
    WorkloadSettings settings;
    settings.budget = budget_;
    settings.payload_bytes = args_.event_bytes;
    settings.read_page = args_.read_page;
    const std::uint64_t before = dynamodb_requests_sent();
    auto evsrc = run_catch_up_read(*store_, settings);
    if (!evsrc.ok()) return evsrc.status();
    row.evsrc = std::move(evsrc).value();
    row.evsrc_requests_per_event =
        static_cast<double>(dynamodb_requests_sent() - before) / std::max<double>(1, row.evsrc.events);
    progress("  evsrc:    " + rate_text(row.evsrc));
    std::vector<double> latencies;
    const std::uint64_t base_before = baseline_->requests_sent();
    const auto start = Clock::now();
    std::uint64_t items = 0;
    do {
      auto scanned = baseline_->scan(args_.read_page, latencies);
      if (!scanned.ok()) return scanned.status();
      items += *scanned;
      row.baseline.calls += 1;
    } while (budget_.time_left(start));
    row.baseline.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.baseline.events = items;
    finish_result(row.baseline, args_.event_bytes, latencies);
    row.baseline_requests_per_event =
        static_cast<double>(baseline_->requests_sent() - base_before) / std::max<double>(1, items);
    progress("  baseline: " + rate_text(row.baseline));
    return Status();
  }

  Status compare_forwarding(Row& row) {
    row.workload = "forward";
    KinesisEndpoint kinesis{args_.region, args_.kinesis_endpoint, "bench_" + random_tag()};
    if (Status status = create_kinesis_stream(kinesis, 4); !status.ok()) return status;
    Result<StoreStats> stats = store_->stats();
    if (!stats.ok()) return stats.status();
    row.description = "to Kinesis, 4 shards, the " + std::to_string(stats->events) + " events written";
    progress(row.workload + ", " + row.description + " (baseline: PutRecords of 500)");
    // evsrc: the forwarder, from its checkpoint (none) to the end.
    char directory[] = "/tmp/evsrc-bench-checkpoints-XXXXXX";
    if (mkdtemp(directory) == nullptr) return Status::io_error("mkdtemp failed");
    auto checkpoints = open_file_checkpoints(directory);
    if (!checkpoints.ok()) return checkpoints.status();
    KinesisForwarder::Options options;
    options.store = store_.get();
    options.kinesis = kinesis;
    options.checkpoints = checkpoints->get();
    auto forwarder = KinesisForwarder::open(options);
    if (!forwarder.ok()) return forwarder.status();
    auto start = Clock::now();
    Result<std::uint64_t> forwarded = (*forwarder)->forward_available();
    if (!forwarded.ok()) return forwarded.status();
    row.evsrc.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.evsrc.events = *forwarded;
    row.evsrc.calls = (*forwarder)->stats().put_requests;
    finish_result(row.evsrc, args_.event_bytes, {});
    row.evsrc_requests_per_event = static_cast<double>(row.evsrc.calls) / std::max<double>(1, row.evsrc.events);
    progress("  evsrc:    " + rate_text(row.evsrc));
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
    // Baseline: the same number of records, already encoded, 500 per request.
    Result<aws::Credentials> credentials = aws::load_credentials();
    if (!credentials.ok()) return credentials.status();
    aws::AwsJsonClient::Options client_options;
    client_options.endpoint = aws::AwsServiceEndpoint{args_.kinesis_endpoint, args_.region, "kinesis",
                                                      "Kinesis_20131202", "application/x-amz-json-1.1"};
    client_options.credentials = *credentials;
    aws::AwsJsonClient client(client_options);
    AllReadOptions read;
    read.limit = 500;
    std::vector<std::string> requests;
    for (;;) {
      Result<AllPage> page = store_->read_all(read);
      if (!page.ok()) return page.status();
      DynamoJson records = DynamoJson::array();
      for (const RecordedEvent& event : page->events) {
        records.push_back({{"Data", aws::base64_encode(encode_kinesis_event(event))}, {"PartitionKey", event.stream}});
      }
      if (!records.empty()) {
        requests.push_back(DynamoJson{{"StreamName", kinesis.stream}, {"Records", std::move(records)}}.dump());
      }
      if (!page->next) break;
      read.from = page->next;
    }
    start = Clock::now();
    std::uint64_t sent = 0;
    for (const std::string& request : requests) {
      Result<aws::AwsResponse> response = client.call("PutRecords", request);
      if (!response.ok()) return response.status();
      if (!response->ok()) return aws::error_status("PutRecords", *response);
      ++row.baseline.calls;
    }
    sent = row.evsrc.events;
    row.baseline.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    row.baseline.events = sent;
    finish_result(row.baseline, args_.event_bytes, {});
    row.baseline_requests_per_event = static_cast<double>(row.baseline.calls) / std::max<double>(1, sent);
    progress("  baseline: " + rate_text(row.baseline));
    return Status();
  }

  const DynamoBenchArguments& args_;
  int index_;
  std::string prefix_;
  Budget budget_;
  EventData event_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Baseline> baseline_;
};

double ratio_of(const Row& row) {
  return row.baseline.events_per_s > 0 ? row.evsrc.events_per_s / row.baseline.events_per_s : 0;
}

void print_table(const std::vector<Row>& rows, const DynamoBenchArguments& args) {
  std::printf("evsrc bench-dynamodb: %s%s%s, %zu-byte events, %.0f s per workload, %d run(s)%s\n",
              args.endpoint.c_str(), args.kinesis_endpoint.empty() ? "" : ", Kinesis ",
              args.kinesis_endpoint.c_str(), args.event_bytes, args.seconds, args.runs, args.runs > 1 ? ", medians" : "");
  std::printf("%-10s %-58s %10s %10s %6s %9s %9s %9s %9s\n", "workload", "description", "evsrc/s", "base/s", "ratio",
              "evsrc p50", "base p50", "req/ev", "base r/e");
  for (const Row& row : rows) {
    std::printf("%-10s %-58s %10.0f %10.0f %6.2f %9.0f %9.0f %9.3f %9.3f\n", row.workload.c_str(),
                row.description.c_str(), row.evsrc.events_per_s, row.baseline.events_per_s, ratio_of(row),
                row.evsrc.p50_us, row.baseline.p50_us, row.evsrc_requests_per_event, row.baseline_requests_per_event);
  }
  std::printf("events/s; p50 in us per call; req/ev = requests sent per event (DynamoDB requests for the append and "
              "read rows, PutRecords requests for forward).\n");
}

Json to_json(const Row& row, int runs) {
  Json line = Json::object();
  line["workload"] = row.workload;
  line["description"] = row.description;
  line["evsrc_events_per_s"] = row.evsrc.events_per_s;
  line["baseline_events_per_s"] = row.baseline.events_per_s;
  line["ratio"] = ratio_of(row);
  line["evsrc_p50_us"] = row.evsrc.p50_us;
  line["evsrc_p99_us"] = row.evsrc.p99_us;
  line["baseline_p50_us"] = row.baseline.p50_us;
  line["evsrc_requests_per_event"] = row.evsrc_requests_per_event;
  line["baseline_requests_per_event"] = row.baseline_requests_per_event;
  line["runs"] = runs;
  return line;
}

int run_dynamodb_bench(const DynamoBenchArguments& args) {
  if (args.seconds <= 0) return cli::report_error(Status::invalid_argument("--seconds must be positive"));
  if (args.runs < 1) return cli::report_error(Status::invalid_argument("--runs must be at least 1"));
  if (args.clients < 1 || args.read_page < 1) {
    return cli::report_error(Status::invalid_argument("--clients and --read-page must be at least 1"));
  }
  struct sigaction action {};
  action.sa_handler = interrupt_dynamodb_bench;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::vector<std::vector<Row>> runs;
  for (int index = 0; index < args.runs && !bench_interrupted.load(); ++index) {
    if (args.runs > 1) progress("run " + std::to_string(index + 1) + " of " + std::to_string(args.runs));
    Result<std::vector<Row>> rows = [&] {
      Run run(args, index);
      return run.measure();
    }();
    if (!rows.ok()) return cli::report_error(rows.status());
    runs.push_back(std::move(rows).value());
  }
  if (bench_interrupted.load()) {
    constexpr int kExitInterrupted = 130;
    (void)cli::report_error(Status(ErrorCode::closed, "interrupted; the run's tables were deleted"));
    return kExitInterrupted;
  }
  // Medians per row over the runs.
  std::vector<Row> combined = runs.front();
  for (std::size_t i = 0; i < combined.size(); ++i) {
    std::vector<WorkloadResult> evsrc, baseline;
    std::vector<double> evsrc_requests, baseline_requests;
    for (const auto& run : runs) {
      if (i >= run.size()) continue;
      evsrc.push_back(run[i].evsrc);
      baseline.push_back(run[i].baseline);
      evsrc_requests.push_back(run[i].evsrc_requests_per_event);
      baseline_requests.push_back(run[i].baseline_requests_per_event);
    }
    combined[i].evsrc = combine_runs(evsrc);
    combined[i].baseline = combine_runs(baseline);
    combined[i].evsrc_requests_per_event = median(evsrc_requests);
    combined[i].baseline_requests_per_event = median(baseline_requests);
  }
  if (args.json) {
    for (const Row& row : combined) cli::print_json_line(to_json(row, args.runs));
  } else {
    print_table(combined, args);
  }
  return cli::flush_stdout() ? cli::kExitOk : cli::kExitError;
}

}  // namespace

void register_dynamodb_bench_command(CLI::App& app, cli::CommandContext& context) {
  auto args = std::make_shared<DynamoBenchArguments>();
  CLI::App* command = cli::add_command(
      app, "bench-dynamodb",
      "Benchmark the DynamoDB backend against the seed's plain design (one conditional PutItem per event into a "
      "(stream, revision) table: no global order, no idempotency) on the same server in the same run: 1-event "
      "appends with 1 and 16 clients, a $all catch-up read (baseline: Scan), and with --kinesis-endpoint the Kinesis "
      "forwarder (baseline: PutRecords of the same events, 500 per request). Prints events/s, p50 latency, the "
      "ratio evsrc/baseline and the requests sent per event (medians of --runs). Each run creates its own tables and "
      "stream and deletes the tables afterwards. Credentials as for dynamodb:// stores.");
  command->add_option("--endpoint", args->endpoint, "DynamoDB endpoint, e.g. http://127.0.0.1:8000")->required();
  command->add_option("--kinesis-endpoint", args->kinesis_endpoint, "Kinesis endpoint for the forward workload");
  command->add_option("--region", args->region, "Signing region")->capture_default_str();
  command->add_option("--seconds", args->seconds, "Duration of each append and read workload, per side")
      ->capture_default_str();
  command->add_option("--runs", args->runs, "Repeat everything N times and report medians")->capture_default_str();
  command->add_option("--event-bytes", args->event_bytes, "Payload size of every event")->capture_default_str();
  command->add_option("--clients", args->clients, "Concurrent clients of the many-client workload")
      ->capture_default_str();
  command->add_option("--read-page", args->read_page, "Events per page of the $all read")->capture_default_str();
  command->add_flag("--json", args->json, "One JSON object per workload");
  command->callback([&context, args] { context.run = [args] { return run_dynamodb_bench(*args); }; });
}

}  // namespace evsrc::bench
