#include "directory/projections.h"

#include <cctype>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "directory/events.h"

namespace evsrc::directory {
namespace {

std::string table(std::string_view base, std::string_view suffix) { return std::string(base) + std::string(suffix); }

// Column types that behave alike in both databases: ids and names compare
// byte by byte (SQLite's BINARY; PostgreSQL's "C", not the database's
// locale), so ORDER BY gives the same output; BIGINT positions (SQLite keeps
// INTEGER PRIMARY KEY, its rowid).
std::string text_type(const SqlSession& db) {
  return db.dialect() == SqlSession::Dialect::postgresql ? "TEXT COLLATE \"C\"" : "TEXT";
}
std::string position_key_type(const SqlSession& db) {
  return db.dialect() == SqlSession::Dialect::postgresql ? "BIGINT" : "INTEGER";
}

Status run(SqlSession& db, std::string_view sql, std::initializer_list<SqlValue> params) {
  return db.execute(sql, params).status();
}

// The id part of "user-<id>" / "group-<id>".
std::string stream_id(std::string_view stream) {
  const auto dash = stream.find('-');
  return dash == std::string_view::npos ? std::string() : std::string(stream.substr(dash + 1));
}

class UsersProjection final : public DirectoryProjection {
 public:
  explicit UsersProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kUsersProjection; }
  std::uint32_t version() const override { return version_; }
  EventFilter filter() const override {
    EventFilter filter;
    filter.category = kUserCategory;
    return filter;
  }

  Status create_tables(SqlSession& db, std::string_view suffix) override {
    const std::string users = table("users", suffix);
    const std::string text = text_type(db);
    std::string sql = "CREATE TABLE " + users + " (id " + text + " PRIMARY KEY, name " + text + " NOT NULL, username " +
                      text + " NOT NULL, email " + text + " NOT NULL, api_key " + text +
                      " NOT NULL DEFAULT '', revision BIGINT NOT NULL";
    if (with_email_domain()) sql += ", email_domain " + text + " NOT NULL";
    sql += ");\nCREATE INDEX " + users + "_by_username ON " + users + " (username);\nCREATE INDEX " + users +
           "_by_email ON " + users + " (email);\n";
    if (with_email_domain()) sql += "CREATE INDEX " + users + "_by_email_domain ON " + users + " (email_domain);\n";
    return db.exec(sql);
  }

  Status apply(SqlSession& db, const RecordedEvent& recorded, std::string_view suffix) override {
    Result<UserEvent> event = user_codec().decode(recorded);
    if (!event.ok()) return event.status();
    const std::string users = table("users", suffix);
    const std::string id = stream_id(recorded.stream);
    const auto revision = static_cast<std::int64_t>(recorded.revision);
    return std::visit(
        [&](const auto& e) -> Status {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, UserCreated>) {
            // A user created again replaces the row (api_key back to '').
            const std::string replace =
                " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, username = EXCLUDED.username,"
                " email = EXCLUDED.email, api_key = EXCLUDED.api_key, revision = EXCLUDED.revision";
            if (with_email_domain()) {
              return run(db,
                         "INSERT INTO " + users +
                             " (id, name, username, email, api_key, revision, email_domain)"
                             " VALUES ($1, $2, $3, $4, '', $5, $6)" +
                             replace + ", email_domain = EXCLUDED.email_domain",
                         {id, e.name, e.username, e.email, revision, email_domain(e.email)});
            }
            return run(db,
                       "INSERT INTO " + users +
                           " (id, name, username, email, api_key, revision) VALUES ($1, $2, $3, $4, '', $5)" + replace,
                       {id, e.name, e.username, e.email, revision});
          } else if constexpr (std::is_same_v<E, NameSet>) {
            return set_column(db, users, "name", e.name, id, revision);
          } else if constexpr (std::is_same_v<E, UsernameSet>) {
            return set_column(db, users, "username", e.username, id, revision);
          } else if constexpr (std::is_same_v<E, EmailSet>) {
            if (with_email_domain()) {
              return run(db, "UPDATE " + users + " SET email = $1, email_domain = $2, revision = $3 WHERE id = $4",
                         {e.email, email_domain(e.email), revision, id});
            }
            return set_column(db, users, "email", e.email, id, revision);
          } else if constexpr (std::is_same_v<E, ApiKeySet>) {
            return set_column(db, users, "api_key", e.apiKey, id, revision);
          } else {
            static_assert(std::is_same_v<E, UserDeleted>);
            return run(db, "DELETE FROM " + users + " WHERE id = $1", {id});
          }
        },
        *event);
  }

