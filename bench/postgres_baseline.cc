#include "bench/postgres_baseline.h"

#include <array>
#include <chrono>
#include <string_view>

namespace evsrc::bench {
namespace {

// Binary result values: int8 and timestamptz are 8 big-endian bytes.
std::int64_t big_endian_int64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return static_cast<std::int64_t>(value);
}

// timestamptz counts microseconds from 2000-01-01 00:00 UTC.
constexpr std::int64_t kPostgresEpochUnixMicros = 946'684'800'000'000;

}  // namespace

Result<BaselineConnection> BaselineConnection::connect(const std::string& uri, const std::string& schema) {
  auto parsed = parse_postgres_uri(uri);
  if (!parsed.ok()) return parsed.status();
  PostgresConnectOptions options;
  options.schema = schema;
  options.statement_timeout = parsed->statement_timeout;
  auto connection = PostgresConnection::connect(parsed->libpq_uri, options);
  if (!connection.ok()) return connection.status();
  return BaselineConnection(std::move(connection).value());
}

Status BaselineConnection::create_table() {
  return connection_.exec(
      "CREATE TABLE baseline_events ("
      " position bigserial PRIMARY KEY,"
      " stream text NOT NULL,"
      " revision bigint NOT NULL,"
      " id uuid NOT NULL UNIQUE,"
      " type text NOT NULL,"
      " data bytea NOT NULL,"
      " metadata bytea NOT NULL,"
      " recorded_at timestamptz NOT NULL DEFAULT now(),"
      " UNIQUE (stream, revision))");
}

Status BaselineConnection::append(const std::string& stream, std::span<const EventData> events) {
  if (Status status = connection_.begin(); !status.ok()) return status;
  Status status = append_in_transaction(stream, events);
  if (status.ok()) status = connection_.commit();
  if (!status.ok() && !connection_.broken()) (void)connection_.rollback();
  return status;
}

Status BaselineConnection::append_in_transaction(const std::string& stream, std::span<const EventData> events) {
  const PostgresValue stream_param[] = {stream};
  auto head = connection_.query_prepared("SELECT max(revision) FROM baseline_events WHERE stream = $1", stream_param,
                                         /*binary_results=*/false);
  if (!head.ok()) return head.status();
  std::int64_t revision = head->is_null(0, 0) ? 0 : head->integer(0, 0) + 1;
  for (const EventData& event : events) {
    const std::string id = (event.id.is_nil() ? Uuid::random() : event.id).to_string();
    const PostgresValue params[] = {
        stream, revision, id, event.type, PostgresValue::bytes(event.data), PostgresValue::bytes(event.metadata)};
    auto inserted = connection_.query_prepared(
        "INSERT INTO baseline_events (stream, revision, id, type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)",
        params, /*binary_results=*/false);
    if (!inserted.ok()) return inserted.status();
    ++revision;
  }
  return Status();
}

Result<std::vector<RecordedEvent>> BaselineConnection::read_after(std::int64_t after, std::uint64_t limit) {
  const std::array<PostgresValue, 2> params = {PostgresValue(after), PostgresValue(limit)};
  auto rows = connection_.query_prepared(
      "SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM baseline_events"
      " WHERE position > $1 ORDER BY position LIMIT $2",
      params, /*binary_results=*/true);
  if (!rows.ok()) return rows.status();
  std::vector<RecordedEvent> events(static_cast<std::size_t>(rows->rows()));
  for (int row = 0; row < rows->rows(); ++row) {
    RecordedEvent& event = events[static_cast<std::size_t>(row)];
    event.position = static_cast<Position>(big_endian_int64(rows->value(row, 0)));
    event.stream = rows->text(row, 1);
    event.revision = static_cast<StreamRevision>(big_endian_int64(rows->value(row, 2)));
    const std::string_view id = rows->value(row, 3);
    for (std::size_t i = 0; i < event.id.bytes.size() && i < id.size(); ++i) {
      event.id.bytes[i] = static_cast<std::uint8_t>(id[i]);
    }
    event.type = rows->text(row, 4);
    event.data = rows->text(row, 5);
    event.metadata = rows->text(row, 6);
    event.recorded_at =
        Timestamp(std::chrono::microseconds(big_endian_int64(rows->value(row, 7)) + kPostgresEpochUnixMicros));
  }
  return events;
}

}  // namespace evsrc::bench
