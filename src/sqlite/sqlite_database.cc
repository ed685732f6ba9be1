// SqliteDatabase, SqliteStatement, SqliteReadTransaction: a thin RAII layer
// over the SQLite C API that reports errors as Status (see
// sqlite_read_model.h).
#include <sqlite3.h>

#include <span>
#include <utility>

#include "evsrc/sqlite_read_model.h"

namespace evsrc {
namespace {

// SQLite errors are I/O-like failures of the read model (disk, lock, schema):
// io_error, with SQLite's own message.
Status sqlite_error(sqlite3* db, std::string_view what) {
  std::string message = "sqlite: " + std::string(what);
  if (db != nullptr) message += ": " + std::string(sqlite3_errmsg(db));
  return Status::io_error(std::move(message));
}

Status check(sqlite3* db, int rc, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status();
  return sqlite_error(db, what);
}

}  // namespace

// ---- SqliteStatement ----------------------------------------------------------

SqliteStatement::~SqliteStatement() {
  if (statement_ != nullptr) sqlite3_finalize(statement_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), statement_(std::exchange(other.statement_, nullptr)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    if (statement_ != nullptr) sqlite3_finalize(statement_);
    db_ = std::exchange(other.db_, nullptr);
    statement_ = std::exchange(other.statement_, nullptr);
  }
  return *this;
}

namespace {

// `copy_text`: SQLite copies text (statements stepped later); otherwise the
// text must live until the statement is reset (execute() does so itself).
Status bind_value(sqlite3* db, sqlite3_stmt* statement, int index, const SqliteValue& value, bool copy_text) {
  int rc = SQLITE_OK;
  switch (value.kind()) {
    case SqliteValue::Kind::null:
      rc = sqlite3_bind_null(statement, index);
      break;
    case SqliteValue::Kind::integer:
      rc = sqlite3_bind_int64(statement, index, value.integer());
      break;
    case SqliteValue::Kind::text:
      rc = sqlite3_bind_text64(statement, index, value.text().data(), value.text().size(),
                               copy_text ? SQLITE_TRANSIENT : SQLITE_STATIC, SQLITE_UTF8);
      break;
  }
  return check(db, rc, "bind parameter " + std::to_string(index));
}

Status bind_values(sqlite3* db, sqlite3_stmt* statement, std::span<const SqliteValue> values, bool copy_text) {
  int index = 1;
  for (const SqliteValue& value : values) {
    if (Status status = bind_value(db, statement, index++, value, copy_text); !status.ok()) return status;
  }
  return Status();
}

}  // namespace

Status SqliteStatement::bind(int index, const SqliteValue& value) {
  if (statement_ == nullptr) return Status::invalid_argument("sqlite: statement not prepared");
  return bind_value(db_, statement_, index, value, /*copy_text=*/true);
}

Status SqliteStatement::bind_all(std::initializer_list<SqliteValue> values) {
  if (statement_ == nullptr) return Status::invalid_argument("sqlite: statement not prepared");
  return bind_values(db_, statement_, std::span<const SqliteValue>(values.begin(), values.size()), /*copy_text=*/true);
}

Result<bool> SqliteStatement::step() {
  if (statement_ == nullptr) return Status::invalid_argument("sqlite: statement not prepared");
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, sqlite3_sql(statement_));
}

Status SqliteStatement::run() {
  while (true) {
    Result<bool> row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
  }
}

void SqliteStatement::reset() {
  if (statement_ == nullptr) return;
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

int SqliteStatement::column_count() const { return statement_ == nullptr ? 0 : sqlite3_column_count(statement_); }

bool SqliteStatement::column_is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::int64_t SqliteStatement::column_int64(int column) const { return sqlite3_column_int64(statement_, column); }

std::string SqliteStatement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)));
}

// ---- SqliteDatabase ------------------------------------------------------------

