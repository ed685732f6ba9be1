// PostgresConnection: a small RAII wrapper of one libpq connection that
// returns Status / Result and never throws. The PostgreSQL backend, the read
// models in PostgreSQL and the tools use it; applications may too (a read
// model's queries).
//
// Parameters are sent as text (or as bytes for PostgresValue::bytes, in
// binary format) with server-inferred types, and numbered $1, $2, ...
//
// Errors: io_error for a lost or failed connection (broken() is then true and
// the connection must be replaced; whether a COMMIT in flight took effect is
// unknown), invalid_argument for a statement the server refused (SQL errors,
// constraint violations; sql_state() tells which), timeout when the statement
// timeout cancelled it.
//
// Thread-safety: not thread-safe; one thread at a time.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/status.h"

struct pg_conn;
struct pg_result;

namespace evsrc {

// A statement parameter: NULL, an integer, text, or raw bytes (bytea). It
// views its text / bytes, which must outlive the call it is passed to.
class PostgresValue {
 public:
  enum class Kind : std::uint8_t { null, integer, text, bytes, binary };
  PostgresValue(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  template <std::integral T>
  PostgresValue(T value) : kind_(Kind::integer), integer_(static_cast<std::int64_t>(value)) {}  // NOLINT
  PostgresValue(std::string_view text) : kind_(Kind::text), text_(text) {}                      // NOLINT
  PostgresValue(const char* text) : kind_(Kind::text), text_(text) {}                           // NOLINT
  PostgresValue(const std::string& text) : kind_(Kind::text), text_(text) {}                    // NOLINT
  static PostgresValue bytes(std::string_view bytes) {
    PostgresValue value(bytes);
    value.kind_ = Kind::bytes;
    return value;
  }
  // A value already in PostgreSQL's binary format for the type `type_oid`
  // (e.g. an int8[] array built by the backend).
  static PostgresValue binary(std::string_view bytes, std::uint32_t type_oid) {
    PostgresValue value(bytes);
    value.kind_ = Kind::binary;
    value.type_oid_ = type_oid;
    return value;
  }
  Kind kind() const { return kind_; }
  std::int64_t integer() const { return integer_; }
  std::string_view text() const { return text_; }
  std::uint32_t type_oid() const { return type_oid_; }

 private:
  Kind kind_ = Kind::null;
  std::uint32_t type_oid_ = 0;
  std::int64_t integer_ = 0;
  std::string_view text_;
};

// The rows of one statement. Values are in text format, except bytea columns
// of a query run with binary results (query_binary).
class PostgresRows {
 public:
  PostgresRows() = default;
  explicit PostgresRows(pg_result* result);
  ~PostgresRows();
  PostgresRows(PostgresRows&& other) noexcept;
  PostgresRows& operator=(PostgresRows&& other) noexcept;
  PostgresRows(const PostgresRows&) = delete;
  PostgresRows& operator=(const PostgresRows&) = delete;

  int rows() const;
  int columns() const;
  bool is_null(int row, int column) const;
  // The value's bytes as sent by the server.
  std::string_view value(int row, int column) const;
  // A text integer column (0 for NULL).
  std::int64_t integer(int row, int column) const;
  std::string text(int row, int column) const { return std::string(value(row, column)); }
  // Rows changed by an INSERT / UPDATE / DELETE.
  std::int64_t affected() const;

 private:
  pg_result* result_ = nullptr;
};

// One statement of a pipeline.
struct PostgresStatement {
  std::string_view sql;
  std::span<const PostgresValue> params;
  bool binary_results = false;
  // Prepared once per connection (by its text) and executed by name after:
  // no parse and plan per call. For the hot, fixed statements of a program;
  // not for DDL or statements on tables that get replaced.
  bool prepared = false;
};

struct PostgresConnectOptions {
  // Schema put first on the search_path (created when `create_schema`); empty
  // keeps the server's default.
  std::string schema;
  bool create_schema = true;
  std::chrono::milliseconds statement_timeout{30000};
};

class PostgresConnection {
 public:
  // `uri`: a libpq URI or key=value string (without evsrc's own parameters;
  // see postgres.h and parse_postgres_uri()).
  static Result<PostgresConnection> connect(const std::string& uri, const PostgresConnectOptions& options = {});

  PostgresConnection() = default;
  ~PostgresConnection();
  PostgresConnection(PostgresConnection&& other) noexcept;
  PostgresConnection& operator=(PostgresConnection&& other) noexcept;
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  bool is_open() const { return conn_ != nullptr; }
  // True after an error that lost the connection.
  bool broken() const;
  // Whether the connection still works, as far as can be told without a
  // round trip (reads what the server sent meanwhile, e.g. that it closed).
  bool alive();
  // True inside a transaction block (also a failed one awaiting ROLLBACK).
  bool in_transaction() const;

  // Runs one or more statements without parameters (DDL, BEGIN, ...).
  Status exec(std::string_view sql);
  // Runs one statement; its rows (text results).
  Result<PostgresRows> query(std::string_view sql, std::initializer_list<PostgresValue> params = {});
  Result<PostgresRows> query(std::string_view sql, std::span<const PostgresValue> params);
  // The same with every result column in binary format (bytea as raw bytes,
  // int8 as 8 big-endian bytes).
  Result<PostgresRows> query_binary(std::string_view sql, std::span<const PostgresValue> params);
  // query() / query_binary() through a statement prepared once per
  // connection (see PostgresStatement::prepared).
  Result<PostgresRows> query_prepared(std::string_view sql, std::span<const PostgresValue> params,
                                      bool binary_results);
  // Runs one statement without rows; the number of rows it changed.
  Result<std::int64_t> execute(std::string_view sql, std::initializer_list<PostgresValue> params = {});

  // Sends every statement at once and then reads their results: one round
  // trip for all (libpq's pipeline mode). The server runs them in order;
  // after a failure the later ones are skipped (a transaction block they were
  // in is then aborted: ROLLBACK). Returns every statement's rows, or the
  // first error.
  Result<std::vector<PostgresRows>> pipeline(std::span<const PostgresStatement> statements);

  Status begin();  // BEGIN
  Status commit();
  Status rollback();

  // SQLSTATE of the last failed statement ("40P01" deadlock, "23505" unique
  // violation, ...); empty when it succeeded or the connection failed.
  const std::string& sql_state() const { return sql_state_; }

  // The raw handle, for what this wrapper does not cover (LISTEN, COPY).
  pg_conn* handle() { return conn_; }

 private:
  explicit PostgresConnection(pg_conn* conn) : conn_(conn) {}
  Result<PostgresRows> run(std::string_view sql, std::span<const PostgresValue> params, int result_format,
                           bool prepared = false);
  // The error of a failed result (nullptr: the connection's), with sql_state_.
  Status error_of(const pg_result* result);
  // The name `sql` is prepared under on this connection (prepares it first).
  Result<const std::string*> prepared_name(std::string_view sql, const std::vector<unsigned int>& types);
  pg_conn* conn_ = nullptr;
  std::string sql_state_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name
};

// evsrc's parameters split off a postgres:// URI (see postgres.h).
struct PostgresUri {
  std::string libpq_uri;  // what libpq gets
  std::string schema = "evsrc";
  std::size_t pool = 8;
  std::chrono::milliseconds statement_timeout{30000};
};
// invalid_argument for a URI that is not postgres:// or postgresql://, or a
// bad value of one of evsrc's parameters.
Result<PostgresUri> parse_postgres_uri(std::string_view uri);

// A quoted SQL identifier: "name" with embedded quotes doubled.
std::string quote_identifier(std::string_view name);

}  // namespace evsrc
