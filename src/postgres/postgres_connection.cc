#include "evsrc/postgres_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace evsrc {
namespace {

constexpr Oid kByteaOid = 17;

// Errors that say the connection (or the server) is gone, not the statement.
bool connection_lost(std::string_view sql_state) {
  return sql_state.starts_with("08") || sql_state == "57P01" || sql_state == "57P02" || sql_state == "57P03";
}

std::string trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

bool valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

// ---- PostgresRows ---------------------------------------------------------------

PostgresRows::PostgresRows(pg_result* result) : result_(result) {}
PostgresRows::~PostgresRows() {
  if (result_ != nullptr) PQclear(result_);
}
PostgresRows::PostgresRows(PostgresRows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
PostgresRows& PostgresRows::operator=(PostgresRows&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
int PostgresRows::rows() const { return result_ != nullptr ? PQntuples(result_) : 0; }
int PostgresRows::columns() const { return result_ != nullptr ? PQnfields(result_) : 0; }
bool PostgresRows::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
std::string_view PostgresRows::value(int row, int column) const {
  return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
}
std::int64_t PostgresRows::integer(int row, int column) const {
  const std::string_view text = value(row, column);
  std::int64_t number = 0;
  std::from_chars(text.data(), text.data() + text.size(), number);
  return number;
}
std::int64_t PostgresRows::affected() const {
  if (result_ == nullptr) return 0;
  const char* text = PQcmdTuples(result_);
  std::int64_t number = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), number);
  return number;
}

// ---- PostgresConnection ---------------------------------------------------------

namespace {
bool succeeded(const PGresult* result);
}  // namespace

Result<PostgresConnection> PostgresConnection::connect(const std::string& uri, const PostgresConnectOptions& options) {
  if (!options.schema.empty() && !valid_identifier(options.schema)) {
    return Status::invalid_argument("schema name '" + options.schema +
                                    "' must be 1..63 letters, digits or '_', not starting with a digit");
  }
  PostgresConnection connection(PQconnectdb(uri.c_str()));
  if (connection.conn_ == nullptr) return Status::io_error("postgres: out of memory connecting");
  if (PQstatus(connection.conn_) != CONNECTION_OK) {
    return Status::io_error("postgres: cannot connect: " + trimmed(PQerrorMessage(connection.conn_)));
  }
  // Notices (and the server's goodbye on a terminated connection) are not
  // printed to stderr: errors reach the caller as Status.
  PQsetNoticeProcessor(connection.conn_, [](void*, const char*) {}, nullptr);
  std::string setup = "SET statement_timeout = " + std::to_string(options.statement_timeout.count()) +
                      "; SET client_min_messages = warning";
  if (Status status = connection.exec(setup); !status.ok()) return status;
  if (!options.schema.empty()) {
    const std::string schema = quote_identifier(options.schema);
    if (options.create_schema) {
      // Two first connections may race to create the schema: the loser's
      // unique violation means it exists now.
      if (Status status = connection.exec("CREATE SCHEMA IF NOT EXISTS " + schema);
          !status.ok() && connection.sql_state() != "23505" && connection.sql_state() != "42P06") {
        return status;
      }
    }
    if (Status status = connection.exec("SET search_path TO " + schema); !status.ok()) return status;
  }
  return connection;
}

PostgresConnection::~PostgresConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}
PostgresConnection::PostgresConnection(PostgresConnection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      sql_state_(std::move(other.sql_state_)),
      prepared_(std::move(other.prepared_)) {}
PostgresConnection& PostgresConnection::operator=(PostgresConnection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    sql_state_ = std::move(other.sql_state_);
    prepared_ = std::move(other.prepared_);
  }
  return *this;
}

bool PostgresConnection::broken() const { return conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK; }
bool PostgresConnection::alive() {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return false;
  // Reads what the server sent while the connection sat idle: a closed socket
  // (server restart, terminated backend) shows up now rather than at the
  // next statement.
  return PQconsumeInput(conn_) == 1 && PQstatus(conn_) == CONNECTION_OK;
}

bool PostgresConnection::in_transaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

Status PostgresConnection::exec(std::string_view sql) {
  if (conn_ == nullptr) return Status::io_error("postgres: not connected");
  sql_state_.clear();
  // PQexec runs several statements; the last result tells how the batch went
  // (it stops at the first error).
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  PostgresRows rows(result);
  if (result != nullptr && PQresultStatus(result) == PGRES_EMPTY_QUERY) return Status();
  if (succeeded(result)) return Status();
  return error_of(result);
}

