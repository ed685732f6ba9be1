// The postgres:// backend: EventStore over the tables of postgres_schema.h.
// Writes of events go through the GroupWriter (group commit under the head
// lock); stream metadata, deletes and tombstones run their own transaction
// under the same lock; reads run on pooled connections and read only
// committed rows, which the head lock makes a prefix of the position order.
#include <atomic>
#include <memory>
#include <string>

#include "core/append_rules.h"
#include "core/read_paging.h"
#include "core/stream_changes.h"
#include "core/stream_state.h"
#include "evsrc/postgres.h"
#include "evsrc/postgres_connection.h"
#include "postgres/binary_format.h"
#include "postgres/commit_listener.h"
#include "postgres/connection_pool.h"
#include "postgres/event_rows.h"
#include "postgres/group_writer.h"
#include "postgres/postgres_schema.h"
#include "postgres/postgres_snapshot_store.h"

namespace evsrc {
namespace {

using pg::ConnectionPool;

Status closed_status() { return Status::closed("store is closed"); }

// Reads one stream's row; nullopt when the stream has none.
Result<std::optional<pg::StreamRow>> read_stream_row(PostgresConnection& db, std::string_view stream) {
  const PostgresValue params[] = {stream};
  Result<PostgresRows> rows =
      db.query_prepared(std::string("SELECT ") + pg::kStreamColumns + " FROM evsrc_streams WHERE name = $1", params,
                        /*binary_results=*/true);
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return std::optional<pg::StreamRow>();
  return std::optional<pg::StreamRow>(pg::decode_stream(*rows, 0));
}

class PostgresStore final : public EventStore {
 public:
  PostgresStore(const PostgresUri& uri, const PostgresStoreOptions& options)
      : limits_(options.store.limits),
        connect_options_{uri.schema, false, uri.statement_timeout},
        pool_(uri.libpq_uri, connect_options_,
              options.read_pool_size != 0 ? options.read_pool_size : uri.pool),
        snapshots_(pool_),
        listener_(uri.libpq_uri, connect_options_, pg::notify_channel(uri.schema), [this] { return last_position(); }),
        writer_(pg::GroupWriter::Options{uri.libpq_uri, connect_options_, pg::notify_channel(uri.schema),
                                         options.before_commit_for_testing,
                                         [this](Position position) { listener_.committed(position); }}) {}

  ~PostgresStore() override {
    if (!closed_.load()) (void)close();
  }

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> input) override {
    if (closed_.load()) return closed_status();
    if (Status status = validate_append(stream, input, limits_); !status.ok()) return status;
    std::vector<TransactionPart> parts(1);
    parts[0] = TransactionPart{std::string(stream), expected, with_assigned_ids(input)};
    if (Status status = check_unique_ids(parts[0].events); !status.ok()) return status;
    Result<TransactionResult> result = writer_.write(std::move(parts), /*single_append=*/true);
    if (!result.ok()) return result.status();
    const TransactionPartResult& part = result->parts[0];
    return AppendResult{part.first_revision.value_or(0), part.last_revision.value_or(0), part.position};
  }

