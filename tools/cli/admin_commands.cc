// evsrc streams and evsrc stats.
#include <memory>
#include <string>

#include "cli/cli_common.h"

namespace evsrc::cli {
namespace {

struct StreamsArguments {
  std::string prefix;
};

Json optional_to_json(const std::optional<std::uint64_t>& value) { return value ? Json(*value) : Json(nullptr); }

int run_streams(const CommandContext& context, const StreamsArguments& args) {
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  constexpr std::size_t kPageSize = 1000;
  std::string after;
  for (;;) {
    auto names = store->list_streams(args.prefix, after, kPageSize);
    if (!names.ok()) {
      exit_code = report_error(names.status());
      break;
    }
    for (const std::string& name : *names) {
      auto info = store->stream_info(name);
      if (!info.ok()) {
        exit_code = report_error(info.status(), Json{{"stream", name}});
        break;
      }
      Json line = Json::object();
      line["stream"] = name;
      line["lastRevision"] = optional_to_json(info->last_revision);
      if (info->soft_deleted) line["deleted"] = true;
      if (info->tombstoned) line["tombstoned"] = true;
      print_json_line(line);
    }
    if (exit_code != kExitOk || names->size() < kPageSize) break;
    after = names->back();
  }
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

int run_stats(const CommandContext& context) {
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  auto stats = store->stats();
  if (!stats.ok()) return close_cli_store(*store, report_error(stats.status()));
  Json line = Json::object();
  line["events"] = stats->events;
  line["streams"] = stats->streams;
  line["bytes"] = stats->bytes;
  line["segments"] = stats->segments;
  line["lastPosition"] = optional_to_json(stats->last_position);
  print_json_line(line);
  return close_cli_store(*store, flush_stdout() ? kExitOk : kExitError);
}

}  // namespace

void register_admin_commands(CLI::App& app, CommandContext& context) {
  {
    auto args = std::make_shared<StreamsArguments>();
    CLI::App* command = add_command(app, "streams",
                                    "List streams in name order as JSON lines {\"stream\",\"lastRevision\"} "
                                    "(+ \"deleted\"/\"tombstoned\" when so).");
    command->add_option("--prefix", args->prefix, "Only streams whose name starts with this prefix");
    command->callback([&context, args] { context.run = [&context, args] { return run_streams(context, *args); }; });
  }
  {
    CLI::App* command = add_command(app, "stats",
                                    "Print {\"events\",\"streams\",\"bytes\",\"segments\",\"lastPosition\"} "
                                    "of the store (bytes: log record bytes; segments: log files).");
    command->callback([&context] { context.run = [&context] { return run_stats(context); }; });
  }
}

}  // namespace evsrc::cli
