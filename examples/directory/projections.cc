#include "directory/projections.h"

#include <cctype>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "directory/events.h"

namespace evsrc::directory {
namespace {

std::string table(std::string_view base, std::string_view suffix) { return std::string(base) + std::string(suffix); }

// The id part of "user-<id>" / "group-<id>".
std::string stream_id(std::string_view stream) {
  const auto dash = stream.find('-');
  return dash == std::string_view::npos ? std::string() : std::string(stream.substr(dash + 1));
}

class UsersProjection final : public SqliteProjection {
 public:
  explicit UsersProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kUsersProjection; }
  std::uint32_t version() const override { return version_; }
  EventFilter filter() const override {
    EventFilter filter;
    filter.category = kUserCategory;
    return filter;
  }

  Status create_tables(SqliteDatabase& db, std::string_view suffix) override {
    const std::string users = table("users", suffix);
    std::string sql = "CREATE TABLE " + users +
                      " (id TEXT PRIMARY KEY, name TEXT NOT NULL, username TEXT NOT NULL, email TEXT NOT NULL,"
                      " api_key TEXT NOT NULL DEFAULT '', revision INTEGER NOT NULL";
    if (with_email_domain()) sql += ", email_domain TEXT NOT NULL";
    sql += ");\nCREATE INDEX " + users + "_by_username ON " + users + " (username);\nCREATE INDEX " + users +
           "_by_email ON " + users + " (email);\n";
    if (with_email_domain()) sql += "CREATE INDEX " + users + "_by_email_domain ON " + users + " (email_domain);\n";
    return db.exec(sql);
  }

  Status apply(SqliteDatabase& db, const RecordedEvent& recorded, std::string_view suffix) override {
    Result<UserEvent> event = user_codec().decode(recorded);
    if (!event.ok()) return event.status();
    const std::string users = table("users", suffix);
    const std::string id = stream_id(recorded.stream);
    const auto revision = static_cast<std::int64_t>(recorded.revision);
    return std::visit(
        [&](const auto& e) -> Status {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, UserCreated>) {
            if (with_email_domain()) {
              return db.execute("INSERT OR REPLACE INTO " + users +
                                    " (id, name, username, email, api_key, revision, email_domain)"
                                    " VALUES (?, ?, ?, ?, '', ?, ?)",
                                {id, e.name, e.username, e.email, revision, email_domain(e.email)});
            }
            return db.execute("INSERT OR REPLACE INTO " + users +
                                  " (id, name, username, email, api_key, revision) VALUES (?, ?, ?, ?, '', ?)",
                              {id, e.name, e.username, e.email, revision});
          } else if constexpr (std::is_same_v<E, NameSet>) {
            return set_column(db, users, "name", e.name, id, revision);
          } else if constexpr (std::is_same_v<E, UsernameSet>) {
            return set_column(db, users, "username", e.username, id, revision);
          } else if constexpr (std::is_same_v<E, EmailSet>) {
            if (with_email_domain()) {
              return db.execute("UPDATE " + users + " SET email = ?, email_domain = ?, revision = ? WHERE id = ?",
                                {e.email, email_domain(e.email), revision, id});
            }
            return set_column(db, users, "email", e.email, id, revision);
          } else if constexpr (std::is_same_v<E, ApiKeySet>) {
            return set_column(db, users, "api_key", e.apiKey, id, revision);
          } else {
            static_assert(std::is_same_v<E, UserDeleted>);
            return db.execute("DELETE FROM " + users + " WHERE id = ?", {id});
          }
        },
        *event);
  }

  Status drop_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("users", suffix) + ";");
  }

 private:
  bool with_email_domain() const { return version_ >= kUsersWithEmailDomain; }

  static Status set_column(SqliteDatabase& db, const std::string& users, std::string_view column,
                           const std::string& value, const std::string& id, std::int64_t revision) {
    return db.execute("UPDATE " + users + " SET " + std::string(column) + " = ?, revision = ? WHERE id = ?",
                      {value, revision, id});
  }

  std::uint32_t version_;
};

