// Shared plumbing of the evsrc sub-commands: the global options, exit codes,
// JSON-line output and error reporting.
//
// Every sub-command registers itself on the CLI11 app with a register_*()
// function and stores the work to do in CommandContext::run; main() runs it
// after parsing, so parse errors and command errors share one exit path.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "evsrc/event_store.h"

namespace evsrc::cli {

using Json = nlohmann::ordered_json;

// Exit codes: part of the CLI contract, scripts rely on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // I/O, corruption, not found, ...
inline constexpr int kExitBadInput = 2;  // invalid_argument, too_large, bad JSON, bad flags
inline constexpr int kExitWrongExpectedRevision = 3;

struct CommandContext {
  // Global --store, accepted before or after the sub-command.
  std::string store_uri = "file:./evsrc-data";
  // Global --server URL and --key: run against an evsrcd server instead.
  std::string server_url;
  std::string api_key;
  // Set by the parsed sub-command's callback; returns the exit code.
  std::function<int()> run;
};

// Exit code for a failed call's status.
int exit_code_for(const Status& status);

// Prints {"error":"<code name>","message":...} (+ "actual" for a wrong
// expected revision, + the fields of `extra`) to stderr as one line and
// returns the exit code for `status`.
int report_error(const Status& status, const Json& extra = Json::object());

// Opens the store named by --store, or the server's store when --server is
// given; on failure reports the error and sets `exit_code`.
std::unique_ptr<EventStore> open_cli_store(const CommandContext& context, const StoreOptions& options, int& exit_code);

// Closes the store; a failing close turns a successful exit into an error.
int close_cli_store(EventStore& store, int exit_code);

// Serialises `value` as one line (invalid UTF-8 is replaced, never thrown on).
std::string to_json_line(const Json& value);

// Writes one JSON line to stdout (buffered; flush with flush_stdout()).
void print_json_line(const Json& value);

// Flushes stdout; false when writing failed (e.g. closed pipe).
bool flush_stdout();

// Registers a sub-command with the behaviour every evsrc sub-command shares
// (global options accepted after it).
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description);

// Register functions, one per sub-command file.
void register_append_command(CLI::App& app, CommandContext& context);
void register_read_commands(CLI::App& app, CommandContext& context);  // read, read-all, tail
void register_import_export_commands(CLI::App& app, CommandContext& context);
void register_admin_commands(CLI::App& app, CommandContext& context);  // streams, stats
void register_verify_command(CLI::App& app, CommandContext& context);
void register_keys_command(CLI::App& app, CommandContext& context);  // keys add|list|revoke
void register_migrate_command(CLI::App& app, CommandContext& context);  // the schema of a postgres:// store
void register_forward_command(CLI::App& app, CommandContext& context);  // evsrc forward kinesis

}  // namespace evsrc::cli

namespace evsrc::bench {
// Defined in bench/bench_command.cc.
void register_bench_command(CLI::App& app, cli::CommandContext& context);
void register_toolkit_bench_command(CLI::App& app, cli::CommandContext& context);
// Defined in bench/server_bench.cc: evsrc bench-server.
void register_server_bench_command(CLI::App& app, cli::CommandContext& context);
// Defined in bench/postgres_bench.cc: evsrc bench-postgres.
void register_postgres_bench_command(CLI::App& app, cli::CommandContext& context);
void register_dynamodb_bench_command(CLI::App& app, cli::CommandContext& context);
}  // namespace evsrc::bench