  Result<TransactionResult> commit(std::span<const TransactionPart> input) override {
    if (closed_.load()) return closed_status();
    std::vector<TransactionPart> parts(input.begin(), input.end());
    for (TransactionPart& part : parts) part.events = with_assigned_ids(part.events);
    if (Status status = validate_transaction(parts, limits_); !status.ok()) return status;
    return writer_.write(std::move(parts), /*single_append=*/false);
  }

  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    Result<std::optional<pg::StreamRow>> row = read_stream_row(**db, stream);
    if (!row.ok()) return row.status();
    const StreamState* state = *row ? &(*row)->state : nullptr;
    if (Status status = check_readable(stream, state); !status.ok()) return status;
    StreamPage page;
    page.last_revision = *state->last_revision;
    const std::optional<KeyRange> range = stream_read_range(*state, options);
    if (!range) return page;
    // The walk asks for revisions one by one; they are fetched a page at a
    // time (revisions up to the head read above are committed and never
    // change, so the two statements see one consistent stream).
    const bool forward = range->start <= range->stop;
    std::vector<RecordedEvent> chunk;
    std::uint64_t chunk_first = 0;  // revision of chunk[0] (forward) or of chunk.back() (backward)
    Status error;
    const Timestamp now = now_timestamp();
    page.next = walk_page(*range, options.limit, 0, [&](std::uint64_t revision) {
      if (!error.ok()) return false;
      const bool in_chunk = !chunk.empty() && (forward ? revision >= chunk_first && revision < chunk_first + chunk.size()
                                                       : revision <= chunk_first && chunk_first - revision < chunk.size());
      if (!in_chunk) {
        const std::uint64_t remaining = (forward ? range->stop - revision : revision - range->stop) + 1;
        const std::uint64_t count = std::min<std::uint64_t>(std::max<std::uint64_t>(options.limit, 64), remaining);
        const std::uint64_t low = forward ? revision : revision - (count - 1);
        const PostgresValue params[] = {stream, low, low + count - 1};
        Result<PostgresRows> rows = (*db)->query_prepared(
            std::string("SELECT ") + pg::kEventColumns + " FROM evsrc_events WHERE stream = $1 AND revision BETWEEN " +
                "$2::int8 AND $3::int8 ORDER BY revision " + (forward ? "ASC" : "DESC"),
            params, /*binary_results=*/true);
        if (!rows.ok()) {
          error = rows.status();
          return false;
        }
        chunk.clear();
        for (int r = 0; r < rows->rows(); ++r) chunk.push_back(pg::decode_event(*rows, r));
        if (chunk.size() != count) {
          error = Status::corruption("stream " + std::string(stream) + " lacks events between revisions " +
                                     std::to_string(low) + " and " + std::to_string(low + count - 1));
          return false;
        }
        chunk_first = revision;
      }
      const RecordedEvent& event = chunk[forward ? revision - chunk_first : chunk_first - revision];
      if (!state->visible(revision, event.recorded_at, now)) return false;
      page.events.push_back(event);
      return true;
    });
    if (!error.ok()) return error;
    return page;
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    // One statement: the committed events from `from` on (under the head
    // lock, committed positions are a prefix, so no upper bound is needed and
    // the primary key is walked from `from`: the cost of a page does not grow
    // with the store), joined to the head row read in the same snapshot, which
    // tells whether the page reached the end (one row of NULL events when
    // nothing matched). Backward without `from` starts at the head. The filter
    // runs in the database; a page ends after `limit` matches, at the end of
    // the scan window (scan_limit positions) or at the end, as walk_page()
    // defines for every backend.
    const bool forward = options.direction == Direction::forward;
    if (forward && options.from && *options.from > static_cast<Position>(INT64_MAX)) return AllPage{};
    const std::uint64_t scan = std::min<std::uint64_t>(options.scan_limit, INT64_MAX);
    std::string sql = std::string("SELECT e.*, h.last_position FROM (SELECT last_position FROM evsrc_head WHERE id = 1) h "
                                  "LEFT JOIN LATERAL (SELECT ") +
                      pg::kEventColumns + " FROM evsrc_events WHERE ";
    std::vector<PostgresValue> params;
    // The first position examined, as SQL: backward, never above the head.
    std::string start = "h.last_position";
    if (forward) {
      params.emplace_back(options.from.value_or(0));
      start = "$1::int8";
      sql += "position >= " + start;
    } else if (options.from) {
      params.emplace_back(std::min<Position>(*options.from, INT64_MAX));
      start = "LEAST($1::int8, h.last_position)";
      sql += "position <= " + start;
    } else {
      sql += "true";
    }
    if (scan > 0) {
      // Bounds the primary key walk: the window's far end.
      if (forward) {
        params.emplace_back(std::min<Position>(scan_window_end(options.from.value_or(0), Direction::forward, scan),
                                               INT64_MAX));
        sql += " AND position <= $" + std::to_string(params.size()) + "::int8";
      } else {
        params.emplace_back(scan - 1);
        sql += " AND position >= " + start + " - $" + std::to_string(params.size()) + "::int8";
      }
    }
    const EventFilter& filter = options.filter;
    if (!filter.stream_prefix.empty()) {
      params.emplace_back(filter.stream_prefix);
      sql += " AND starts_with(stream, $" + std::to_string(params.size()) + "::text)";
    }
    if (!filter.category.empty()) {
      params.emplace_back(filter.category);
      sql += " AND split_part(stream, '-', 1) = $" + std::to_string(params.size()) + "::text";
    }
    if (!filter.event_type.empty()) {
      params.push_back(PostgresValue::bytes(filter.event_type));
      sql += " AND type = $" + std::to_string(params.size());
    }
    params.emplace_back(std::min<std::uint64_t>(options.limit, INT64_MAX));
    const std::string order = forward ? "ASC" : "DESC";
    sql += " ORDER BY position " + order + " LIMIT $" + std::to_string(params.size()) +
           "::int8) e ON true ORDER BY e.position " + order;
    Result<PostgresRows> rows = (*db)->query_prepared(sql, params, /*binary_results=*/true);
    if (!rows.ok()) return rows.status();
    AllPage page;
    // An empty store: no head row, or its last_position is -1.
    if (rows->rows() == 0 || rows->is_null(0, 9) || pg::read_int8(rows->value(0, 9)) < 0) return page;
    const auto head = static_cast<Position>(pg::read_int8(rows->value(0, 9)));
    page.events.reserve(rows->rows());
    for (int r = 0; r < rows->rows(); ++r) {
      if (!rows->is_null(r, 0)) page.events.push_back(pg::decode_event(*rows, r));
    }
    if (page.events.size() == options.limit) {
      const Position last = page.events.back().position;
      const Position stop = forward ? head : 0;
      if (last != stop) page.next = forward ? last + 1 : last - 1;
    } else if (scan > 0) {
      // Short of `limit`: the window ended before the log did.
      if (forward) {
        const Position last_scanned = scan_window_end(options.from.value_or(0), Direction::forward, scan);
        if (last_scanned < head) page.next = last_scanned + 1;
      } else {
        const Position lowest = scan_window_end(std::min(options.from.value_or(head), head), Direction::backward, scan);
        if (lowest > 0) page.next = lowest - 1;
      }
    }
    return page;
  }

