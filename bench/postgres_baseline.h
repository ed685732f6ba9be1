// The baseline of `evsrc bench-postgres`: the usual SQL design of an event
// table, written the way an application would without evsrc.
//
//   baseline_events(position bigserial primary key, stream, revision, id uuid
//                   unique, type, data bytea, metadata bytea, recorded_at,
//                   unique (stream, revision))
//
// An append is one transaction: BEGIN; SELECT max(revision) of the stream;
// one INSERT per event; COMMIT. Statements are prepared once per connection,
// as drivers do (and as the evsrc backend does for its hot statements).
// Optimistic concurrency comes from the unique (stream, revision) key. There
// is no no-skip guarantee: a bigserial position is taken at INSERT, not at
// COMMIT, so a reader following positions can see position p+1 commit before
// p and never go back for p.
//
// Thread-safety: none; one BaselineConnection per client thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres_connection.h"

namespace evsrc::bench {

class BaselineConnection {
 public:
  // Connects to `uri` (a postgres:// URI with evsrc's parameters) with
  // `schema` first on the search path (created when absent).
  static Result<BaselineConnection> connect(const std::string& uri, const std::string& schema);

  // Creates baseline_events (fails when it exists).
  Status create_table();

  // Appends `events` at the end of `stream` in one transaction.
  Status append(const std::string& stream, std::span<const EventData> events);

  // Up to `limit` events with position > `after`, materialised as the store's
  // RecordedEvent as read_all does (content_type left empty: no such column).
  Result<std::vector<RecordedEvent>> read_after(std::int64_t after, std::uint64_t limit);

 private:
  explicit BaselineConnection(PostgresConnection connection) : connection_(std::move(connection)) {}
  Status append_in_transaction(const std::string& stream, std::span<const EventData> events);

  PostgresConnection connection_;
};

}  // namespace evsrc::bench
