// The DynamoDB backend (DESIGN §6, the seed's engine): the store contract on
// Amazon DynamoDB, spoken over its HTTP JSON API with SigV4-signed requests
// (libcurl + OpenSSL; no AWS SDK).
//
// URI: dynamodb://<region>/<table-prefix>[?endpoint=<url>&...]
//   region        signing region, and the AWS endpoint when `endpoint` is absent
//                 (https://dynamodb.<region>.amazonaws.com)
//   table-prefix  [A-Za-z0-9_.-]{1,200}: the store's tables are
//                 <prefix>_events, _log, _streams, _ids, _meta, _snapshots and
//                 _checkpoints
//   endpoint=URL  another server, e.g. http://127.0.0.1:8000 (DynamoDB Local)
//   poll_ms=N     how often a live subscription asks for commits of other
//                 processes (default 100; commits of this store object wake
//                 its subscribers at once)
// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
// else ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE).
//
// Positions without gaps: every write of events is ONE TransactWriteItems
// that also updates the store's head item under the condition that it still
// holds the position the writer read, so positions are assigned and become
// visible in commit order. See docs/architecture.md ("The DynamoDB backend")
// for the table layout, the cost per append and the limits.
//
// Thread-safety: as EventStore. One store object may be shared by many
// threads; several store objects (processes) may share one table prefix.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "evsrc/checkpoint_store.h"
#include "evsrc/event_store.h"
#include "evsrc/options.h"
#include "evsrc/status.h"

namespace evsrc {

// The table layout version this build of evsrc creates and understands.
inline constexpr int kDynamoSchemaVersion = 1;

struct DynamoStoreOptions {
  StoreOptions store;
};

// Opens the store at `uri`, creating its tables when absent (as
// migrate_dynamodb_tables). invalid_argument for a malformed URI or missing
// credentials; io_error when the endpoint cannot be reached; corruption when
// the tables are of a newer layout than this build understands.
Result<std::unique_ptr<EventStore>> open_dynamodb_store(std::string_view uri, const DynamoStoreOptions& options = {});

// Creates the store's tables that are missing and waits until they are
// ACTIVE, then records the layout version (what `evsrc migrate` runs). Safe
// to run concurrently. Returns the version before (0: no tables) and after.
struct DynamoMigrationResult {
  int version_before = 0;
  int version_after = 0;
  int tables_created = 0;
};
Result<DynamoMigrationResult> migrate_dynamodb_tables(std::string_view uri);

// Deletes every table of the store at `uri` (the events with them). For tests
// and tear-down scripts; missing tables are skipped.
Status delete_dynamodb_tables(std::string_view uri);

// Checkpoints in the table <prefix>_checkpoints of the store at `uri`.
Result<std::unique_ptr<CheckpointStore>> open_dynamodb_checkpoints(std::string_view uri);

// Requests the DynamoDB client of stores opened in this process has sent
// (every attempt, retries included), for the benchmarks' cost figures.
std::uint64_t dynamodb_requests_sent();

}  // namespace evsrc
