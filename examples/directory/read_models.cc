#include "directory/read_models.h"

#include <string>
#include <utility>

#include "directory/projections.h"

namespace evsrc::directory {
namespace {

// The serving build of `projection`, read inside the caller's transaction.
Result<SqliteBuild> serving_build(SqliteDatabase& db, std::string_view projection) {
  Result<std::vector<SqliteBuild>> builds = list_sqlite_builds(db, projection);
  if (!builds.ok()) return builds.status();
  for (SqliteBuild& build : *builds) {
    if (build.role == SqliteBuildRole::serving) return std::move(build);
  }
  return Status::not_found("no build of the " + std::string(projection) + " read model serves");
}

std::string user_columns(const SqliteBuild& users, std::string_view alias) {
  const std::string prefix = alias.empty() ? std::string() : std::string(alias) + ".";
  std::string columns = prefix + "id, " + prefix + "name, " + prefix + "username, " + prefix + "email, " + prefix +
                        "api_key, " + prefix + "revision";
  if (users.version >= kUsersWithEmailDomain) columns += ", " + prefix + "email_domain";
  return columns;
}

UserRow read_user_row(const SqliteStatement& statement) {
  UserRow row;
  row.id = statement.column_text(0);
  row.name = statement.column_text(1);
  row.username = statement.column_text(2);
  row.email = statement.column_text(3);
  row.apiKey = statement.column_text(4);
  row.revision = static_cast<StreamRevision>(statement.column_int64(5));
  if (statement.column_count() > 6) row.email_domain = statement.column_text(6);
  return row;
}

Result<std::vector<UserRow>> collect_users(SqliteStatement& statement) {
  std::vector<UserRow> rows;
  while (true) {
    Result<bool> row = statement.step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rows.push_back(read_user_row(statement));
  }
  return rows;
}

}  // namespace

Result<std::unique_ptr<DirectoryReadModels>> DirectoryReadModels::open(EventStore& store, std::string database_path) {
  SqliteReadModelsOptions options;
  options.database_path = std::move(database_path);
  Result<std::unique_ptr<SqliteReadModels>> opened = SqliteReadModels::open(store, std::move(options));
  if (!opened.ok()) return opened.status();
  std::unique_ptr<SqliteReadModels> models = std::move(opened).value();
  for (std::string_view name : kDirectoryProjections) {
    Result<std::vector<SqliteBuild>> builds = models->builds(name);
    if (!builds.ok()) return builds.status();
    std::optional<std::uint32_t> serving;
    std::vector<std::uint32_t> pending;
    for (const SqliteBuild& build : *builds) {
      if (build.role == SqliteBuildRole::serving) serving = build.version;
      if (build.role == SqliteBuildRole::building) pending.push_back(build.version);
    }
    // The serving version first (version 1 on a new database), then any
    // rebuild an earlier run left pending, which resumes.
    if (Status added = models->add(make_directory_projection(name, serving.value_or(1))); !added.ok()) return added;
    for (std::uint32_t version : pending) {
      if (Status added = models->add(make_directory_projection(name, version)); !added.ok()) return added;
    }
  }
  return std::unique_ptr<DirectoryReadModels>(new DirectoryReadModels(std::move(models)));
}

Status DirectoryReadModels::catch_up() { return models_->catch_up(); }
void DirectoryReadModels::start() { models_->start(); }
void DirectoryReadModels::stop() { models_->stop(); }

Status DirectoryReadModels::wait_for(Position position, std::chrono::milliseconds timeout) {
  return models_->wait_for(position, timeout);
}

Result<std::vector<UserRow>> DirectoryReadModels::query_users(std::string_view where, std::string_view value) {
  Result<SqliteDatabase> db = models_->connect();
  if (!db.ok()) return db.status();
  SqliteReadTransaction transaction(*db);
  if (!transaction.status().ok()) return transaction.status();
  Result<SqliteBuild> users = serving_build(*db, kUsersProjection);
  if (!users.ok()) return users.status();
  Result<SqliteStatement> statement =
      db->prepare("SELECT " + user_columns(*users, "") + " FROM users" + users->table_suffix + " WHERE " +
                  std::string(where) + " = ? ORDER BY id");
  if (!statement.ok()) return statement.status();
  if (Status bound = statement->bind(1, value); !bound.ok()) return bound;
  return collect_users(*statement);
}

Result<UserRow> DirectoryReadModels::user_by_id(std::string_view user_id) {
  Result<std::vector<UserRow>> rows = query_users("id", user_id);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::not_found("user " + std::string(user_id) + " does not exist");
  return std::move(rows->front());
}

Result<UserRow> DirectoryReadModels::user_by_username(std::string_view username) {
  Result<std::vector<UserRow>> rows = query_users("username", username);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::not_found("no user has username " + std::string(username));
  return std::move(rows->front());
}

Result<std::vector<UserRow>> DirectoryReadModels::users_by_email(std::string_view email) {
  Result<std::vector<UserRow>> rows = query_users("email", email);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::not_found("no user has email " + std::string(email));
  return rows;
}

Result<std::vector<UserRow>> DirectoryReadModels::members(std::string_view group_id) {
  Result<SqliteDatabase> db = models_->connect();
  if (!db.ok()) return db.status();
  SqliteReadTransaction transaction(*db);
  if (!transaction.status().ok()) return transaction.status();
  Result<SqliteBuild> users = serving_build(*db, kUsersProjection);
  if (!users.ok()) return users.status();
  Result<SqliteBuild> groups = serving_build(*db, kGroupMembersProjection);
  if (!groups.ok()) return groups.status();

  Result<SqliteStatement> group = db->prepare("SELECT 1 FROM groups" + groups->table_suffix + " WHERE id = ?");
  if (!group.ok()) return group.status();
  if (Status bound = group->bind(1, group_id); !bound.ok()) return bound;
  Result<bool> found = group->step();
  if (!found.ok()) return found.status();
  if (!*found) return Status::not_found("group " + std::string(group_id) + " does not exist");

  Result<SqliteStatement> statement = db->prepare(
      "SELECT " + user_columns(*users, "u") + " FROM group_members" + groups->table_suffix + " m JOIN users" +
      users->table_suffix + " u ON u.id = m.user_id WHERE m.group_id = ?" + " ORDER BY m.position");
  if (!statement.ok()) return statement.status();
  if (Status bound = statement->bind(1, group_id); !bound.ok()) return bound;
  return collect_users(*statement);
}

Result<std::vector<AuditEntry>> DirectoryReadModels::audit_log(std::string_view stream) {
  Result<SqliteDatabase> db = models_->connect();
  if (!db.ok()) return db.status();
  SqliteReadTransaction transaction(*db);
  if (!transaction.status().ok()) return transaction.status();
  Result<SqliteBuild> audit = serving_build(*db, kAuditLogProjection);
  if (!audit.ok()) return audit.status();
  Result<SqliteStatement> statement =
      db->prepare("SELECT position, stream, revision, type, recorded_at, actor, data FROM audit_log" +
                  audit->table_suffix + " WHERE ? = '' OR stream = ? ORDER BY position");
  if (!statement.ok()) return statement.status();
  if (Status bound = statement->bind_all({stream, stream}); !bound.ok()) return bound;
  std::vector<AuditEntry> entries;
  while (true) {
    Result<bool> row = statement->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    entries.push_back(AuditEntry{static_cast<Position>(statement->column_int64(0)), statement->column_text(1),
                                 static_cast<StreamRevision>(statement->column_int64(2)), statement->column_text(3),
                                 statement->column_text(4), statement->column_text(5), statement->column_text(6)});
  }
  return entries;
}

Result<std::vector<RebuildStep>> DirectoryReadModels::rebuild() {
  std::vector<RebuildStep> steps;
  for (std::string_view name : kDirectoryProjections) {
    Result<std::uint32_t> serving = serving_version(name);
    if (!serving.ok()) return serving.status();
    Result<std::string> suffix = models_->serving_suffix(name);
    if (!suffix.ok()) return suffix.status();
    const std::uint32_t next = *serving + 1;
    if (Status started = models_->rebuild(name, make_directory_projection(name, next)); !started.ok()) return started;
    steps.push_back(RebuildStep{std::string(name), *serving, next, *suffix, "", std::nullopt});
  }
  // Fills the new builds from position 0 and switches each that caught up.
  if (Status caught_up = models_->catch_up(); !caught_up.ok()) return caught_up;
  for (RebuildStep& step : steps) {
    Result<std::uint32_t> serving = serving_version(step.projection);
    if (!serving.ok()) return serving.status();
    if (*serving != step.to_version) {
      return Status(ErrorCode::io_error, "the rebuild of " + step.projection + " did not switch to version " +
                                             std::to_string(step.to_version));
    }
    Result<std::vector<SqliteBuild>> builds = models_->builds(step.projection);
    if (!builds.ok()) return builds.status();
    for (const SqliteBuild& build : *builds) {
      if (build.role != SqliteBuildRole::serving) continue;
      step.new_suffix = build.table_suffix;
      step.position = build.position;
    }
  }
  return steps;
}

Result<std::vector<SqliteBuild>> DirectoryReadModels::builds() { return models_->builds(); }

Result<std::uint32_t> DirectoryReadModels::serving_version(std::string_view projection) {
  Result<std::optional<std::uint32_t>> version = models_->serving_version(projection);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    return Status::not_found("no build of the " + std::string(projection) + " read model serves");
  }
  return **version;
}

}  // namespace evsrc::directory
