#include "directory/cli.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "directory/cli_output.h"
#include "directory/commands.h"
#include "directory/kinesis_consumer.h"
#include "directory/rfc3339.h"
#include "directory/session.h"

namespace evsrc::directory {
namespace {

struct GlobalOptions {
  std::string store_uri = "file:./directory-data";
  std::string actor;
  std::string read_models;  // empty: beside the store (session.h)
  bool json = false;
};

// The parsed positionals and options of the chosen command.
struct Arguments {
  std::string user_id;
  std::string group_id;
  std::string name;
  std::string username;
  std::string email;
  std::string api_key;
  std::optional<std::string> at_time;
  std::optional<std::string> at_revision;  // parsed by parse_revision
  std::string revision;
  KinesisConsumerArguments kinesis;
};

// What the chosen command does once the session is open.
using Command = std::function<Status(Session&, Printer&)>;

std::string default_actor() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? user : "cli";
}

// A decimal stream revision; CLI11's own conversion would wrap "-1" around.
Result<StreamRevision> parse_revision(std::string_view what, const std::string& text) {
  StreamRevision revision = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), revision);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return Status::invalid_argument(std::string(what) + " must be a revision number (0, 1, ...), not '" + text + "'");
  }
  return revision;
}

std::string unchanged_or(const CommandResult& command, const std::string& done) {
  return command.position ? done : "nothing to change";
}

Status print_user_result(Printer& printer, const Result<UserCommandResult>& result, const std::string& done) {
  if (!result.ok()) return result.status();
  printer.user(result->user, result->revision, unchanged_or(result->command, done));
  return Status();
}

Status print_group_result(Printer& printer, const Result<GroupCommandResult>& result, const std::string& done) {
  if (!result.ok()) return result.status();
  printer.group(result->group, result->revision, unchanged_or(result->command, done));
  return Status();
}

// ---- queries -------------------------------------------------------------------------

Status run_get(Session& session, Printer& printer, const Arguments& args) {
  if (Status check = validate_id("user", args.user_id); !check.ok()) return check;
  if (!args.at_revision && !args.at_time) {
    Result<DirectoryReadModels*> models = session.caught_up_read_models();
    if (!models.ok()) return models.status();
    Result<UserRow> row = (*models)->user_by_id(args.user_id);
    if (!row.ok()) return row.status();
    printer.user(*row);
    return Status();
  }
  Result<VersionedState<UserState>> loaded = Status::invalid_argument("no point in time given");
  std::string when;
  if (args.at_revision) {
    Result<StreamRevision> revision = parse_revision("--at-revision", *args.at_revision);
    if (!revision.ok()) return revision.status();
    loaded = session.service().user_at(args.user_id, *revision);
    when = "revision " + std::to_string(*revision);
  } else {
    const std::optional<Timestamp> time = parse_rfc3339(*args.at_time);
    if (!time) {
      return Status::invalid_argument("--at-time must be an RFC 3339 time such as 2026-01-31T12:00:00Z, not '" +
                                      *args.at_time + "'");
    }
    loaded = session.service().user_at(args.user_id, *time);
    when = format_rfc3339(*time);
  }
  if (!loaded.ok()) return loaded.status();
  if (loaded->state.deleted) return Status::not_found("user " + args.user_id + " was deleted at " + when);
  printer.user(loaded->state, *loaded->revision, "as of " + when + ":");
  return Status();
}

Status run_by_username(Session& session, Printer& printer, const Arguments& args) {
  if (Status check = validate_username(args.username); !check.ok()) return check;
  Result<DirectoryReadModels*> models = session.caught_up_read_models();
  if (!models.ok()) return models.status();
  Result<UserRow> row = (*models)->user_by_username(args.username);
  if (!row.ok()) return row.status();
  printer.user(*row);
  return Status();
}

Status run_by_email(Session& session, Printer& printer, const Arguments& args) {
  if (Status check = validate_email(args.email); !check.ok()) return check;
  Result<DirectoryReadModels*> models = session.caught_up_read_models();
  if (!models.ok()) return models.status();
  Result<std::vector<UserRow>> rows = (*models)->users_by_email(args.email);
  if (!rows.ok()) return rows.status();
  for (const UserRow& row : *rows) printer.user(row);
  return Status();
}

Status run_members(Session& session, Printer& printer, const Arguments& args) {
  if (Status check = validate_id("group", args.group_id); !check.ok()) return check;
  Result<DirectoryReadModels*> models = session.caught_up_read_models();
  if (!models.ok()) return models.status();
  Result<std::vector<UserRow>> rows = (*models)->members(args.group_id);
  if (!rows.ok()) return rows.status();
  printer.text("group " + args.group_id + ": " + std::to_string(rows->size()) + " member(s)");
  for (const UserRow& row : *rows) printer.user(row);
  return Status();
}