Result<PostgresRows> PostgresConnection::query(std::string_view sql, std::initializer_list<PostgresValue> params) {
  return run(sql, std::span<const PostgresValue>(params.begin(), params.size()), 0);
}
Result<PostgresRows> PostgresConnection::query(std::string_view sql, std::span<const PostgresValue> params) {
  return run(sql, params, 0);
}
Result<PostgresRows> PostgresConnection::query_binary(std::string_view sql, std::span<const PostgresValue> params) {
  return run(sql, params, 1);
}
Result<std::int64_t> PostgresConnection::execute(std::string_view sql, std::initializer_list<PostgresValue> params) {
  Result<PostgresRows> rows = query(sql, params);
  if (!rows.ok()) return rows.status();
  return rows->affected();
}

namespace {

// Parameters in libpq's arrays. Integers and text go as NUL-terminated text
// with server-inferred types (so "$1" works wherever a literal would); bytes
// and pre-encoded values go in binary format with their type.
struct Marshalled {
  explicit Marshalled(std::span<const PostgresValue> params)
      : values(params.size()), lengths(params.size()), formats(params.size()), types(params.size()) {
    texts.reserve(params.size());  // no reallocation: values[] points into it
    for (std::size_t i = 0; i < params.size(); ++i) {
      const PostgresValue& param = params[i];
      switch (param.kind()) {
        case PostgresValue::Kind::null:
          break;
        case PostgresValue::Kind::integer:
          texts.push_back(std::to_string(param.integer()));
          values[i] = texts.back().c_str();
          break;
        case PostgresValue::Kind::text:
          texts.emplace_back(param.text());
          values[i] = texts.back().c_str();
          break;
        case PostgresValue::Kind::bytes:
        case PostgresValue::Kind::binary:
          values[i] = param.text().data();
          lengths[i] = static_cast<int>(param.text().size());
          formats[i] = 1;
          types[i] = param.kind() == PostgresValue::Kind::bytes ? kByteaOid : param.type_oid();
          break;
      }
    }
  }
  int count() const { return static_cast<int>(values.size()); }
  std::vector<std::string> texts;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<Oid> types;
};

bool succeeded(const PGresult* result) {
  const ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

Status PostgresConnection::error_of(const pg_result* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  sql_state_ = state != nullptr ? state : "";
  const std::string message = trimmed(result != nullptr && PQresultErrorMessage(result)[0] != '\0'
                                          ? PQresultErrorMessage(result)
                                          : PQerrorMessage(conn_));
  if (broken() || connection_lost(sql_state_)) return Status::io_error("postgres: connection lost: " + message);
  if (sql_state_ == "57014") return Status::timeout("postgres: " + message);
  return Status::invalid_argument("postgres: " + message);
}

Result<PostgresRows> PostgresConnection::run(std::string_view sql, std::span<const PostgresValue> params,
                                             int result_format, bool prepared) {
  if (conn_ == nullptr) return Status::io_error("postgres: not connected");
  sql_state_.clear();
  const Marshalled marshalled(params);
  PGresult* result = nullptr;
  if (prepared) {
    Result<const std::string*> name = prepared_name(sql, marshalled.types);
    if (!name.ok()) return name.status();
    result = PQexecPrepared(conn_, (*name)->c_str(), marshalled.count(), marshalled.values.data(),
                            marshalled.lengths.data(), marshalled.formats.data(), result_format);
  } else {
    result = PQexecParams(conn_, std::string(sql).c_str(), marshalled.count(), marshalled.types.data(),
                          marshalled.values.data(), marshalled.lengths.data(), marshalled.formats.data(),
                          result_format);
  }
  PostgresRows rows(result);
  if (succeeded(result)) return rows;
  return error_of(result);
}

Result<PostgresRows> PostgresConnection::query_prepared(std::string_view sql, std::span<const PostgresValue> params,
                                                        bool binary_results) {
  return run(sql, params, binary_results ? 1 : 0, /*prepared=*/true);
}

Result<const std::string*> PostgresConnection::prepared_name(std::string_view sql, const std::vector<Oid>& types) {
  const auto it = prepared_.find(sql);
  if (it != prepared_.end()) return &it->second;
  std::string name = "evsrc_" + std::to_string(prepared_.size() + 1);
  PGresult* result = PQprepare(conn_, name.c_str(), std::string(sql).c_str(), static_cast<int>(types.size()),
                               types.data());
  PostgresRows rows(result);
  if (!succeeded(result)) return error_of(result);
  return &prepared_.emplace(std::string(sql), std::move(name)).first->second;
}

Result<std::vector<PostgresRows>> PostgresConnection::pipeline(std::span<const PostgresStatement> statements) {
  if (conn_ == nullptr) return Status::io_error("postgres: not connected");
  sql_state_.clear();
  std::vector<Marshalled> marshalled;
  marshalled.reserve(statements.size());
  std::vector<const std::string*> names(statements.size(), nullptr);
  for (std::size_t i = 0; i < statements.size(); ++i) {
    marshalled.emplace_back(statements[i].params);
    if (!statements[i].prepared) continue;
    Result<const std::string*> name = prepared_name(statements[i].sql, marshalled.back().types);
    if (!name.ok()) return name.status();
    names[i] = *name;
  }
  if (PQenterPipelineMode(conn_) != 1) return error_of(nullptr);
  bool sent = true;
  for (std::size_t i = 0; i < statements.size() && sent; ++i) {
    const Marshalled& m = marshalled[i];
    const int format = statements[i].binary_results ? 1 : 0;
    sent = names[i] != nullptr
               ? PQsendQueryPrepared(conn_, names[i]->c_str(), m.count(), m.values.data(), m.lengths.data(),
                                     m.formats.data(), format) == 1
               : PQsendQueryParams(conn_, std::string(statements[i].sql).c_str(), m.count(), m.types.data(),
                                   m.values.data(), m.lengths.data(), m.formats.data(), format) == 1;
  }
  if (!sent || PQpipelineSync(conn_) != 1) {
    // A half-sent pipeline leaves the protocol in an unknown state.
    const std::string message = trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    return Status::io_error("postgres: connection lost: " + message);
  }
  // Each statement's result is followed by a NULL; the sync ends the batch.
  std::vector<PostgresRows> results;
  Status first_error;
  while (true) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      if (broken()) break;
      continue;  // the end of one statement's results
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_SYNC) {
      PQclear(result);
      break;
    }
    PostgresRows rows(result);
    if (succeeded(result)) {
      results.push_back(std::move(rows));
    } else if (first_error.ok()) {
      first_error = status == PGRES_PIPELINE_ABORTED ? Status::invalid_argument("postgres: pipeline aborted")
                                                     : error_of(result);
    }
  }
  const std::string sql_state = sql_state_;
  if (conn_ != nullptr && !broken()) PQexitPipelineMode(conn_);
  sql_state_ = sql_state;
  if (broken() && first_error.ok()) first_error = error_of(nullptr);
  if (!first_error.ok()) return first_error;
  return results;
}

