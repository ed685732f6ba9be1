// evsrc forward kinesis: publishes the store's committed events to an Amazon
// Kinesis data stream (KinesisForwarder, evsrc/kinesis.h), at least once,
// from a stored checkpoint.
//
// Output: one JSON line per pass that forwarded something (and after the
// first pass): {"stream","forwarded","total","position","requests",
// "retried"}. Live until SIGINT/SIGTERM (exit 0, the checkpoint saved after
// the last acknowledged batch); --once exits after catching up.
#include <atomic>
#include <csignal>
#include <string>

#include "cli/cli_common.h"
#include "evsrc/checkpoint_store.h"
#include "evsrc/dynamodb.h"
#include "evsrc/kinesis.h"

namespace evsrc::cli {
namespace {

struct ForwardKinesisArguments {
  std::string stream;
  std::string region = "us-east-1";
  std::string endpoint;
  std::string name = "kinesis-forwarder";
  std::string checkpoints;
  bool create_stream = false;
  int shards = 1;
  bool once = false;
  std::size_t batch = 500;
  std::string stream_prefix;
  std::string category;
  std::string event_type;
};

std::atomic<bool> forward_stop_requested{false};
std::atomic<KinesisForwarder*> running_forwarder{nullptr};

// KinesisForwarder::stop() only stores an atomic flag: safe in a handler.
extern "C" void request_forward_stop(int) {
  forward_stop_requested.store(true);
  if (KinesisForwarder* forwarder = running_forwarder.load()) forwarder->stop();
}

Json pass_line(const ForwardKinesisArguments& args, std::uint64_t forwarded, const KinesisForwarderStats& stats) {
  Json line = Json::object();
  line["stream"] = args.stream;
  line["forwarded"] = forwarded;
  line["total"] = stats.events_forwarded;
  line["position"] = stats.checkpoint ? Json(*stats.checkpoint) : Json(nullptr);
  line["requests"] = stats.put_requests;
  line["retried"] = stats.records_retried;
  return line;
}

int run_forward_kinesis(const CommandContext& context, const ForwardKinesisArguments& args) {
  struct sigaction action {};
  action.sa_handler = request_forward_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  KinesisEndpoint endpoint;
  endpoint.region = args.region;
  endpoint.url = args.endpoint;
  endpoint.stream = args.stream;
  const Json where = {
      {"kinesisStream", args.stream},
      {"endpoint", args.endpoint.empty() ? "https://kinesis." + args.region + ".amazonaws.com" : args.endpoint}};

  std::unique_ptr<CheckpointStore> checkpoints;
  if (!args.checkpoints.empty()) {
    auto opened = open_file_checkpoints(args.checkpoints);
    if (!opened.ok()) return report_error(opened.status(), Json{{"checkpoints", args.checkpoints}});
    checkpoints = std::move(*opened);
  } else if (context.server_url.empty() && context.store_uri.starts_with("dynamodb://")) {
    auto opened = open_dynamodb_checkpoints(context.store_uri);
    if (!opened.ok()) return report_error(opened.status(), Json{{"store", context.store_uri}});
    checkpoints = std::move(*opened);
  } else {
    return report_error(Status::invalid_argument(
        "evsrc forward kinesis needs --checkpoints DIR to keep its checkpoint (only a dynamodb:// store keeps it "
        "in its own checkpoints table)"));
  }

  if (args.create_stream) {
    if (Status created = create_kinesis_stream(endpoint, args.shards); !created.ok()) {
      return report_error(created, where);
    }
  } else {
    auto shards = list_kinesis_shards(endpoint);
    if (!shards.ok()) {
      Status status = shards.status();
      if (status.code() == ErrorCode::not_found) {
        status = Status::not_found(
            "Kinesis stream '" + args.stream +
            "' does not exist (create it, or pass --create-stream [--shards N]): " + status.message());
      }
      return report_error(status, where);
    }
  }

  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;

  KinesisForwarder::Options options;
  options.store = store.get();
  options.kinesis = endpoint;
  options.checkpoints = checkpoints.get();
  options.name = args.name;
  options.batch_size = args.batch;
  options.filter.stream_prefix = args.stream_prefix;
  options.filter.category = args.category;
  options.filter.event_type = args.event_type;
  bool first_pass = true;
  options.on_pass = [&](std::uint64_t forwarded, const KinesisForwarderStats& stats) {
    if (forwarded == 0 && !first_pass) return;
    first_pass = false;
    print_json_line(pass_line(args, forwarded, stats));
    (void)flush_stdout();
  };
  auto forwarder = KinesisForwarder::open(options);
  if (!forwarder.ok()) return close_cli_store(*store, report_error(forwarder.status(), where));

  running_forwarder.store(forwarder->get());
  if (forward_stop_requested.load()) (*forwarder)->stop();
  if (args.once) {
    auto pass = (*forwarder)->forward_available();
    if (!pass.ok()) {
      exit_code = report_error(pass.status(), where);
    } else {
      print_json_line(pass_line(args, *pass, (*forwarder)->stats()));
    }
  } else {
    Status ran = (*forwarder)->run();
    if (!ran.ok()) exit_code = report_error(ran, where);
  }
  running_forwarder.store(nullptr);
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

}  // namespace

void register_forward_command(CLI::App& app, CommandContext& context) {
  CLI::App* forward = add_command(app, "forward", "Publish the store's committed events to another system.");
  forward->require_subcommand(1);
  auto args = std::make_shared<ForwardKinesisArguments>();
  CLI::App* kinesis = forward->add_subcommand(
      "kinesis",
      "Publish every committed event (in $all order, from the checkpoint on) to a Kinesis data stream with "
      "PutRecords: partition key = the event's stream, record data = the event as JSON (see evsrc/kinesis.h). At "
      "least once: the checkpoint advances only after Kinesis acknowledged a batch. Prints one JSON line per pass "
      "{\"stream\",\"forwarded\",\"total\",\"position\",\"requests\",\"retried\"}; follows new commits until "
      "SIGINT/SIGTERM (exit 0), or with --once exits after catching up. AWS credentials: AWS_ACCESS_KEY_ID / "
      "AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), else ~/.aws/credentials.");
  kinesis->fallthrough();
  kinesis->add_option("--stream", args->stream, "Kinesis stream name")->required();
  kinesis->add_option("--region", args->region, "AWS region")->capture_default_str();
  kinesis->add_option("--endpoint", args->endpoint,
                      "Kinesis endpoint URL (e.g. http://127.0.0.1:4567 for kinesalite); default AWS's of --region");
  kinesis->add_option("--name", args->name, "Checkpoint name of this forwarder")->capture_default_str();
  kinesis->add_option("--checkpoints", args->checkpoints,
                      "Directory for the checkpoint file (required unless the store is dynamodb://, which keeps "
                      "it in its checkpoints table)");
  kinesis->add_flag("--create-stream", args->create_stream, "Create the Kinesis stream when absent");
  kinesis->add_option("--shards", args->shards, "Shards of a stream --create-stream creates")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  kinesis->add_flag("--once", args->once, "Forward what is committed, then exit");
  kinesis->add_option("--batch", args->batch, "Events per PutRecords request (1..500)")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  kinesis->add_option("--stream-prefix", args->stream_prefix, "Forward only events of streams with this prefix");
  kinesis->add_option("--category", args->category, "Forward only events of this stream category");
  kinesis->add_option("--type", args->event_type, "Forward only events of this type");
  kinesis->callback(
      [&context, args] { context.run = [&context, args] { return run_forward_kinesis(context, *args); }; });
}

}  // namespace evsrc::cli