Status run_revert(Session& session, Printer& printer, const Arguments& args) {
  Result<StreamRevision> revision = parse_revision("REVISION", args.revision);
  if (!revision.ok()) return revision.status();
  return print_user_result(printer, session.service().revert_user(args.user_id, *revision),
                           "reverted user " + args.user_id + " to revision " + std::to_string(*revision));
}

Status run_history(Session& session, Printer& printer, const Arguments& args) {
  Result<std::vector<HistoryEntry<UserState>>> history = session.service().user_history(args.user_id);
  if (!history.ok()) return history.status();
  for (const HistoryEntry<UserState>& entry : *history) printer.history_entry(entry);
  return Status();
}

Status run_rebuild(Session& session, Printer& printer) {
  Result<DirectoryReadModels*> models = session.caught_up_read_models();
  if (!models.ok()) return models.status();
  Result<std::vector<RebuildStep>> steps = (*models)->rebuild();
  if (!steps.ok()) return steps.status();
  for (const RebuildStep& step : *steps) printer.rebuild_step(step);
  return Status();
}

// ---- registration -----------------------------------------------------------------------

class CommandRegistry {
 public:
  CommandRegistry(CLI::App& app, Arguments& args, Command& chosen) : app_(app), args_(args), chosen_(chosen) {}

  CLI::App* add(const std::string& name, const std::string& description, Command command) {
    CLI::App* sub = app_.add_subcommand(name, description);
    sub->fallthrough();  // global options after the command
    sub->callback([this, command = std::move(command)] { chosen_ = command; });
    return sub;
  }

  void register_all() {
    Arguments& a = args_;
    CLI::App* sub = add("create-user", "Create a user, claiming its (unique) username", [&a](Session& s, Printer& p) {
      return print_user_result(p, s.service().create_user(NewUser{a.user_id, a.name, a.username, a.email}),
                               "created user " + a.user_id);
    });
    user_id(sub);
    sub->add_option("NAME", a.name, "Full name, e.g. \"Homer Simpson\"")->required();
    sub->add_option("USERNAME", a.username, "Unique username: 1-64 of A-Z a-z 0-9 . _ -")->required();
    sub->add_option("EMAIL", a.email, "Email address")->required();

    sub = add("set-name", "Set a user's name", [&a](Session& s, Printer& p) {
      return print_user_result(p, s.service().set_name(a.user_id, a.name), "set the name of user " + a.user_id);
    });
    user_id(sub);
    sub->add_option("NAME", a.name, "Full name")->required();

    sub = add("set-username", "Set a user's username: claims the new one and releases the old one atomically",
              [&a](Session& s, Printer& p) {
                return print_user_result(p, s.service().set_username(a.user_id, a.username),
                                         "set the username of user " + a.user_id);
              });
    user_id(sub);
    sub->add_option("USERNAME", a.username, "Unique username")->required();

    sub = add("set-email", "Set a user's email", [&a](Session& s, Printer& p) {
      return print_user_result(p, s.service().set_email(a.user_id, a.email), "set the email of user " + a.user_id);
    });
    user_id(sub);
    sub->add_option("EMAIL", a.email, "Email address")->required();

    sub = add("set-api-key", "Set a user's API key", [&a](Session& s, Printer& p) {
      return print_user_result(p, s.service().set_api_key(a.user_id, a.api_key),
                               "set the API key of user " + a.user_id);
    });
    user_id(sub);
    sub->add_option("KEY", a.api_key, "API key: printable ASCII, no spaces")->required();

    sub = add("delete-user", "Delete a user and release its username (its history stays readable)",
              [&a](Session& s, Printer& p) {
                return print_user_result(p, s.service().delete_user(a.user_id), "deleted user " + a.user_id);
              });
    user_id(sub);

    sub = add("get", "Show a user: from the read model, or from the event log as it was at a revision or a time",
              [&a](Session& s, Printer& p) { return run_get(s, p, a); });
    user_id(sub);
    CLI::Option* at_revision =
        sub->add_option("--at-revision", a.at_revision, "The user after this revision of its stream");
    CLI::Option* at_time =
        sub->add_option("--at-time", a.at_time, "The user as of this RFC 3339 time (the store's commit times)");
    at_revision->excludes(at_time);

    sub = add("by-username", "Find the user with a username",
              [&a](Session& s, Printer& p) { return run_by_username(s, p, a); });
    sub->add_option("USERNAME", a.username, "Username")->required();

    sub = add("by-email", "Find the users with an email (one per line)",
              [&a](Session& s, Printer& p) { return run_by_email(s, p, a); });
    sub->add_option("EMAIL", a.email, "Email address")->required();

    sub = add("history", "A user's audit trail: every event, who and when, and the user after it",
              [&a](Session& s, Printer& p) { return run_history(s, p, a); });
    user_id(sub);

    sub = add("revert", "Set a user back to its state at a revision (appends events; history stays)",
              [&a](Session& s, Printer& p) { return run_revert(s, p, a); });
    user_id(sub);
    sub->add_option("REVISION", a.revision, "Revision of the user's stream to go back to")->required();

    sub = add("create-group", "Create a group", [&a](Session& s, Printer& p) {
      return print_group_result(p, s.service().create_group(a.group_id, a.name), "created group " + a.group_id);
    });
    group_id(sub);
    sub->add_option("NAME", a.name, "Group name")->required();

    sub = add("add-member", "Add a user to a group", [&a](Session& s, Printer& p) {
      return print_group_result(p, s.service().add_member(a.group_id, a.user_id),
                                "added user " + a.user_id + " to group " + a.group_id);
    });
    group_id(sub);
    user_id(sub);

    sub = add("remove-member", "Remove a user from a group", [&a](Session& s, Printer& p) {
      return print_group_result(p, s.service().remove_member(a.group_id, a.user_id),
                                "removed user " + a.user_id + " from group " + a.group_id);
    });
    group_id(sub);
    user_id(sub);

    sub = add("members", "The members of a group (one user per line)",
              [&a](Session& s, Printer& p) { return run_members(s, p, a); });
    group_id(sub);

    add("rebuild",
        "Build the next version of the read models from the event log beside the serving one, switch, drop the old",
        [](Session& s, Printer& p) { return run_rebuild(s, p); });

    sub = add("consume-kinesis",
              "Keep the read models' *_kinesis tables in sync from a Kinesis stream that `evsrc forward kinesis` "
              "fills (exactly once; needs --read-models); one JSON progress line per batch; until SIGINT/SIGTERM",
              [&a](Session& s, Printer& p) { return run_consume_kinesis(s, p, a.kinesis); });
    sub->add_option("--stream", a.kinesis.stream, "Kinesis stream name")->required();
    sub->add_option("--endpoint", a.kinesis.endpoint,
                    "Kinesis endpoint URL (e.g. http://127.0.0.1:4567 for kinesalite); default AWS's of --region");
    sub->add_option("--region", a.kinesis.region, "AWS region")->capture_default_str();
    sub->add_option("--name", a.kinesis.name, "Consumer name (its progress rows in the database)")
        ->capture_default_str();
    sub->add_option("--limit", a.kinesis.limit, "Records per GetRecords request (1..10000)")
        ->capture_default_str()
        ->check(CLI::Range(1, 10000));
    sub->add_option("--poll-ms", a.kinesis.poll_ms, "Pause after a round with no records, in milliseconds")
        ->capture_default_str();
    sub->add_flag("--once", a.kinesis.once, "Read every shard to its end, then exit");
  }