Status PostgresConnection::begin() { return exec("BEGIN"); }
Status PostgresConnection::commit() { return exec("COMMIT"); }
Status PostgresConnection::rollback() { return exec("ROLLBACK"); }

// ---- URIs -----------------------------------------------------------------------

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

Result<PostgresUri> parse_postgres_uri(std::string_view uri) {
  if (!uri.starts_with("postgres://") && !uri.starts_with("postgresql://")) {
    return Status::invalid_argument("a PostgreSQL URI starts with postgres:// or postgresql://, got '" +
                                    std::string(uri) + "'");
  }
  PostgresUri parsed;
  const std::size_t question = uri.find('?');
  std::string base(uri.substr(0, question));
  std::string kept;
  bool has_connect_timeout = false;
  std::string_view query = question == std::string_view::npos ? std::string_view() : uri.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    const std::string_view key = pair.substr(0, equals);
    const std::string_view value = equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    const auto number = [&](std::string_view what) -> Result<std::uint64_t> {
      std::uint64_t n = 0;
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (error != std::errc() || end != value.data() + value.size() || n == 0) {
        return Status::invalid_argument("URI parameter " + std::string(what) + " must be a positive integer, got '" +
                                        std::string(value) + "'");
      }
      return n;
    };
    if (key == "schema") {
      if (!valid_identifier(value)) {
        return Status::invalid_argument("URI parameter schema must be 1..63 letters, digits or '_', got '" +
                                        std::string(value) + "'");
      }
      parsed.schema = std::string(value);
    } else if (key == "pool") {
      Result<std::uint64_t> n = number(key);
      if (!n.ok()) return n.status();
      if (*n > 1000) return Status::invalid_argument("URI parameter pool must be at most 1000");
      parsed.pool = *n;
    } else if (key == "statement_timeout_ms") {
      Result<std::uint64_t> n = number(key);
      if (!n.ok()) return n.status();
      parsed.statement_timeout = std::chrono::milliseconds(*n);
    } else {
      if (key == "connect_timeout") has_connect_timeout = true;
      kept += (kept.empty() ? "" : "&") + std::string(pair);
    }
  }
  if (!has_connect_timeout) kept += (kept.empty() ? "" : "&") + std::string("connect_timeout=10");
  parsed.libpq_uri = base + "?" + kept;
  return parsed;
}

}  // namespace evsrc
