// evsrc: the command-line tool over an event store (DESIGN §5).
//
// Output is one JSON object per line on stdout; errors are one JSON line on
// stderr. Exit codes: 0 ok, 1 error, 2 bad input, 3 wrong expected revision.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/cli_common.h"

int main(int argc, char** argv) {
  using namespace evsrc::cli;
  CommandContext context;
  CLI::App app{
      "evsrc: an event store on the command line.\n"
      "Prints one JSON object per line; errors go to stderr as a JSON line.\n"
      "Exit codes: 0 ok, 1 error, 2 bad input, 3 wrong expected revision.",
      "evsrc"};
  app.add_option("--store", context.store_uri,
                 "Store URI: file:<directory> (the embedded engine, created when absent), memory:, "
                 "postgres://user@host/db?schema=NAME (PostgreSQL) or dynamodb://REGION/TABLE_PREFIX[?endpoint=URL] "
                 "(DynamoDB; see evsrc migrate)")
      ->capture_default_str();
  app.add_option("--server", context.server_url,
                 "Run against an evsrcd server (http://HOST:PORT) instead of --store; same output")
      ->envname("EVSRC_SERVER");
  app.add_option("--key", context.api_key, "API key for --server, sent as a bearer token")->envname("EVSRC_API_KEY");
  app.require_subcommand(1);

  register_append_command(app, context);
  register_read_commands(app, context);
  register_import_export_commands(app, context);
  register_admin_commands(app, context);
  register_verify_command(app, context);
  register_keys_command(app, context);
  register_migrate_command(app, context);
  register_forward_command(app, context);
  evsrc::bench::register_bench_command(app, context);
  evsrc::bench::register_toolkit_bench_command(app, context);
  evsrc::bench::register_server_bench_command(app, context);
  evsrc::bench::register_postgres_bench_command(app, context);
  evsrc::bench::register_dynamodb_bench_command(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    const std::vector<std::string> unparsed = app.remaining();
    if (app.get_subcommands().empty() && !unparsed.empty()) {
      return report_error(
          evsrc::Status::invalid_argument("unknown sub-command '" + unparsed.front() + "' (run with --help)"));
    }
    return report_error(evsrc::Status::invalid_argument(std::string(e.what()) + " (run with --help)"));
  }
  if (!context.run) return report_error(evsrc::Status::invalid_argument("no sub-command given (run with --help)"));
  if (!context.server_url.empty()) {
    // These work on a data directory (or the local file system), not on a
    // store behind a server.
    for (const CLI::App* command : app.get_subcommands()) {
      const std::string& name = command->get_name();
      if (name == "verify" || name == "bench" || name == "bench-toolkit") {
        return report_error(evsrc::Status::invalid_argument(
            "evsrc " + name + " works on a local data directory (--store), not with --server"));
      }
    }
  }
  try {
    return context.run();
  } catch (const std::exception& e) {
    return report_error(evsrc::Status(evsrc::ErrorCode::io_error, std::string("unexpected failure: ") + e.what()));
  }
}
