// The SQLite wrapper: connections, statements, transactions, errors.
#include "projection/projection_fixture.h"

namespace evsrc_projection_test {
namespace {

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    directory_ = pattern;
    Result<SqliteDatabase> db = SqliteDatabase::open(path());
    ASSERT_TRUE(IsOk(db));
    db_ = std::move(*db);
    ASSERT_TRUE(IsOk(db_.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, note TEXT)")));
  }
  void TearDown() override {
    db_ = SqliteDatabase();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  std::string path() const { return (directory_ / "db.sqlite").string(); }
  std::int64_t count_rows(SqliteDatabase& db) {
    Result<SqliteStatement> query = db.prepare("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(IsOk(query));
    Result<bool> row = query->step();
    EXPECT_TRUE(row.ok() && *row);
    return query->column_int64(0);
  }

  std::filesystem::path directory_;
  SqliteDatabase db_;
};

TEST_F(SqliteDatabaseTest, OpensInWalMode) {
  Result<SqliteStatement> mode = db_.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(IsOk(mode));
  Result<bool> row = mode->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST_F(SqliteDatabaseTest, BindsAndReadsValues) {
  const std::string name = "Homer";
  ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id, name, note) VALUES (?, ?, ?)", {1, name, nullptr})));
  ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id, name, note) VALUES (?, ?, ?)",
                               {std::int64_t{1} << 40, std::string_view("Bart"), "b"})));
  EXPECT_EQ(db_.changes(), 1);
  Result<SqliteStatement> query = db_.prepare("SELECT id, name, note FROM t WHERE id >= ? ORDER BY id");
  ASSERT_TRUE(IsOk(query));
  ASSERT_TRUE(IsOk(query->bind(1, 0)));
  Result<bool> row = query->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query->column_count(), 3);
  EXPECT_EQ(query->column_int64(0), 1);
  EXPECT_EQ(query->column_text(1), "Homer");
  EXPECT_TRUE(query->column_is_null(2));
  row = query->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(query->column_int64(0), std::int64_t{1} << 40);
  EXPECT_EQ(query->column_text(2), "b");
  row = query->step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row);
  // Bound text is copied by SqliteStatement::bind: the temporary may go away.
  query->reset();
  ASSERT_TRUE(IsOk(query->bind(1, std::string("2"))));
  row = query->step();
  ASSERT_TRUE(row.ok() && *row);
}

TEST_F(SqliteDatabaseTest, ErrorsCarrySqliteMessages) {
  Status bad = db_.exec("CREATE TABLE (x)");
  EXPECT_EQ(bad.code(), ErrorCode::io_error);
  EXPECT_NE(bad.message().find("syntax error"), std::string::npos) << bad.message();
  Result<SqliteStatement> missing = db_.prepare("SELECT * FROM nowhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such table: nowhere"), std::string::npos);
  ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id) VALUES (?)", {5})));
  Status duplicate = db_.execute("INSERT INTO t (id) VALUES (?)", {5});
  EXPECT_NE(duplicate.message().find("UNIQUE constraint failed"), std::string::npos) << duplicate.message();
  // The cached statement still works after a failure.
  EXPECT_TRUE(IsOk(db_.execute("INSERT INTO t (id) VALUES (?)", {6})));
  Result<SqliteDatabase> nowhere = SqliteDatabase::open((directory_ / "no" / "such" / "dir.sqlite").string());
  EXPECT_FALSE(nowhere.ok());
  EXPECT_FALSE(SqliteStatement().step().ok());
}

TEST_F(SqliteDatabaseTest, TransactionsCommitOrRollBack) {
  Result<SqliteDatabase> other = SqliteDatabase::open(path());
  ASSERT_TRUE(IsOk(other));
  ASSERT_TRUE(IsOk(db_.begin()));
  EXPECT_TRUE(db_.in_transaction());
  ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id) VALUES (1)")));
  EXPECT_EQ(count_rows(*other), 0);  // not committed: invisible to other connections
  ASSERT_TRUE(IsOk(db_.rollback()));
  EXPECT_FALSE(db_.in_transaction());
  EXPECT_EQ(count_rows(db_), 0);
  ASSERT_TRUE(IsOk(db_.begin()));
  ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id) VALUES (1)")));
  ASSERT_TRUE(IsOk(db_.commit()));
  EXPECT_EQ(count_rows(*other), 1);
  EXPECT_TRUE(IsOk(db_.rollback()));  // no transaction: nothing to do
}

TEST_F(SqliteDatabaseTest, ReadTransactionSeesOneSnapshot) {
  Result<SqliteDatabase> reader = SqliteDatabase::open(path());
  ASSERT_TRUE(IsOk(reader));
  {
    SqliteReadTransaction transaction(*reader);
    ASSERT_TRUE(IsOk(transaction.status()));
    EXPECT_EQ(count_rows(*reader), 0);
    ASSERT_TRUE(IsOk(db_.execute("INSERT INTO t (id) VALUES (1)")));  // WAL: the writer is not blocked
    EXPECT_EQ(count_rows(*reader), 0);
    ASSERT_TRUE(IsOk(transaction.end()));
  }
  EXPECT_EQ(count_rows(*reader), 1);
}

}  // namespace
}  // namespace evsrc_projection_test
