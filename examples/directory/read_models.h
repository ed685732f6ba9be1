// DirectoryReadModels: the directory's query side — the projections of
// projections.h run into one SQLite database or one PostgreSQL schema, and
// the queries over them (the same SQL in both).
//
// open() registers every projection at the version that serves (version 1 the
// first time) and resumes any rebuild left pending. The owner then either
// runs catch_up() (the one-shot CLI: everything committed so far, on the
// calling thread) or start() + wait_for(position) (a live service: a query
// after a command waits for the command's position: read-your-writes).
//
// Queries read the serving build of each projection inside one read
// transaction (one snapshot), so a rebuild switching meanwhile is never half-seen.
// Deleted users are absent from every query (not_found).
//
// rebuild(): builds version N + 1 of every projection from position 0 beside
// the serving version N, switches each when it has caught up, and drops the
// old tables. The users model from version 2 on has the derived email_domain.
//
// Thread-safety: queries may run from several threads (each opens its own
// connection); open/catch_up/start/stop/rebuild belong to one owner thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/read_model_sql.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc::directory {

// A row of the serving users model.
struct UserRow {
  std::string id;
  std::string name;
  std::string username;
  std::string email;
  std::string apiKey;
  StreamRevision revision = 0;
  // Only from users version 2 on.
  std::optional<std::string> email_domain;
};

struct AuditEntry {
  Position position = 0;
  std::string stream;
  StreamRevision revision = 0;
  std::string type;
  std::string recorded_at;  // RFC 3339
  std::string actor;
  std::string data;  // the event's JSON
};

// What rebuild() did to one projection.
struct RebuildStep {
  std::string projection;
  std::uint32_t from_version = 0;
  std::uint32_t to_version = 0;
  std::string old_suffix;            // tables that served before (now dropped)
  std::string new_suffix;            // tables that serve now
  std::optional<Position> position;  // the new build's checkpoint
};

class DirectoryReadModels {
 public:
  // `location`: a postgres:// or postgresql:// URI (its schema= parameter
  // names the schema, default "evsrc"), else the path of the SQLite file
  // (created when absent).
  // REQUIRES: `store` outlives the returned object.
  static Result<std::unique_ptr<DirectoryReadModels>> open(EventStore& store, std::string location);

  Status catch_up();
  void start();
  void stop();
  // Read-your-writes: waits until every serving model has applied `position`.
  Status wait_for(Position position, std::chrono::milliseconds timeout);

  // not_found when no live user matches.
  Result<UserRow> user_by_id(std::string_view user_id);
  Result<UserRow> user_by_username(std::string_view username);
  // Emails are not unique: every live user with `email`, by id.
  Result<std::vector<UserRow>> users_by_email(std::string_view email);
  // The live members of a group in the order they were added; not_found when
  // the group does not exist (an empty vector when it has no members).
  Result<std::vector<UserRow>> members(std::string_view group_id);
  // The audit log of one stream ("" = every directory stream), oldest first.
  Result<std::vector<AuditEntry>> audit_log(std::string_view stream = {});

  // Builds the next version of every projection and switches to it.
  Result<std::vector<RebuildStep>> rebuild();

  // The registry: every build of every projection.
  Result<std::vector<SqliteBuild>> builds();
  // The version of `projection` that serves queries.
  Result<std::uint32_t> serving_version(std::string_view projection);

  // What depends on the database (its projection types and connections),
  // filled by open().
  struct Database {
    std::unique_ptr<SqlReadModels> models;
    std::function<Status(std::string_view name, std::uint32_t version)> add;
    std::function<Status(std::string_view name, std::uint32_t version)> rebuild;
    std::function<Result<std::unique_ptr<SqlSession>>()> connect;
  };

 private:
  explicit DirectoryReadModels(Database database) : database_(std::move(database)), models_(*database_.models) {}
  // A new session in a read transaction.
  Result<std::unique_ptr<SqlSession>> read_session();
  Result<std::vector<UserRow>> query_users(std::string_view where, std::string_view value);

  Database database_;
  SqlReadModels& models_;
};

// A new connection to the read models' database at `location` (as open()
// takes it: a postgres:// URI whose schema, created when absent, comes first
// on the search_path, else a SQLite file, created when absent), with no table
// of its own: for programs that keep tables beside the registry's builds
// (e.g. a Kinesis consumer's, kinesis_consumer.h).
Result<std::unique_ptr<SqlSession>> open_read_model_session(const std::string& location);

}  // namespace evsrc::directory