class GroupMembersProjection final : public SqliteProjection {
 public:
  explicit GroupMembersProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kGroupMembersProjection; }
  std::uint32_t version() const override { return version_; }
  EventFilter filter() const override {
    EventFilter filter;
    filter.category = kGroupCategory;
    return filter;
  }

  Status create_tables(SqliteDatabase& db, std::string_view suffix) override {
    const std::string groups = table("groups", suffix);
    const std::string members = table("group_members", suffix);
    return db.exec("CREATE TABLE " + groups +
                   " (id TEXT PRIMARY KEY, name TEXT NOT NULL, revision INTEGER NOT NULL);\n"
                   "CREATE TABLE " +
                   members +
                   " (group_id TEXT NOT NULL, user_id TEXT NOT NULL, position INTEGER NOT NULL,"
                   " PRIMARY KEY (group_id, user_id));\n");
  }

  Status apply(SqliteDatabase& db, const RecordedEvent& recorded, std::string_view suffix) override {
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
            return db.execute("INSERT OR REPLACE INTO " + groups + " (id, name, revision) VALUES (?, ?, ?)",
                              {group_id, e.name, revision});
          } else if constexpr (std::is_same_v<E, MemberAdded>) {
            return db.execute("INSERT OR IGNORE INTO " + members + " (group_id, user_id, position) VALUES (?, ?, ?)",
                              {group_id, e.userId, position});
          } else {
            static_assert(std::is_same_v<E, MemberRemoved>);
            return db.execute("DELETE FROM " + members + " WHERE group_id = ? AND user_id = ?", {group_id, e.userId});
          }
        },
        *event);
    if (!applied.ok()) return applied;
    return db.execute("UPDATE " + groups + " SET revision = ? WHERE id = ?", {revision, group_id});
  }

  Status drop_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("group_members", suffix) + ";\nDROP TABLE IF EXISTS " +
                   table("groups", suffix) + ";");
  }

 private:
  std::uint32_t version_;
};

class AuditLogProjection final : public SqliteProjection {
 public:
  explicit AuditLogProjection(std::uint32_t version) : version_(version) {}
  std::string name() const override { return kAuditLogProjection; }
  std::uint32_t version() const override { return version_; }

  Status create_tables(SqliteDatabase& db, std::string_view suffix) override {
    const std::string audit = table("audit_log", suffix);
    return db.exec("CREATE TABLE " + audit +
                   " (position INTEGER PRIMARY KEY, stream TEXT NOT NULL, revision INTEGER NOT NULL,"
                   " type TEXT NOT NULL, recorded_at TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL);\n"
                   "CREATE INDEX " +
                   audit + "_by_stream ON " + audit + " (stream, revision);\n");
  }

  Status apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view suffix) override {
    const std::string_view category = stream_category(event.stream);
    if (category != kUserCategory && category != kGroupCategory && category != kUsernameCategory) return Status();
    return db.execute(
        "INSERT OR REPLACE INTO " + table("audit_log", suffix) +
            " (position, stream, revision, type, recorded_at, actor, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {static_cast<std::int64_t>(event.position), event.stream, static_cast<std::int64_t>(event.revision), event.type,
         format_rfc3339(event.recorded_at), actor_of(event.metadata), event.data});
  }

  Status drop_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS " + table("audit_log", suffix) + ";");
  }

 private:
  std::uint32_t version_;
};

}  // namespace

std::unique_ptr<SqliteProjection> make_directory_projection(std::string_view name, std::uint32_t version) {
  if (name == kUsersProjection) return std::make_unique<UsersProjection>(version);
  if (name == kGroupMembersProjection) return std::make_unique<GroupMembersProjection>(version);
  return std::make_unique<AuditLogProjection>(version);
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
