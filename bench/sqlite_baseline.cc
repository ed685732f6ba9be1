#include "bench/sqlite_baseline.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace evsrc::bench {
namespace {

// Long enough that 64 writers queueing on the write lock rarely see
// SQLITE_BUSY; when they do, the transaction is started again.
constexpr int kBusyTimeoutMs = 10'000;

constexpr const char* kStatementTexts[] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SELECT max(revision) FROM messages WHERE stream = ?1",
    "INSERT INTO messages (stream, revision, id, type, data, metadata, recorded_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM messages"
    " WHERE position > ?1 ORDER BY position LIMIT ?2",
    "SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM messages"
    " WHERE stream = ?1 AND revision >= ?2 ORDER BY revision LIMIT ?3",
};

std::string column_bytes(sqlite3_stmt* statement, int column) {
  const void* bytes = sqlite3_column_blob(statement, column);
  const int size = sqlite3_column_bytes(statement, column);
  if (bytes == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(bytes), static_cast<std::size_t>(size));
}

std::int64_t unix_micros_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Opens a connection in multi-thread mode (one thread per connection) with
// the per-connection settings; the caller closes it on every path.
Status open_connection(const std::string& path, int flags, sqlite3** db) {
  const int rc = sqlite3_open_v2(path.c_str(), db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return Status::io_error("sqlite baseline: open " + path + ": " + (*db ? sqlite3_errmsg(*db) : "out of memory"));
  }
  sqlite3_busy_timeout(*db, kBusyTimeoutMs);
  char* message = nullptr;
  if (sqlite3_exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", nullptr, nullptr, &message) != SQLITE_OK) {
    Status status = Status::io_error("sqlite baseline: pragmas: " + std::string(message ? message : "?"));
    sqlite3_free(message);
    return status;
  }
  return Status();
}

}  // namespace

Status SqliteBaseline::create(const std::string& path) {
  sqlite3* db = nullptr;
  Status status = open_connection(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db);
  char* message = nullptr;
  if (status.ok() && sqlite3_exec(db,
                                  "CREATE TABLE messages (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER,"
                                  " id BLOB UNIQUE, type TEXT, data BLOB, metadata BLOB, recorded_at INTEGER,"
                                  " UNIQUE(stream, revision))",
                                  nullptr, nullptr, &message) != SQLITE_OK) {
    status = Status::io_error("sqlite baseline: create table: " + std::string(message ? message : "?"));
    sqlite3_free(message);
  }
  sqlite3_close(db);
  return status;
}

Result<SqliteBaseline> SqliteBaseline::open(const std::string& path) {
  sqlite3* db = nullptr;
  Status status = open_connection(path, SQLITE_OPEN_READWRITE, &db);
  SqliteBaseline connection(db);  // closes db on every return below
  if (!status.ok()) return status;
  for (int i = 0; i < kStatementCount; ++i) {
    if (sqlite3_prepare_v3(db, kStatementTexts[i], -1, SQLITE_PREPARE_PERSISTENT, &connection.statements_[i],
                           nullptr) != SQLITE_OK) {
      return connection.error(std::string("prepare ") + kStatementTexts[i]);
    }
  }
  return connection;
}

SqliteBaseline::SqliteBaseline(SqliteBaseline&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), statements_(std::exchange(other.statements_, {})) {}

SqliteBaseline::~SqliteBaseline() {
  for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
  if (db_ != nullptr) sqlite3_close(db_);
}

Status SqliteBaseline::error(const std::string& what) const {
  return Status::io_error("sqlite baseline: " + what + ": " + sqlite3_errmsg(db_));
}

Status SqliteBaseline::run(Statement statement) {
  const int rc = sqlite3_step(statements_[statement]);
  sqlite3_reset(statements_[statement]);
  if (rc != SQLITE_DONE) return error(kStatementTexts[statement]);
  return Status();
}

Status SqliteBaseline::begin_immediate() {
  for (;;) {
    const int rc = sqlite3_step(statements_[kBegin]);
    sqlite3_reset(statements_[kBegin]);
    if (rc == SQLITE_DONE) return Status();
    if (rc != SQLITE_BUSY || bench_interrupted.load()) return error("BEGIN IMMEDIATE");
  }
}

