// evsrc keys add|list|revoke: the API keys evsrcd accepts.
//
// These commands work on the key file only and never open the event store, so
// they run while the server holds it; the server picks changes up within a
// second.
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cli/cli_common.h"
#include "server/api_keys.h"

namespace evsrc::cli {
namespace {

constexpr const char* kDefaultKeyFileName = "api-keys.json";

struct KeysArguments {
  std::string keys_file;
  // add
  std::string role;
  std::vector<std::string> prefixes;
  std::string name;
  // revoke
  std::string id;
};

// --keys-file, or "<dir>/api-keys.json" for --store file:<dir>.
Result<std::string> key_file_path(const CommandContext& context, const KeysArguments& args) {
  if (!args.keys_file.empty()) return args.keys_file;
  if (!context.server_url.empty()) {
    return Status::invalid_argument(
        "keys are managed on the server's machine: give --keys-file FILE or --store file:<dir> instead of --server");
  }
  std::string_view uri = context.store_uri;
  if (uri.starts_with("file:")) {
    uri.remove_prefix(5);
    if (uri.starts_with("//")) uri.remove_prefix(2);
    if (!uri.empty()) return (std::filesystem::path(uri) / kDefaultKeyFileName).string();
  }
  return Status::invalid_argument("--keys-file FILE is required with --store " + context.store_uri +
                                  " (the default, <dir>/api-keys.json, exists only for --store file:<dir>)");
}

Json prefixes_json(const std::vector<std::string>& prefixes) {
  Json array = Json::array();
  for (const std::string& prefix : prefixes) array.push_back(prefix);
  return array;
}

// Output that did not reach stdout (e.g. a closed pipe) is a failure.
int finish_output() { return flush_stdout() ? kExitOk : kExitError; }

int run_add(const CommandContext& context, const KeysArguments& args) {
  auto path = key_file_path(context, args);
  if (!path.ok()) return report_error(path.status());
  const std::optional<server::Role> role = server::parse_role(args.role);
  if (!role) {
    return report_error(Status::invalid_argument("unknown role '" + args.role + "': expected admin, writer or reader"));
  }
  // The first key may come before the server ever created its directory.
  const std::filesystem::path directory = std::filesystem::path(*path).parent_path();
  std::error_code error;
  if (!directory.empty()) std::filesystem::create_directories(directory, error);
  if (error) {
    return report_error(Status::io_error("create directory " + directory.string() + ": " + error.message()),
                        Json{{"keysFile", *path}});
  }
  server::ApiKeyFile keys(*path);
  auto key = keys.add(args.name, *role, args.prefixes);
  if (!key.ok()) return report_error(key.status(), Json{{"keysFile", *path}});
  const std::string id = key->substr(4, 12);  // "evk_<id>_<secret>"
  std::vector<std::string> prefixes;          // as stored (duplicates dropped)
  for (const server::ApiKeyRecord& record : keys.list()) {
    if (record.id == id) prefixes = record.prefixes;
  }
  Json line = Json::object();
  line["id"] = id;
  line["name"] = args.name;
  line["role"] = std::string(server::role_name(*role));
  line["prefixes"] = prefixes_json(prefixes);
  line["key"] = *key;
  print_json_line(line);
  return finish_output();
}

int run_list(const CommandContext& context, const KeysArguments& args) {
  auto path = key_file_path(context, args);
  if (!path.ok()) return report_error(path.status());
  server::ApiKeyFile keys(*path);
  if (Status status = keys.load(); !status.ok()) return report_error(status, Json{{"keysFile", *path}});
  for (const server::ApiKeyRecord& record : keys.list()) {
    Json line = Json::object();
    line["id"] = record.id;
    line["name"] = record.name;
    line["role"] = std::string(server::role_name(record.role));
    line["prefixes"] = prefixes_json(record.prefixes);
    line["createdAt"] = record.created_at;
    print_json_line(line);
  }
  return finish_output();
}

int run_revoke(const CommandContext& context, const KeysArguments& args) {
  auto path = key_file_path(context, args);
  if (!path.ok()) return report_error(path.status());
  server::ApiKeyFile keys(*path);
  if (Status status = keys.revoke(args.id); !status.ok()) return report_error(status, Json{{"keysFile", *path}});
  print_json_line(Json{{"revoked", args.id}});
  return finish_output();
}

void add_keys_file_option(CLI::App* command, KeysArguments& args) {
  command->add_option("--keys-file", args.keys_file,
                      "The API key file (default: <dir>/api-keys.json for --store file:<dir>; required otherwise)");
}

}  // namespace

void register_keys_command(CLI::App& app, CommandContext& context) {
  CLI::App* keys = add_command(app, "keys",
                               "Manage the API keys evsrcd accepts (stored hashed in the key file; the store is "
                               "not opened). Sub-commands: add, list, revoke.");
  keys->require_subcommand(1);
  auto args = std::make_shared<KeysArguments>();
  {
    CLI::App* command = add_command(*keys, "add",
                                    "Create a key and print {\"id\",\"name\",\"role\",\"prefixes\",\"key\"}; the "
                                    "key is shown only this once.");
    command
        ->add_option("--role", args->role,
                     "admin (everything), writer (reads and writes, no hard delete) or reader (reads only)")
        ->required();
    command->add_option("--prefix", args->prefixes,
                        "Only streams starting with this prefix (repeatable; default: every stream)");
    command->add_option("--name", args->name, "A name for the key, e.g. who or what uses it");
    add_keys_file_option(command, *args);
    command->callback([&context, args] { context.run = [&context, args] { return run_add(context, *args); }; });
  }
  {
    CLI::App* command = add_command(*keys, "list",
                                    "Print one line per key: {\"id\",\"name\",\"role\",\"prefixes\",\"createdAt\"} "
                                    "(never secrets).");
    add_keys_file_option(command, *args);
    command->callback([&context, args] { context.run = [&context, args] { return run_list(context, *args); }; });
  }
  {
    CLI::App* command = add_command(*keys, "revoke", "Delete the key with this id and print {\"revoked\": id}.");
    command->add_option("id", args->id, "The key's id (the 12 hex digits after evk_)")->required();
    add_keys_file_option(command, *args);
    command->callback([&context, args] { context.run = [&context, args] { return run_revoke(context, *args); }; });
  }
}

}  // namespace evsrc::cli
