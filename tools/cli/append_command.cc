// evsrc append STREAM TYPE [DATA_JSON] [--expected ..] [--id UUID] [--metadata JSON]
#include <memory>
#include <string>

#include "cli/cli_common.h"
#include "cli/json_event.h"

namespace evsrc::cli {
namespace {

struct AppendArguments {
  std::string stream;
  std::string type;
  std::string data = "{}";
  std::string expected = "any";
  std::string id;
  std::string metadata;
};

int run_append(const CommandContext& context, const AppendArguments& args) {
  const auto expected = ExpectedRevision::parse(args.expected);
  if (!expected) {
    return report_error(Status::invalid_argument("--expected must be any, no-stream, exists or a revision, not '" +
                                                 args.expected + "'"));
  }
  if (!Json::accept(args.data)) return report_error(Status::invalid_argument("DATA_JSON is not valid JSON"));
  if (!args.metadata.empty()) {
    const Json metadata = Json::parse(args.metadata, nullptr, /*allow_exceptions=*/false);
    if (metadata.is_discarded() || !metadata.is_object()) {
      return report_error(Status::invalid_argument("--metadata must be a JSON object"));
    }
  }
  EventData event;
  if (!args.id.empty()) {
    const auto id = Uuid::parse(args.id);
    if (!id) return report_error(Status::invalid_argument("--id must be a UUID, not '" + args.id + "'"));
    event.id = *id;
  }
  event.type = args.type;
  event.data = args.data;
  event.metadata = args.metadata;

  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  const auto result = store->append(args.stream, *expected, std::span<const EventData>(&event, 1));
  if (!result.ok()) {
    exit_code = report_error(result.status(), Json{{"stream", args.stream}});
  } else {
    Json line = Json::object();
    line["stream"] = args.stream;
    line["revision"] = result->last_revision;
    line["position"] = result->position;
    print_json_line(line);
    if (!flush_stdout()) exit_code = kExitError;
  }
  return close_cli_store(*store, exit_code);
}

}  // namespace

void register_append_command(CLI::App& app, CommandContext& context) {
  auto args = std::make_shared<AppendArguments>();
  CLI::App* command = add_command(app, "append",
                                  "Append one event to a stream. Prints {\"stream\",\"revision\",\"position\"}; "
                                  "exit 3 with the actual revision when --expected does not hold.");
  command->add_option("STREAM", args->stream, "Stream name, e.g. user-1")->required();
  command->add_option("TYPE", args->type, "Event type, e.g. UserRegistered")->required();
  command->add_option("DATA_JSON", args->data, "Event data as JSON")->capture_default_str();
  command
      ->add_option("--expected", args->expected,
                   "Expected stream revision: any, no-stream, exists or a revision number")
      ->capture_default_str();
  command->add_option("--id", args->id, "Event id (UUID) for idempotent retries; random when absent");
  command->add_option("--metadata", args->metadata, "Event metadata as a JSON object");
  command->callback([&context, args] { context.run = [&context, args] { return run_append(context, *args); }; });
}

}  // namespace evsrc::cli
