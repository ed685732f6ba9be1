// The DynamoDB backend's tables: creation (migrate), the head item, and
// deletion.
#pragma once

#include "dynamodb/dynamo_client.h"
#include "evsrc/dynamodb.h"

namespace evsrc::dynamo {

// Table names without the prefix, in creation order.
inline constexpr const char* kTables[] = {"meta", "events", "log", "streams", "ids", "snapshots", "checkpoints"};

// Creates the missing tables, waits until every one is ACTIVE, creates the
// head item and records kDynamoSchemaVersion. corruption when a newer layout
// is recorded.
Result<DynamoMigrationResult> migrate(DynamoClient& client, const DynamoUri& uri);

// The layout version recorded in the meta table; 0 when there is none (no
// tables, or a migration that has not finished). It is recorded last, after
// every table is ACTIVE: a current version means the tables are ready.
Result<int> recorded_version(DynamoClient& client, const DynamoUri& uri);

// Deletes every table of the store (missing ones are skipped).
Status delete_tables(DynamoClient& client, const DynamoUri& uri);

// The head item: the last position (nullopt when the store is empty), the
// last recorded-at (microseconds) and the totals.
struct Head {
  std::optional<Position> last_position;
  std::int64_t last_recorded_at = 0;
  std::uint64_t events = 0;
  std::uint64_t streams = 0;
  std::uint64_t bytes = 0;
};
Json head_key();
Result<Head> read_head(DynamoClient& client, const DynamoUri& uri);

}  // namespace evsrc::dynamo
