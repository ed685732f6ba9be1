// PostgresSqlSession: a reconnecting PostgresConnection behind SqlSession.
#include <utility>
#include <vector>

#include "evsrc/postgres_read_model.h"

namespace evsrc {
namespace {

std::vector<PostgresValue> postgres_values(std::initializer_list<SqlValue> params) {
  std::vector<PostgresValue> values;
  values.reserve(params.size());
  for (const SqlValue& param : params) {
    switch (param.kind()) {
      case SqlValue::Kind::null:
        values.emplace_back(nullptr);
        break;
      case SqlValue::Kind::integer:
        values.emplace_back(param.integer());
        break;
      case SqlValue::Kind::text:
        values.emplace_back(param.text());
        break;
    }
  }
  return values;
}

}  // namespace

Result<std::unique_ptr<PostgresSqlSession>> PostgresSqlSession::connect(std::string libpq_uri,
                                                                        PostgresConnectOptions options) {
  Result<PostgresConnection> connection = PostgresConnection::connect(libpq_uri, options);
  if (!connection.ok()) return connection.status();
  return std::unique_ptr<PostgresSqlSession>(
      new PostgresSqlSession(std::move(libpq_uri), std::move(options), std::move(*connection)));
}

Status PostgresSqlSession::ensure_connected() {
  if (!connection_->broken() || in_transaction_ || uri_.empty()) return Status();
  Result<PostgresConnection> connection = PostgresConnection::connect(uri_, options_);
  if (!connection.ok()) return connection.status();
  owned_ = std::move(*connection);
  return Status();
}

Status PostgresSqlSession::exec(std::string_view sql) {
  if (Status status = ensure_connected(); !status.ok()) return status;
  return connection_->exec(sql);
}

Result<std::int64_t> PostgresSqlSession::execute(std::string_view sql, std::initializer_list<SqlValue> params) {
  if (Status status = ensure_connected(); !status.ok()) return status;
  const std::vector<PostgresValue> values = postgres_values(params);
  Result<PostgresRows> rows = connection_->query(sql, std::span<const PostgresValue>(values));
  if (!rows.ok()) return rows.status();
  return rows->affected();
}

Result<SqlRows> PostgresSqlSession::query(std::string_view sql, std::initializer_list<SqlValue> params) {
  if (Status status = ensure_connected(); !status.ok()) return status;
  const std::vector<PostgresValue> values = postgres_values(params);
  Result<PostgresRows> result = connection_->query(sql, std::span<const PostgresValue>(values));
  if (!result.ok()) return result.status();
  SqlRows rows;
  rows.rows.resize(static_cast<std::size_t>(result->rows()));
  for (int row = 0; row < result->rows(); ++row) {
    std::vector<std::optional<std::string>>& columns = rows.rows[static_cast<std::size_t>(row)];
    for (int column = 0; column < result->columns(); ++column) {
      if (result->is_null(row, column)) {
        columns.emplace_back();
      } else {
        columns.emplace_back(result->text(row, column));
      }
    }
  }
  return rows;
}

Status PostgresSqlSession::begin() {
  in_transaction_ = false;  // a transaction lost with its connection is over
  if (Status status = ensure_connected(); !status.ok()) return status;
  Status status = connection_->begin();
  in_transaction_ = status.ok();
  return status;
}

Status PostgresSqlSession::begin_read() {
  in_transaction_ = false;
  if (Status status = ensure_connected(); !status.ok()) return status;
  Status status = connection_->exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  in_transaction_ = status.ok();
  return status;
}

Status PostgresSqlSession::commit() {
  in_transaction_ = false;
  return connection_->commit();
}

Status PostgresSqlSession::rollback() {
  in_transaction_ = false;
  // Nothing to roll back on a lost connection (the server did) or outside
  // a transaction.
  if (connection_->broken() || !connection_->in_transaction()) return Status();
  return connection_->rollback();
}

}  // namespace evsrc
