// SqliteSqlSession: a SqliteDatabase behind the portable SqlSession, and the
// registry reads through a SqliteDatabase.
#include "evsrc/sqlite_read_model.h"

namespace evsrc {

Status SqliteSqlSession::exec(std::string_view sql) { return db_->exec(sql); }

Result<std::int64_t> SqliteSqlSession::execute(std::string_view sql, std::initializer_list<SqlValue> params) {
  if (Status status = db_->execute(sql_placeholders_for_sqlite(sql), params); !status.ok()) return status;
  return db_->changes();
}

Result<SqlRows> SqliteSqlSession::query(std::string_view sql, std::initializer_list<SqlValue> params) {
  Result<SqliteStatement> statement = db_->prepare(sql_placeholders_for_sqlite(sql));
  if (!statement.ok()) return statement.status();
  if (Status status = statement->bind_all(params); !status.ok()) return status;
  SqlRows rows;
  while (true) {
    Result<bool> row = statement->step();
    if (!row.ok()) return row.status();
    if (!*row) return rows;
    std::vector<std::optional<std::string>>& columns = rows.rows.emplace_back();
    for (int column = 0; column < statement->column_count(); ++column) {
      if (statement->column_is_null(column)) {
        columns.emplace_back();
      } else {
        columns.emplace_back(statement->column_text(column));
      }
    }
  }
}

Status SqliteSqlSession::begin() { return db_->begin(); }
Status SqliteSqlSession::commit() { return db_->commit(); }
Status SqliteSqlSession::rollback() { return db_->rollback(); }
Status SqliteSqlSession::begin_read() { return db_->execute("BEGIN DEFERRED"); }

Result<std::string> serving_table_suffix(SqliteDatabase& db, std::string_view name) {
  SqliteSqlSession session(db);
  return serving_table_suffix(session, name);
}

Result<std::vector<SqliteBuild>> list_sqlite_builds(SqliteDatabase& db, std::string_view name) {
  SqliteSqlSession session(db);
  return list_read_model_builds(session, name);
}

}  // namespace evsrc
