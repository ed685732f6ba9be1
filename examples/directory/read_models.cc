#include "directory/read_models.h"

#include <string>
#include <utility>

#include "directory/projections.h"
#include "evsrc/postgres_read_model.h"

namespace evsrc::directory {
namespace {

// The serving build of `projection`, read inside the caller's transaction.
Result<SqliteBuild> serving_build(SqlSession& db, std::string_view projection) {
  Result<std::vector<SqliteBuild>> builds = list_read_model_builds(db, projection);
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

std::vector<UserRow> user_rows(const SqlRows& rows) {
  std::vector<UserRow> users;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    UserRow row;
    row.id = rows.text(i, 0);
    row.name = rows.text(i, 1);
    row.username = rows.text(i, 2);
    row.email = rows.text(i, 3);
    row.apiKey = rows.text(i, 4);
    row.revision = static_cast<StreamRevision>(rows.integer(i, 5));
    if (rows.rows[i].size() > 6) row.email_domain = rows.text(i, 6);
    users.push_back(std::move(row));
  }
  return users;
}

bool is_postgres_uri(std::string_view location) {
  return location.starts_with("postgres://") || location.starts_with("postgresql://");
}

// The registered version of each projection: the serving one (version 1 on a
// new database), then any rebuild an earlier run left pending, which resumes.
Status add_projections(SqlReadModels& models, const std::function<Status(std::string_view, std::uint32_t)>& add) {
  for (std::string_view name : kDirectoryProjections) {
    Result<std::vector<SqliteBuild>> builds = models.builds(name);
    if (!builds.ok()) return builds.status();
    std::optional<std::uint32_t> serving;
    std::vector<std::uint32_t> pending;
    for (const SqliteBuild& build : *builds) {
      if (build.role == SqliteBuildRole::serving) serving = build.version;
      if (build.role == SqliteBuildRole::building) pending.push_back(build.version);
    }
    if (Status added = add(name, serving.value_or(1)); !added.ok()) return added;
    for (std::uint32_t version : pending) {
      if (Status added = add(name, version); !added.ok()) return added;
    }
  }
  return Status();
}

template <class Models, class MakeProjection>
void bind_projections(Models* models, MakeProjection make, std::function<Status(std::string_view, std::uint32_t)>& add,
                      std::function<Status(std::string_view, std::uint32_t)>& rebuild) {
  add = [models, make](std::string_view name, std::uint32_t version) { return models->add(make(name, version)); };
  rebuild = [models, make](std::string_view name, std::uint32_t version) {
    return models->rebuild(name, make(name, version));
  };
}

Result<DirectoryReadModels::Database> open_sqlite(EventStore& store, std::string path) {
  SqliteReadModelsOptions options;
  options.database_path = std::move(path);
  Result<std::unique_ptr<SqliteReadModels>> opened = SqliteReadModels::open(store, std::move(options));
  if (!opened.ok()) return opened.status();
  SqliteReadModels* models = opened->get();
  DirectoryReadModels::Database database;
  bind_projections(models, make_directory_projection, database.add, database.rebuild);
  database.connect = [models]() -> Result<std::unique_ptr<SqlSession>> {
    Result<SqliteDatabase> db = models->connect();
    if (!db.ok()) return db.status();
    return std::unique_ptr<SqlSession>(std::make_unique<SqliteSqlSession>(std::move(*db)));
  };
  database.models = std::move(*opened);
  return database;
}

Result<DirectoryReadModels::Database> open_postgres(EventStore& store, std::string uri) {
  PostgresReadModelsOptions options;
  options.uri = std::move(uri);
  Result<std::unique_ptr<PostgresReadModels>> opened = PostgresReadModels::open(store, std::move(options));
  if (!opened.ok()) return opened.status();
  PostgresReadModels* models = opened->get();
  DirectoryReadModels::Database database;
  bind_projections(models, make_directory_postgres_projection, database.add, database.rebuild);
  database.connect = [models]() -> Result<std::unique_ptr<SqlSession>> {
    Result<std::unique_ptr<PostgresSqlSession>> session = models->connect();
    if (!session.ok()) return session.status();
    return std::unique_ptr<SqlSession>(std::move(*session));
  };
  database.models = std::move(*opened);
  return database;
}

}  // namespace

Result<std::unique_ptr<DirectoryReadModels>> DirectoryReadModels::open(EventStore& store, std::string location) {
  Result<Database> database =
      is_postgres_uri(location) ? open_postgres(store, std::move(location)) : open_sqlite(store, std::move(location));
  if (!database.ok()) return database.status();
  if (Status added = add_projections(*database->models, database->add); !added.ok()) return added;
  return std::unique_ptr<DirectoryReadModels>(new DirectoryReadModels(std::move(*database)));
}

Result<std::unique_ptr<SqlSession>> open_read_model_session(const std::string& location) {
  if (is_postgres_uri(location)) {
    Result<PostgresUri> uri = parse_postgres_uri(location);
    if (!uri.ok()) return uri.status();
    PostgresConnectOptions connect;
    connect.schema = uri->schema;
    connect.statement_timeout = uri->statement_timeout;
    Result<std::unique_ptr<PostgresSqlSession>> session = PostgresSqlSession::connect(uri->libpq_uri, connect);
    if (!session.ok()) return session.status();
    return std::unique_ptr<SqlSession>(std::move(*session));
  }
  Result<SqliteDatabase> db = SqliteDatabase::open(location);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqlSession>(std::make_unique<SqliteSqlSession>(std::move(*db)));
}

Status DirectoryReadModels::catch_up() { return models_.catch_up(); }
void DirectoryReadModels::start() { models_.start(); }
void DirectoryReadModels::stop() { models_.stop(); }

Status DirectoryReadModels::wait_for(Position position, std::chrono::milliseconds timeout) {
  return models_.wait_for(position, timeout);
}

Result<std::unique_ptr<SqlSession>> DirectoryReadModels::read_session() {
  Result<std::unique_ptr<SqlSession>> session = database_.connect();
  if (!session.ok()) return session.status();
  if (Status begun = (*session)->begin_read(); !begun.ok()) return begun;
  return session;
}

Result<std::vector<UserRow>> DirectoryReadModels::query_users(std::string_view where, std::string_view value) {
  Result<std::unique_ptr<SqlSession>> db = read_session();
  if (!db.ok()) return db.status();
  Result<SqliteBuild> users = serving_build(**db, kUsersProjection);
  if (!users.ok()) return users.status();
  Result<SqlRows> rows = (*db)->query("SELECT " + user_columns(*users, "") + " FROM users" + users->table_suffix +
                                          " WHERE " + std::string(where) + " = $1 ORDER BY id",
                                      {value});
  if (!rows.ok()) return rows.status();
  return user_rows(*rows);
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
  Result<std::unique_ptr<SqlSession>> db = read_session();
  if (!db.ok()) return db.status();
  Result<SqliteBuild> users = serving_build(**db, kUsersProjection);
  if (!users.ok()) return users.status();
  Result<SqliteBuild> groups = serving_build(**db, kGroupMembersProjection);
  if (!groups.ok()) return groups.status();

  Result<SqlRows> group = (*db)->query("SELECT 1 FROM groups" + groups->table_suffix + " WHERE id = $1", {group_id});
  if (!group.ok()) return group.status();
  if (group->empty()) return Status::not_found("group " + std::string(group_id) + " does not exist");

  Result<SqlRows> rows = (*db)->query("SELECT " + user_columns(*users, "u") + " FROM group_members" +
                                          groups->table_suffix + " m JOIN users" + users->table_suffix +
                                          " u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY m.position",
                                      {group_id});
  if (!rows.ok()) return rows.status();
  return user_rows(*rows);
}

Result<std::vector<AuditEntry>> DirectoryReadModels::audit_log(std::string_view stream) {
  Result<std::unique_ptr<SqlSession>> db = read_session();
  if (!db.ok()) return db.status();
  Result<SqliteBuild> audit = serving_build(**db, kAuditLogProjection);
  if (!audit.ok()) return audit.status();
  Result<SqlRows> rows =
      (*db)->query("SELECT position, stream, revision, type, recorded_at, actor, data FROM audit_log" +
                       audit->table_suffix + " WHERE $1 = '' OR stream = $1 ORDER BY position",
                   {stream});
  if (!rows.ok()) return rows.status();
  std::vector<AuditEntry> entries;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    entries.push_back(AuditEntry{static_cast<Position>(rows->integer(i, 0)), rows->text(i, 1),
                                 static_cast<StreamRevision>(rows->integer(i, 2)), rows->text(i, 3), rows->text(i, 4),
                                 rows->text(i, 5), rows->text(i, 6)});
  }
  return entries;
}

