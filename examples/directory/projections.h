// The directory's read-side projections, written once in portable SQL against
// SqlSession (read_model_sql.h) and run in SQLite (sqlite_read_model.h) or
// PostgreSQL (postgres_read_model.h).
//
//   "users"          users<suffix>(id PRIMARY KEY, name, username, email,
//                    api_key, revision) — one row per live user (a deleted
//                    user's row is removed); indexed by username and email.
//                    Version 2 adds the derived column email_domain (the
//                    talk's `users_new`): lower-cased part after the '@'.
//   "group_members"  groups<suffix>(id PRIMARY KEY, name, revision) and
//                    group_members<suffix>(group_id, user_id, position):
//                    position = where the membership was added, for ordering.
//   "audit_log"      audit_log<suffix>(position PRIMARY KEY, stream, revision,
//                    type, recorded_at, actor, data): every directory event.
//
// Each projection is built for a given version (the rebuild builds version
// N + 1 of the serving N); the users table has its v2 shape from version 2 on,
// the others keep one shape for every version.
//
// Thread-safety: the projections keep no state of their own (see
// SqliteProjection).
//
// Tables in PostgreSQL: text columns use the "C" collation so that ORDER BY
// sorts bytes as SQLite does, and the output is the same in both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/postgres_read_model.h"
#include "evsrc/read_model_sql.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc::directory {

inline constexpr char kUsersProjection[] = "users";
inline constexpr char kGroupMembersProjection[] = "group_members";
inline constexpr char kAuditLogProjection[] = "audit_log";

// The first version of the users projection with the email_domain column.
inline constexpr std::uint32_t kUsersWithEmailDomain = 2;

// The names above, in the order they are set up.
inline constexpr std::string_view kDirectoryProjections[] = {kUsersProjection, kGroupMembersProjection,
                                                             kAuditLogProjection};

// A directory projection over any SQL database ($N placeholders, portable
// types and upserts).
using DirectoryProjection = TableProjection<SqlSession>;

// The projection `name` built at `version`: portable, and as the projection
// of each database. REQUIRES: name is one of the kDirectoryProjections;
// version >= 1.
std::unique_ptr<DirectoryProjection> make_portable_directory_projection(std::string_view name, std::uint32_t version);
std::unique_ptr<SqliteProjection> make_directory_projection(std::string_view name, std::uint32_t version);
std::unique_ptr<PostgresProjection> make_directory_postgres_projection(std::string_view name, std::uint32_t version);

// The tables of build `table_suffix` of projection `name`, e.g. {"users_v2"}.
std::vector<std::string> directory_tables(std::string_view name, std::string_view table_suffix);

// "example.COM" of "homer@example.COM" lower-cased: the users v2 derived column.
std::string email_domain(std::string_view email);

}  // namespace evsrc::directory