 private:
  void user_id(CLI::App* sub) { sub->add_option("ID", args_.user_id, "User id, e.g. 1")->required(); }
  void group_id(CLI::App* sub) { sub->add_option("GID", args_.group_id, "Group id, e.g. family")->required(); }

  CLI::App& app_;
  Arguments& args_;
  Command& chosen_;
};

int run_parsed(const GlobalOptions& options, const Command& command) {
  Printer printer(options.json);
  Result<std::unique_ptr<Session>> session = Session::open(options.store_uri, options.actor, options.read_models);
  if (!session.ok()) return printer.error(session.status());
  Status status = command(**session, printer);
  Status closed = (*session)->close();
  if (status.ok()) status = closed;
  if (!status.ok()) return printer.error(status);
  if (!printer.flush()) return printer.error(Status::io_error("cannot write to stdout"));
  return kExitOk;
}

}  // namespace

int run_directory_cli(int argc, char** argv) {
  GlobalOptions options;
  options.actor = default_actor();
  Arguments args;
  Command command;
  CLI::App app{
      "evsrc-directory: a user directory (users, unique usernames, groups) on an evsrc event store.\n"
      "Prints people-readable text, or one JSON object per line with --json.\n"
      "Exit codes: 0 ok, 1 error, 2 bad input, 3 rejected (username taken, conflict, deleted user), 4 not found.",
      "evsrc-directory"};
  app.add_option("--store", options.store_uri, "Store URI: file:<directory>, memory:, postgres://... or dynamodb://...")
      ->capture_default_str();
  app.add_option("--actor", options.actor, "Who is acting, recorded with every event (default $USER, else cli)");
  app.add_option("--read-models", options.read_models,
                 "Where the read models live: a SQLite file, or postgres://user@host:port/db?schema=NAME "
                 "(default: read-models.sqlite in a file: store, a temporary file for memory:)");
  app.add_flag("--json", options.json, "One JSON object per line");
  app.require_subcommand(1);
  CommandRegistry registry(app, args, command);
  registry.register_all();

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
      return Printer(options.json)
          .error(Status::invalid_argument("unknown command '" + unparsed.front() + "' (run with --help)"));
    }
    return Printer(options.json).error(Status::invalid_argument(std::string(e.what()) + " (run with --help)"));
  }
  if (!command) return Printer(options.json).error(Status::invalid_argument("no command given (run with --help)"));
  try {
    return run_parsed(options, command);
  } catch (const std::exception& e) {
    return Printer(options.json).error(Status(ErrorCode::io_error, std::string("unexpected failure: ") + e.what()));
  }
}

}  // namespace evsrc::directory
