// The SQLite baseline of `evsrc bench` (issue 15): the small C program a user
// would write on SQLite instead of using evsrc, measured in the same run on
// the same disk as the store.
//
//   messages(position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER,
//            id BLOB UNIQUE, type TEXT, data BLOB, metadata BLOB,
//            recorded_at INTEGER, UNIQUE(stream, revision))
//
// journal_mode=WAL, synchronous=FULL: every COMMIT syncs the WAL, so an
// acknowledged append survives a power loss, as evsrc's does. One connection
// per thread, statements prepared once per connection. An append is one
// transaction: BEGIN IMMEDIATE; SELECT max(revision) of the stream, compared
// with the revision the caller expects; one INSERT per event; COMMIT.
// Writers queue on SQLite's write lock (busy_timeout, then retry); positions
// are rowids taken under that lock, so they follow commit order.
//
// Thread-safety: a SqliteBaseline is used by one thread at a time; any number
// of them, on any threads, may be open on the same database file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_stats.h"
#include "bench/store_bench.h"
#include "evsrc/status.h"
#include "evsrc/types.h"

struct sqlite3;
struct sqlite3_stmt;

namespace evsrc::bench {

class SqliteBaseline {
 public:
  // Creates the database file at `path` with the messages table and switches
  // it to WAL (which persists in the file). Fails when the table exists.
  static Status create(const std::string& path);

  // Opens a connection to the database made by create().
  static Result<SqliteBaseline> open(const std::string& path);

  SqliteBaseline(SqliteBaseline&& other) noexcept;
  SqliteBaseline& operator=(SqliteBaseline&&) = delete;
  ~SqliteBaseline();

  // Appends `events` (REQUIRES: not empty) at the end of `stream` in one
  // transaction if the stream's last revision is `expected` (nullopt: the
  // stream must not exist); returns the new last revision. Otherwise
  // wrong_expected_revision and nothing is written. Nil event ids are
  // replaced by random ones, as the store does.
  Result<StreamRevision> append(const std::string& stream, std::optional<StreamRevision> expected,
                                std::span<const EventData> events);

  // Up to `limit` events with position > `after` in position order, every
  // column copied into RecordedEvents (content_type empty: no such column).
  Result<std::vector<RecordedEvent>> read_after(std::int64_t after, std::uint64_t limit);

  // Up to `limit` events of `stream` from revision `from` on, in revision
  // order, materialised as read_after does; empty when there are none.
  Result<std::vector<RecordedEvent>> read_stream(const std::string& stream, StreamRevision from, std::uint64_t limit);

 private:
  enum Statement { kBegin, kCommit, kRollback, kHead, kInsert, kReadAll, kReadStream, kStatementCount };

  explicit SqliteBaseline(sqlite3* db) : db_(db) {}
  Status begin_immediate();
  Result<StreamRevision> insert_events(const std::string& stream, std::optional<StreamRevision> expected,
                                       std::span<const EventData> events);
  Status run(Statement statement);
  Result<std::vector<RecordedEvent>> collect_rows(sqlite3_stmt* statement, std::uint64_t limit);
  Status error(const std::string& what) const;

  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, kStatementCount> statements_{};
};

// The workloads of store_bench.h done by the SQLite program on the database
// at `path` (made by SqliteBaseline::create), with the same event
// (bench_event), settings and budget, measured and counted as evsrc's of the
// same letter (sqlite_workloads.cc): a, b, c, d, e, f, g, h. Run them in that
// order on one database: d reads what a-c wrote, as evsrc's does. Every
// append checks the revision its writer expects (it tracks its streams'
// heads), as the program of issue 15 does. Connections are opened before the
// clock starts.
Result<WorkloadResult> run_sqlite_single_writer(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_concurrent_writers(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_bulk_appends(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_catch_up_read(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_random_stream_reads(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_few_writers(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_batch_appends(const std::string& path, const WorkloadSettings& settings);
Result<WorkloadResult> run_sqlite_stream_loads(const std::string& path, const WorkloadSettings& settings);

}  // namespace evsrc::bench