Result<StreamRevision> SqliteBaseline::append(const std::string& stream, std::optional<StreamRevision> expected,
                                              std::span<const EventData> events) {
  if (Status status = begin_immediate(); !status.ok()) return status;
  auto last = insert_events(stream, expected, events);
  Status status = last.ok() ? run(kCommit) : last.status();
  if (status.ok()) return last;
  if (!sqlite3_get_autocommit(db_)) (void)run(kRollback);
  return status;
}

Result<StreamRevision> SqliteBaseline::insert_events(const std::string& stream, std::optional<StreamRevision> expected,
                                                     std::span<const EventData> events) {
  sqlite3_stmt* head = statements_[kHead];
  sqlite3_bind_text(head, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(head);
  std::optional<StreamRevision> actual;
  if (rc == SQLITE_ROW && sqlite3_column_type(head, 0) != SQLITE_NULL) {
    actual = static_cast<StreamRevision>(sqlite3_column_int64(head, 0));
  }
  sqlite3_reset(head);
  if (rc != SQLITE_ROW) return error("SELECT max(revision)");
  if (actual != expected) {
    return Status::wrong_expected_revision(actual, "sqlite baseline: stream " + stream + " is not where expected");
  }
  StreamRevision revision = actual ? *actual + 1 : 0;
  const std::int64_t now = unix_micros_now();
  sqlite3_stmt* insert = statements_[kInsert];
  for (const EventData& event : events) {
    const Uuid id = event.id.is_nil() ? Uuid::random() : event.id;
    sqlite3_bind_text(insert, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert, 2, static_cast<sqlite3_int64>(revision));
    sqlite3_bind_blob(insert, 3, id.bytes.data(), static_cast<int>(id.bytes.size()), SQLITE_STATIC);
    sqlite3_bind_text(insert, 4, event.type.data(), static_cast<int>(event.type.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert, 5, event.data.data(), static_cast<int>(event.data.size()), SQLITE_STATIC);
    sqlite3_bind_blob(insert, 6, event.metadata.data(), static_cast<int>(event.metadata.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert, 7, now);
    if (Status status = run(kInsert); !status.ok()) return status;
    ++revision;
  }
  return revision - 1;
}

Result<std::vector<RecordedEvent>> SqliteBaseline::collect_rows(sqlite3_stmt* statement, std::uint64_t limit) {
  std::vector<RecordedEvent> events;
  events.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(limit, 4096)));
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    RecordedEvent& event = events.emplace_back();
    event.position = static_cast<Position>(sqlite3_column_int64(statement, 0));
    event.stream = column_bytes(statement, 1);
    event.revision = static_cast<StreamRevision>(sqlite3_column_int64(statement, 2));
    const std::string id = column_bytes(statement, 3);
    std::copy_n(id.begin(), std::min(id.size(), event.id.bytes.size()), event.id.bytes.begin());
    event.type = column_bytes(statement, 4);
    event.data = column_bytes(statement, 5);
    event.metadata = column_bytes(statement, 6);
    event.recorded_at = Timestamp(std::chrono::microseconds(sqlite3_column_int64(statement, 7)));
  }
  sqlite3_reset(statement);
  if (rc != SQLITE_DONE) return error("read");
  return events;
}

Result<std::vector<RecordedEvent>> SqliteBaseline::read_after(std::int64_t after, std::uint64_t limit) {
  sqlite3_stmt* statement = statements_[kReadAll];
  sqlite3_bind_int64(statement, 1, after);
  sqlite3_bind_int64(statement, 2, static_cast<sqlite3_int64>(limit));
  return collect_rows(statement, limit);
}

Result<std::vector<RecordedEvent>> SqliteBaseline::read_stream(const std::string& stream, StreamRevision from,
                                                               std::uint64_t limit) {
  sqlite3_stmt* statement = statements_[kReadStream];
  sqlite3_bind_text(statement, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
  sqlite3_bind_int64(statement, 2, static_cast<sqlite3_int64>(from));
  sqlite3_bind_int64(statement, 3, static_cast<sqlite3_int64>(limit));
  return collect_rows(statement, limit);
}

}  // namespace evsrc::bench