  Status drop_tables(SqlSession& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("users", suffix) + ";");
  }

 private:
  bool with_email_domain() const { return version_ >= kUsersWithEmailDomain; }

  static Status set_column(SqlSession& db, const std::string& users, std::string_view column,
                           const std::string& value, const std::string& id, std::int64_t revision) {
    return run(db, "UPDATE " + users + " SET " + std::string(column) + " = $1, revision = $2 WHERE id = $3",
               {value, revision, id});
  }

  std::uint32_t version_;
};

class GroupMembersProjection final : public DirectoryProjection {
 public:
  explicit GroupMembersProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kGroupMembersProjection; }
  std::uint32_t version() const override { return version_; }
  EventFilter filter() const override {
    EventFilter filter;
    filter.category = kGroupCategory;
    return filter;
  }

  Status create_tables(SqlSession& db, std::string_view suffix) override {
    const std::string groups = table("groups", suffix);
    const std::string members = table("group_members", suffix);
    const std::string text = text_type(db);
    return db.exec("CREATE TABLE " + groups + " (id " + text + " PRIMARY KEY, name " + text +
                   " NOT NULL, revision BIGINT NOT NULL);\nCREATE TABLE " + members + " (group_id " + text +
                   " NOT NULL, user_id " + text +
                   " NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (group_id, user_id));\n");
  }

  Status apply(SqlSession& db, const RecordedEvent& recorded, std::string_view suffix) override {
    Result<GroupEvent> event = group_codec().decode(recorded);
    if (!event.ok()) return event.status();
    const std::string groups = table("groups", suffix);
    const std::string members = table("group_members", suffix);
    const std::string group_id = stream_id(recorded.stream);
    const auto revision = static_cast<std::int64_t>(recorded.revision);
    const auto position = static_cast<std::int64_t>(recorded.position);
    Status applied = std::visit(
        [&](const auto& e) -> Status {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, GroupCreated>) {
            return run(db,
                       "INSERT INTO " + groups +
                           " (id, name, revision) VALUES ($1, $2, $3)"
                           " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, revision = EXCLUDED.revision",
                       {group_id, e.name, revision});
          } else if constexpr (std::is_same_v<E, MemberAdded>) {
            return run(db,
                       "INSERT INTO " + members +
                           " (group_id, user_id, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                       {group_id, e.userId, position});
          } else {
            static_assert(std::is_same_v<E, MemberRemoved>);
            return run(db, "DELETE FROM " + members + " WHERE group_id = $1 AND user_id = $2", {group_id, e.userId});
          }
        },
        *event);
    if (!applied.ok()) return applied;
    return run(db, "UPDATE " + groups + " SET revision = $1 WHERE id = $2", {revision, group_id});
  }

  Status drop_tables(SqlSession& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("group_members", suffix) + ";\nDROP TABLE IF EXISTS " +
                   table("groups", suffix) + ";");
  }

 private:
  std::uint32_t version_;
};