Result<SqliteDatabase> SqliteDatabase::open(const std::string& path, const SqliteOpenOptions& options) {
  int flags = SQLITE_OPEN_NOMUTEX;  // one thread at a time per connection (the documented contract)
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* handle = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  SqliteDatabase db(handle);  // owns the handle even when the open failed
  if (rc != SQLITE_OK) return sqlite_error(handle, "open " + path);
  sqlite3_extended_result_codes(handle, 1);
  if (Status status =
          check(handle, sqlite3_busy_timeout(handle, static_cast<int>(options.busy_timeout.count())), "busy_timeout");
      !status.ok()) {
    return status;
  }
  if (!options.read_only) {
    if (Status status = db.exec("PRAGMA journal_mode=WAL"); !status.ok()) return status;
  }
  if (Status status = db.exec(options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      !status.ok()) {
    return status;
  }
  return db;
}

SqliteDatabase::~SqliteDatabase() { close(); }

SqliteDatabase::SqliteDatabase(SqliteDatabase&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), statement_cache_(std::move(other.statement_cache_)) {
  other.statement_cache_.clear();
}

SqliteDatabase& SqliteDatabase::operator=(SqliteDatabase&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    statement_cache_ = std::move(other.statement_cache_);
    other.statement_cache_.clear();
  }
  return *this;
}

void SqliteDatabase::close() {
  for (auto& [sql, statement] : statement_cache_) sqlite3_finalize(statement);
  statement_cache_.clear();
  if (db_ != nullptr) {
    // Statements prepared by callers must be gone (documented); close_v2
    // defers the close until they are, rather than leaking or crashing.
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

Status SqliteDatabase::exec(std::string_view sql) {
  if (db_ == nullptr) return Status::invalid_argument("sqlite: database not open");
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status();
  std::string error = "sqlite: " + text + ": " + (message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return Status::io_error(std::move(error));
}

Status SqliteDatabase::execute(std::string_view sql, std::initializer_list<SqliteValue> params) {
  return execute(sql, std::span<const SqliteValue>(params.begin(), params.size()));
}

Status SqliteDatabase::execute(std::string_view sql, std::span<const SqliteValue> params) {
  if (db_ == nullptr) return Status::invalid_argument("sqlite: database not open");
  auto found = statement_cache_.find(sql);
  if (found == statement_cache_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &statement, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, "prepare " + std::string(sql));
    found = statement_cache_.emplace(std::string(sql), statement).first;
  }
  sqlite3_stmt* statement = found->second;
  Status status = bind_values(db_, statement, params, /*copy_text=*/false);
  if (status.ok()) {
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE) status = sqlite_error(db_, sql);
  }
  sqlite3_reset(statement);
  sqlite3_clear_bindings(statement);
  return status;
}

std::int64_t SqliteDatabase::changes() const { return db_ == nullptr ? 0 : sqlite3_changes64(db_); }

Result<SqliteStatement> SqliteDatabase::prepare(std::string_view sql) {
  if (db_ == nullptr) return Status::invalid_argument("sqlite: database not open");
  sqlite3_stmt* statement = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, "prepare " + std::string(sql));
  return SqliteStatement(db_, statement);
}

Status SqliteDatabase::begin() { return execute("BEGIN IMMEDIATE"); }
Status SqliteDatabase::commit() { return execute("COMMIT"); }
Status SqliteDatabase::rollback() {
  if (!in_transaction()) return Status();  // SQLite already rolled back (e.g. after a failed COMMIT)
  return execute("ROLLBACK");
}

bool SqliteDatabase::in_transaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }

// ---- SqliteReadTransaction --------------------------------------------------------

SqliteReadTransaction::SqliteReadTransaction(SqliteDatabase& db) : db_(db) {
  status_ = db_.execute("BEGIN DEFERRED");
  active_ = status_.ok();
}

SqliteReadTransaction::~SqliteReadTransaction() { (void)end(); }

Status SqliteReadTransaction::end() {
  if (!active_) return Status();
  active_ = false;
  return db_.in_transaction() ? db_.execute("COMMIT") : Status();
}

}  // namespace evsrc
