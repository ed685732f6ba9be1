#include "cli/cli_common.h"

#include <cstdio>
#include <iostream>

#include "evsrc/remote_store.h"

namespace evsrc::cli {

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ok:
      return kExitOk;
    case ErrorCode::wrong_expected_revision:
      return kExitWrongExpectedRevision;
    case ErrorCode::invalid_argument:
    case ErrorCode::too_large:
      return kExitBadInput;
    default:
      return kExitError;
  }
}

int report_error(const Status& status, const Json& extra) {
  Json line = Json::object();
  line["error"] = std::string(error_code_name(status.code()));
  line["message"] = status.message();
  if (status.code() == ErrorCode::wrong_expected_revision) {
    const auto actual = status.actual_revision();
    line["actual"] = actual ? Json(*actual) : Json(nullptr);
  }
  for (const auto& [key, value] : extra.items()) line[key] = value;
  // Keep the order of stdout and stderr sensible when both go to a terminal.
  std::fflush(stdout);
  const std::string text = to_json_line(line);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  return exit_code_for(status);
}

std::unique_ptr<EventStore> open_cli_store(const CommandContext& context, const StoreOptions& options, int& exit_code) {
  if (!context.server_url.empty()) {
    RemoteStoreOptions remote;
    remote.api_key = context.api_key;
    auto store = open_remote_store(context.server_url, remote);
    if (!store.ok()) {
      exit_code = report_error(store.status(), Json{{"server", context.server_url}});
      return nullptr;
    }
    exit_code = kExitOk;
    return std::move(store).value();
  }
  auto store = open_store(context.store_uri, options);
  if (!store.ok()) {
    exit_code = report_error(store.status(), Json{{"store", context.store_uri}});
    return nullptr;
  }
  exit_code = kExitOk;
  return std::move(store).value();
}

int close_cli_store(EventStore& store, int exit_code) {
  const Status status = store.close();
  if (!status.ok() && exit_code == kExitOk) return report_error(status);
  return exit_code;
}

std::string to_json_line(const Json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

void print_json_line(const Json& value) {
  const std::string text = to_json_line(value);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

bool flush_stdout() { return std::fflush(stdout) == 0 && !std::ferror(stdout); }

CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description) {
  CLI::App* command = app.add_subcommand(name, description);
  command->fallthrough();
  command->footer(
      "Global options, before or after the sub-command:\n"
      "  --store URI   file:<directory> (the embedded engine, created when absent; default file:./evsrc-data), "
      "memory:, postgres://user@host/db?schema=NAME or dynamodb://REGION/TABLE_PREFIX[?endpoint=URL]\n"
      "  --server URL  run against an evsrcd server (http://HOST:PORT) instead of --store (env EVSRC_SERVER)\n"
      "  --key KEY     API key sent to the server as a bearer token (env EVSRC_API_KEY)");
  return command;
}

}  // namespace evsrc::cli
