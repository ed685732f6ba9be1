#include "directory/kinesis_consumer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "directory/projections.h"
#include "directory/read_models.h"
#include "evsrc/kinesis.h"

namespace evsrc::directory {
namespace {

std::atomic<bool> consumer_stop_requested{false};
std::atomic<KinesisConsumer*> running_consumer{nullptr};

// KinesisConsumer::stop() only stores an atomic flag: safe in a handler.
extern "C" void request_consumer_stop(int) {
  consumer_stop_requested.store(true);
  if (KinesisConsumer* consumer = running_consumer.load()) consumer->stop();
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_consumer_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

nlohmann::ordered_json totals(const KinesisConsumerArguments& args, const KinesisConsumerStats& stats) {
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["stream"] = args.stream;
  line["read"] = stats.records_read;
  line["applied"] = stats.events_applied;
  line["duplicates"] = stats.duplicates_skipped;
  line["gaps"] = stats.gaps;
  line["backfilled"] = stats.events_backfilled;
  return line;
}

}  // namespace

Status run_consume_kinesis(Session& session, Printer& printer, const KinesisConsumerArguments& args) {
  if (session.read_models_temporary()) {
    return Status::invalid_argument(
        "consume-kinesis needs --read-models (a SQLite file or a postgres:// URI): without it the read models of "
        "this store are a temporary file");
  }
  if (args.poll_ms < 1) return Status::invalid_argument("--poll-ms must be at least 1");
  install_stop_handlers();

  Result<std::unique_ptr<SqlSession>> db = open_read_model_session(session.read_models_location());
  if (!db.ok()) return db.status();
  std::vector<std::unique_ptr<DirectoryProjection>> projections;
  std::vector<SqlKinesisConsumerSink::Target> targets;
  for (std::string_view name : kDirectoryProjections) {
    projections.push_back(make_portable_directory_projection(name, 1));
    targets.push_back({projections.back().get(), kKinesisTableSuffix});
  }
  auto sink = SqlKinesisConsumerSink::open(**db, args.name, std::move(targets));
  if (!sink.ok()) return sink.status();

  KinesisConsumer::Options options;
  options.kinesis.region = args.region;
  options.kinesis.url = args.endpoint;
  options.kinesis.stream = args.stream;
  options.sink = sink->get();
  options.store = &session.service().store();
  options.limit = args.limit;
  options.poll_interval = std::chrono::milliseconds(args.poll_ms);
  KinesisConsumer* consumer_for_progress = nullptr;
  options.on_batch = [&](std::string_view shard, std::size_t records) {
    if (records == 0 || consumer_for_progress == nullptr) return;
    nlohmann::ordered_json line = totals(args, consumer_for_progress->stats());
    line["shard"] = std::string(shard);
    line["records"] = records;
    printer.progress(line);
  };
  auto consumer = KinesisConsumer::open(std::move(options));
  if (!consumer.ok()) return consumer.status();
  consumer_for_progress = consumer->get();

  running_consumer.store(consumer->get());
  if (consumer_stop_requested.load()) (*consumer)->stop();
  Status status;
  if (args.once) {
    auto applied = (*consumer)->catch_up();
    if (applied.ok()) {
      nlohmann::ordered_json line = totals(args, (*consumer)->stats());
      line["caughtUp"] = true;
      printer.progress(line);
    }
    status = applied.status();
  } else {
    status = (*consumer)->run();
  }
  running_consumer.store(nullptr);
  return status;
}

}  // namespace evsrc::directory