Result<std::vector<RebuildStep>> DirectoryReadModels::rebuild() {
  std::vector<RebuildStep> steps;
  for (std::string_view name : kDirectoryProjections) {
    Result<std::uint32_t> serving = serving_version(name);
    if (!serving.ok()) return serving.status();
    Result<std::string> suffix = models_.serving_suffix(name);
    if (!suffix.ok()) return suffix.status();
    const std::uint32_t next = *serving + 1;
    if (Status started = database_.rebuild(name, next); !started.ok()) return started;
    steps.push_back(RebuildStep{std::string(name), *serving, next, *suffix, "", std::nullopt});
  }
  // Fills the new builds from position 0 and switches each that caught up.
  if (Status caught_up = models_.catch_up(); !caught_up.ok()) return caught_up;
  for (RebuildStep& step : steps) {
    Result<std::uint32_t> serving = serving_version(step.projection);
    if (!serving.ok()) return serving.status();
    if (*serving != step.to_version) {
      return Status(ErrorCode::io_error, "the rebuild of " + step.projection + " did not switch to version " +
                                             std::to_string(step.to_version));
    }
    Result<std::vector<SqliteBuild>> builds = models_.builds(step.projection);
    if (!builds.ok()) return builds.status();
    for (const SqliteBuild& build : *builds) {
      if (build.role != SqliteBuildRole::serving) continue;
      step.new_suffix = build.table_suffix;
      step.position = build.position;
    }
  }
  return steps;
}

Result<std::vector<SqliteBuild>> DirectoryReadModels::builds() { return models_.builds(); }

Result<std::uint32_t> DirectoryReadModels::serving_version(std::string_view projection) {
  Result<std::optional<std::uint32_t>> version = models_.serving_version(projection);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    return Status::not_found("no build of the " + std::string(projection) + " read model serves");
  }
  return **version;
}

}  // namespace evsrc::directory