class AuditLogProjection final : public DirectoryProjection {
 public:
  explicit AuditLogProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kAuditLogProjection; }
  std::uint32_t version() const override { return version_; }

  Status create_tables(SqlSession& db, std::string_view suffix) override {
    const std::string audit = table("audit_log", suffix);
    const std::string text = text_type(db);
    return db.exec("CREATE TABLE " + audit + " (position " + position_key_type(db) + " PRIMARY KEY, stream " + text +
                   " NOT NULL, revision BIGINT NOT NULL, type " + text + " NOT NULL, recorded_at " + text +
                   " NOT NULL, actor " + text + " NOT NULL, data " + text + " NOT NULL);\nCREATE INDEX " + audit +
                   "_by_stream ON " + audit + " (stream, revision);\n");
  }

  Status apply(SqlSession& db, const RecordedEvent& event, std::string_view suffix) override {
    const std::string_view category = stream_category(event.stream);
    if (category != kUserCategory && category != kGroupCategory && category != kUsernameCategory) return Status();
    // An event's position never changes what it holds: a second insert is a no-op.
    return run(
        db,
        "INSERT INTO " + table("audit_log", suffix) +
            " (position, stream, revision, type, recorded_at, actor, data) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (position) DO NOTHING",
        {static_cast<std::int64_t>(event.position), event.stream, static_cast<std::int64_t>(event.revision), event.type,
         format_rfc3339(event.recorded_at), actor_of(event.metadata), event.data});
  }

  Status drop_tables(SqlSession& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("audit_log", suffix) + ";");
  }

 private:
  std::uint32_t version_;
};

// A directory projection as the projection type of one database: `Base`
// (SqliteProjection / PostgresProjection) over `Connection`, seen through a
// `Session` view.
template <class Base, class Connection, class Session>
class DatabaseProjection final : public Base {
 public:
  explicit DatabaseProjection(std::unique_ptr<DirectoryProjection> projection) : projection_(std::move(projection)) {}
  std::string name() const override { return projection_->name(); }
  std::uint32_t version() const override { return projection_->version(); }
  EventFilter filter() const override { return projection_->filter(); }
  Status create_tables(Connection& db, std::string_view suffix) override {
    Session session(db);
    return projection_->create_tables(session, suffix);
  }
  Status apply(Connection& db, const RecordedEvent& event, std::string_view suffix) override {
    Session session(db);
    return projection_->apply(session, event, suffix);
  }
  Status drop_tables(Connection& db, std::string_view suffix) override {
    Session session(db);
    return projection_->drop_tables(session, suffix);
  }

 private:
  std::unique_ptr<DirectoryProjection> projection_;
};

}  // namespace

std::unique_ptr<DirectoryProjection> make_portable_directory_projection(std::string_view name,
                                                                       std::uint32_t version) {
  if (name == kUsersProjection) return std::make_unique<UsersProjection>(version);
  if (name == kGroupMembersProjection) return std::make_unique<GroupMembersProjection>(version);
  return std::make_unique<AuditLogProjection>(version);
}

std::unique_ptr<SqliteProjection> make_directory_projection(std::string_view name, std::uint32_t version) {
  return std::make_unique<DatabaseProjection<SqliteProjection, SqliteDatabase, SqliteSqlSession>>(
      make_portable_directory_projection(name, version));
}

std::unique_ptr<PostgresProjection> make_directory_postgres_projection(std::string_view name, std::uint32_t version) {
  return std::make_unique<DatabaseProjection<PostgresProjection, PostgresConnection, PostgresSqlSession>>(
      make_portable_directory_projection(name, version));
}

std::vector<std::string> directory_tables(std::string_view name, std::string_view table_suffix) {
  if (name == kUsersProjection) return {table("users", table_suffix)};
  if (name == kGroupMembersProjection) return {table("groups", table_suffix), table("group_members", table_suffix)};
  return {table("audit_log", table_suffix)};
}

std::string email_domain(std::string_view email) {
  const auto at = email.rfind('@');
  std::string domain(at == std::string_view::npos ? std::string_view() : email.substr(at + 1));
  for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return domain;
}

}  // namespace evsrc::directory