  Result<StreamInfo> stream_info(std::string_view stream) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    Result<std::optional<pg::StreamRow>> row = read_stream_row(**db, stream);
    if (!row.ok()) return row.status();
    if (!*row) return Status::not_found("stream " + std::string(stream) + " was never written");
    const StreamState& state = (*row)->state;
    return StreamInfo{std::string(stream), state.last_revision, state.soft_deleted, state.tombstoned, state.metadata};
  }

  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return change_stream_metadata(stream, state, metadata); });
  }

  Status delete_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return soft_delete_stream(stream, state, expected); });
  }

  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return tombstone_stream_state(stream, state, expected); });
  }

  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override {
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    Result<PostgresRows> rows = (*db)->query(
        "SELECT name FROM evsrc_streams WHERE name > $1::text AND name >= $2::text AND starts_with(name, $2::text) "
        "AND last_revision IS NOT NULL AND NOT soft_deleted AND NOT tombstoned ORDER BY name LIMIT $3::int8",
        {after, prefix, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))});
    if (!rows.ok()) return rows.status();
    std::vector<std::string> names;
    names.reserve(rows->rows());
    for (int r = 0; r < rows->rows(); ++r) names.push_back(rows->text(r, 0));
    return names;
  }

  Result<StoreStats> stats() override {
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    Result<PostgresRows> rows = (*db)->query("SELECT events, streams, bytes, last_position FROM evsrc_head WHERE id = 1");
    if (!rows.ok()) return rows.status();
    if (rows->rows() != 1) return Status::corruption("postgres: the evsrc_head row is missing");
    StoreStats stats;
    stats.events = static_cast<std::uint64_t>(rows->integer(0, 0));
    stats.streams = static_cast<std::uint64_t>(rows->integer(0, 1));
    stats.bytes = static_cast<std::uint64_t>(rows->integer(0, 2));
    const std::int64_t last = rows->integer(0, 3);
    if (last >= 0) stats.last_position = static_cast<Position>(last);
    return stats;
  }

  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override {
    if (closed_.load()) return false;
    return listener_.wait(after, timeout);
  }

  SnapshotStore& snapshots() override { return snapshots_; }

  Status close() override {
    if (closed_.exchange(true)) return closed_status();
    writer_.stop();
    listener_.stop();
    pool_.close();
    return Status();
  }

 private:
  static Result<std::optional<Position>> read_last_position(PostgresConnection& db) {
    Result<PostgresRows> rows = db.query("SELECT last_position FROM evsrc_head WHERE id = 1");
    if (!rows.ok()) return rows.status();
    if (rows->rows() != 1) return Status::corruption("postgres: the evsrc_head row is missing");
    const std::int64_t last = rows->integer(0, 0);
    return last < 0 ? std::optional<Position>() : std::optional<Position>(static_cast<Position>(last));
  }

  Result<std::optional<Position>> last_position() {
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> db = pool_.acquire();
    if (!db.ok()) return db.status();
    return read_last_position(**db);
  }

  // Runs `change` on the stream's state under the head lock and stores the
  // result when `change` returns ok. These writes take no position.
  template <typename Change>
  Status change_stream(std::string_view stream, Change&& change) {
    if (closed_.load()) return closed_status();
    Result<ConnectionPool::Lease> lease = pool_.acquire();
    if (!lease.ok()) return lease.status();
    PostgresConnection& db = **lease;
    const auto fail = [&](Status status) {
      if (db.in_transaction()) (void)db.rollback();
      return status;
    };
    if (Status status = db.begin(); !status.ok()) return fail(status);
    if (Status status = db.exec("SELECT 1 FROM evsrc_head WHERE id = 1 FOR UPDATE"); !status.ok()) return fail(status);
    Result<std::optional<pg::StreamRow>> row = read_stream_row(db, stream);
    if (!row.ok()) return fail(row.status());
    StreamState state = *row ? (*row)->state : StreamState{};
    if (Status status = change(state); !status.ok()) return fail(status);
    const StreamMetadata& metadata = state.metadata;
    const auto optional_int = [](const std::optional<std::uint64_t>& value) -> PostgresValue {
      return value ? PostgresValue(static_cast<std::int64_t>(*value)) : PostgresValue(nullptr);
    };
    Result<std::int64_t> written = db.execute(
        "INSERT INTO evsrc_streams (name, visible_from, soft_deleted, tombstoned, max_count, max_age_s, "
        "truncate_before, custom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET "
        "visible_from = EXCLUDED.visible_from, soft_deleted = EXCLUDED.soft_deleted, tombstoned = EXCLUDED.tombstoned, "
        "max_count = EXCLUDED.max_count, max_age_s = EXCLUDED.max_age_s, truncate_before = EXCLUDED.truncate_before, "
        "custom = EXCLUDED.custom",
        {stream, state.visible_from, state.soft_deleted ? "true" : "false", state.tombstoned ? "true" : "false",
         optional_int(metadata.max_count),
         metadata.max_age ? PostgresValue(static_cast<std::int64_t>(metadata.max_age->count())) : PostgresValue(nullptr),
         optional_int(metadata.truncate_before), PostgresValue::bytes(metadata.custom)});
    if (!written.ok()) return fail(written.status());
    return db.commit();
  }

  const Limits limits_;
  const PostgresConnectOptions connect_options_;
  std::atomic<bool> closed_{false};  // before the members whose threads read it
  ConnectionPool pool_;
  pg::PostgresSnapshotStore snapshots_;
  pg::CommitListener listener_;
  pg::GroupWriter writer_;
};

}  // namespace

Result<MigrationResult> migrate_postgres_schema(std::string_view uri) {
  Result<PostgresUri> parsed = parse_postgres_uri(uri);
  if (!parsed.ok()) return parsed.status();
  Result<PostgresConnection> db =
      PostgresConnection::connect(parsed->libpq_uri, PostgresConnectOptions{parsed->schema, true, parsed->statement_timeout});
  if (!db.ok()) return db.status();
  return pg::migrate(*db, parsed->schema);
}

Result<std::unique_ptr<EventStore>> open_postgres_store(std::string_view uri, const PostgresStoreOptions& options) {
  Result<PostgresUri> parsed = parse_postgres_uri(uri);
  if (!parsed.ok()) return parsed.status();
  Result<MigrationResult> migrated = migrate_postgres_schema(uri);
  if (!migrated.ok()) return migrated.status();
  auto store = std::make_unique<PostgresStore>(*parsed, options);
  // Fail now rather than at the first call when the database is unusable.
  Result<StoreStats> stats = store->stats();
  if (!stats.ok()) {
    (void)store->close();
    return stats.status();
  }
  return std::unique_ptr<EventStore>(std::move(store));
}

}  // namespace evsrc
