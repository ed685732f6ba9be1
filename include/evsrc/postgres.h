// The PostgreSQL backend (DESIGN §6): the store contract on a database
// server, so several processes (evsrcd instances, workers) share one store.
//
// URI: a libpq connection URI, "postgres://user:pass@host:port/db?..." or
// "postgresql://...", with these parameters of evsrc's own (removed before the
// rest goes to libpq; every other parameter, e.g. sslmode, is libpq's):
//   schema=NAME              tables live in this schema (default "evsrc");
//                            created when absent
//   pool=N                   connections for reads (default 8)
//   statement_timeout_ms=N   server-side limit of one statement (default 30000)
//   connect_timeout_s=N      (libpq's connect_timeout; default 10)
//
// Positions without gaps: every commit that writes events takes a row lock on
// the store's single head row (evsrc_head) after it has checked its
// expectations and holds it until it commits, so positions are assigned in
// commit order and a reader following $all by position never sees a higher
// position before a lower one commits. See docs/architecture.md for the cost
// and why group commit pays it back.
//
// Thread-safety: as EventStore. One store object may be shared by many
// threads; several store objects (processes) may share one database.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"
#include "evsrc/options.h"
#include "evsrc/status.h"

namespace evsrc {

// The schema version this build of evsrc creates and understands.
inline constexpr int kPostgresSchemaVersion = 1;

struct PostgresStoreOptions {
  StoreOptions store;
  // Overrides of the URI's parameters (0 / empty: the URI's or the default).
  std::size_t read_pool_size = 0;
  // Testing only: called on the writer's connection after a group's rows are
  // written and before its COMMIT, with the head lock held. The no-skip test
  // uses it to hold transactions open for random times.
  std::function<void()> before_commit_for_testing;
};

// Opens (and migrates to kPostgresSchemaVersion) the store at `uri`.
// invalid_argument for a malformed URI; io_error when the server cannot be
// reached (with libpq's message); corruption when the schema is newer than
// this build understands.
Result<std::unique_ptr<EventStore>> open_postgres_store(std::string_view uri, const PostgresStoreOptions& options = {});

// Creates or migrates the schema at `uri` to kPostgresSchemaVersion (what
// `evsrc migrate` runs). Safe to run concurrently from several processes (an
// advisory lock serialises them). Returns the version before and after.
struct MigrationResult {
  int version_before = 0;  // 0: no schema
  int version_after = 0;
};
Result<MigrationResult> migrate_postgres_schema(std::string_view uri);

}  // namespace evsrc
