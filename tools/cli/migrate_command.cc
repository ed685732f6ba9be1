// evsrc migrate: creates or upgrades the schema of a postgres:// store to the
// version this build of evsrc uses (kPostgresSchemaVersion), or creates the
// tables of a dynamodb:// store (kDynamoSchemaVersion). The PostgreSQL
// backend serialises migrations with an advisory lock; DynamoDB's CreateTable
// lets one of several concurrent creators win; so both are safe to run while
// the store is in use and from several deployments at once. file: and
// memory: stores have nothing to migrate.
#include <algorithm>
#include <string>
#include <string_view>

#include "cli/cli_common.h"
#include "evsrc/dynamodb.h"
#include "evsrc/postgres.h"
#include "evsrc/postgres_connection.h"

namespace evsrc::cli {
namespace {

// `uri` with its password (user:PASSWORD@ or a password= parameter) replaced
// by "***", for output.
std::string without_password(std::string_view uri) {
  std::string shown(uri);
  const std::size_t authority = shown.find("://");
  if (authority != std::string::npos) {
    const std::size_t start = authority + 3;
    const std::size_t end = std::min(shown.find_first_of("/?", start), shown.size());
    const std::size_t at = shown.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const std::size_t colon = shown.find(':', start);
      if (colon < at) shown.replace(colon + 1, at - colon - 1, "***");
    }
  }
  const std::size_t query = shown.find('?');
  if (query == std::string::npos) return shown;
  constexpr std::string_view kPasswordKey = "password=";
  for (std::size_t pair = query + 1; pair < shown.size();) {
    std::size_t end = std::min(shown.find('&', pair), shown.size());
    if (shown.compare(pair, kPasswordKey.size(), kPasswordKey) == 0) {
      const std::size_t value = pair + kPasswordKey.size();
      shown.replace(value, end - value, "***");
      end = value + 3;
    }
    pair = end + 1;
  }
  return shown;
}

// {"store","tables","versionBefore","versionAfter","migrated","tablesCreated"}
int run_dynamodb_migrate(const std::string& uri) {
  const std::size_t query = uri.find('?');
  const std::string tables = uri.substr(0, query).substr(uri.find('/', std::string_view("dynamodb://").size()) + 1);
  Result<DynamoMigrationResult> migrated = migrate_dynamodb_tables(uri);
  if (!migrated.ok()) return report_error(migrated.status(), Json{{"store", uri}});
  Json line = Json::object();
  line["store"] = uri;
  line["tables"] = tables + "_*";
  line["versionBefore"] = migrated->version_before;
  line["versionAfter"] = migrated->version_after;
  line["migrated"] = migrated->version_before != migrated->version_after || migrated->tables_created > 0;
  line["tablesCreated"] = migrated->tables_created;
  print_json_line(line);
  return flush_stdout() ? kExitOk : kExitError;
}

int run_migrate(const CommandContext& context) {
  if (!context.server_url.empty()) {
    return report_error(Status::invalid_argument(
        "evsrc migrate works on a postgres:// or dynamodb:// store given with --store, not with --server"));
  }
  const std::string& uri = context.store_uri;
  if (uri.starts_with("dynamodb://")) return run_dynamodb_migrate(uri);
  if (!uri.starts_with("postgres://") && !uri.starts_with("postgresql://")) {
    return report_error(Status::invalid_argument("evsrc migrate applies to postgres:// and dynamodb:// stores only; '" +
                                                 uri + "' has no schema to migrate (file: and memory: stores need none)"));
  }
  Result<PostgresUri> parsed = parse_postgres_uri(uri);
  if (!parsed.ok()) return report_error(parsed.status(), Json{{"store", without_password(uri)}});
  Result<MigrationResult> migrated = migrate_postgres_schema(uri);
  if (!migrated.ok()) {
    return report_error(migrated.status(), Json{{"store", without_password(uri)}, {"schema", parsed->schema}});
  }
  Json line = Json::object();
  line["store"] = without_password(uri);
  line["schema"] = parsed->schema;
  line["versionBefore"] = migrated->version_before;
  line["versionAfter"] = migrated->version_after;
  line["migrated"] = migrated->version_before != migrated->version_after;
  print_json_line(line);
  return flush_stdout() ? kExitOk : kExitError;
}

}  // namespace

void register_migrate_command(CLI::App& app, CommandContext& context) {
  CLI::App* command = add_command(
      app, "migrate",
      "Create or upgrade the PostgreSQL schema of the postgres:// store given with --store (its schema= parameter, "
      "default evsrc) to the version this evsrc uses, or create the DynamoDB tables (<prefix>_events, _log, "
      "_streams, _ids, _meta, _snapshots, _checkpoints) of a dynamodb://<region>/<prefix> store and wait until they "
      "are ACTIVE. Safe while the store is in use and when run from several places at once; a current schema is "
      "left as it is. Prints {\"store\",\"schema\",\"versionBefore\",\"versionAfter\",\"migrated\"} "
      "(dynamodb: \"tables\" and \"tablesCreated\" instead of \"schema\"; version 0: there was no schema). Exit 1 "
      "when the server cannot be reached or the schema is newer than this evsrc (upgrade evsrc); exit 2 for a store "
      "that is neither postgres:// nor dynamodb://.");
  command->callback([&context] { context.run = [&context] { return run_migrate(context); }; });
}

}  // namespace evsrc::cli
