#include "projection/projection_fixture.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace evsrc_projection_test {

void ProjectionTest::SetUp() {
  std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-projection-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  directory_ = pattern;
  Result<std::unique_ptr<EventStore>> opened = open_store(store_uri());
  ASSERT_TRUE(IsOk(opened));
  store_ = std::move(*opened);
}

void ProjectionTest::TearDown() {
  if (store_) {
    EXPECT_TRUE(IsOk(store_->close()));
  }
  store_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

std::string ProjectionTest::store_uri() const {
  return GetParam() == "file" ? "file:" + (directory_ / "store").string() : "memory:";
}

void ProjectionTest::reopen_store() {
  ASSERT_TRUE(persists());
  ASSERT_TRUE(IsOk(store_->close()));
  store_.reset();
  Result<std::unique_ptr<EventStore>> opened = open_store(store_uri());
  ASSERT_TRUE(IsOk(opened));
  store_ = std::move(*opened);
}

void ProjectionTest::replace_store() {
  ASSERT_TRUE(IsOk(store_->close()));
  store_.reset();
  if (persists()) {
    std::error_code error;
    std::filesystem::remove_all(directory_ / "store", error);
    ASSERT_FALSE(error) << error.message();
  }
  Result<std::unique_ptr<EventStore>> opened = open_store(store_uri());
  ASSERT_TRUE(IsOk(opened));
  store_ = std::move(*opened);
}

Position ProjectionTest::append(const std::string& stream, const std::string& type, const std::string& data,
                                int count) {
  std::vector<EventData> events(static_cast<std::size_t>(count));
  for (EventData& event : events) {
    event.type = type;
    event.data = data;
  }
  Result<AppendResult> appended = store_->append(stream, ExpectedRevision::any(), events);
  EXPECT_TRUE(IsOk(appended));
  return appended.ok() ? appended->position : 0;
}

std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

// ---- RecordingSink -----------------------------------------------------------------

Result<std::optional<Position>> RecordingSink::checkpoint() {
  std::lock_guard lock(mutex_);
  return checkpoint_;
}

Status RecordingSink::apply(std::span<const RecordedEvent> events, Position checkpoint) {
  std::lock_guard lock(mutex_);
  for (const RecordedEvent& event : events) {
    if (!fail_on_type_.empty() && event.type == fail_on_type_) {
      return Status::invalid_argument("cannot apply " + event.type + " at " + std::to_string(event.position));
    }
  }
  if (checkpoint_ && checkpoint < *checkpoint_) return Status::invalid_argument("checkpoint went back");
  events_.insert(events_.end(), events.begin(), events.end());
  batch_sizes_.push_back(events.size());
  checkpoint_ = checkpoint;
  return Status();
}

std::vector<RecordedEvent> RecordingSink::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<std::size_t> RecordingSink::batch_sizes() const {
  std::lock_guard lock(mutex_);
  return batch_sizes_;
}

std::optional<Position> RecordingSink::stored_checkpoint() const {
  std::lock_guard lock(mutex_);
  return checkpoint_;
}

void RecordingSink::fail_on_type(std::string type) {
  std::lock_guard lock(mutex_);
  fail_on_type_ = std::move(type);
}

// ---- UsersProjection ---------------------------------------------------------------

Status UsersProjection::create_tables(SqliteDatabase& db, std::string_view table_suffix) {
  const std::string suffix(table_suffix);
  const std::string extra = version_ >= 2 ? ", name_upper TEXT" : "";
  return db.exec("CREATE TABLE users" + suffix + " (stream TEXT PRIMARY KEY, name TEXT, revision INTEGER" + extra +
                 "); CREATE TABLE applied" + suffix + " (position INTEGER PRIMARY KEY)");
}

Status UsersProjection::apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view table_suffix) {
  const std::string suffix(table_suffix);
  if (event.type == "Poison" && poisoned_ && poisoned_->load()) {
    return Status::invalid_argument("poisoned event " + event.stream);
  }
  if (Status status = db.execute("INSERT INTO applied" + suffix + " (position) VALUES (?)", {event.position});
      !status.ok()) {
    return status;
  }
  if (event.type != "NameSet") return Status();
  if (version_ >= 2) {
    std::string upper = event.data;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    return db.execute(
        "INSERT OR REPLACE INTO users" + suffix + " (stream, name, revision, name_upper) VALUES (?, ?, ?, ?)",
        {event.stream, event.data, event.revision, upper});
  }
  return db.execute("INSERT OR REPLACE INTO users" + suffix + " (stream, name, revision) VALUES (?, ?, ?)",
                    {event.stream, event.data, event.revision});
}

Status UsersProjection::drop_tables(SqliteDatabase& db, std::string_view table_suffix) {
  const std::string suffix(table_suffix);
  return db.exec("DROP TABLE users" + suffix + "; DROP TABLE applied" + suffix);
}

// ---- reads ---------------------------------------------------------------------------

namespace {

SqliteDatabase reader(const std::string& sqlite_path) {
  SqliteOpenOptions options;
  options.read_only = true;
  Result<SqliteDatabase> db = SqliteDatabase::open(sqlite_path, options);
  EXPECT_TRUE(IsOk(db));
  return db.ok() ? std::move(*db) : SqliteDatabase();
}

}  // namespace

std::vector<Position> applied_positions(const std::string& sqlite_path, const std::string& suffix) {
  SqliteDatabase db = reader(sqlite_path);
  std::vector<Position> positions;
  Result<SqliteStatement> query = db.prepare("SELECT position FROM applied" + suffix + " ORDER BY position");
  EXPECT_TRUE(IsOk(query));
  if (!query.ok()) return positions;
  while (true) {
    Result<bool> row = query->step();
    EXPECT_TRUE(IsOk(row));
    if (!row.ok() || !*row) return positions;
    positions.push_back(static_cast<Position>(query->column_int64(0)));
  }
}

std::optional<std::string> user_name(const std::string& sqlite_path, const std::string& suffix,
                                     const std::string& stream) {
  SqliteDatabase db = reader(sqlite_path);
  Result<SqliteStatement> query = db.prepare("SELECT name FROM users" + suffix + " WHERE stream = ?");
  EXPECT_TRUE(IsOk(query));
  if (!query.ok()) return std::nullopt;
  EXPECT_TRUE(IsOk(query->bind_all({stream})));
  Result<bool> row = query->step();
  EXPECT_TRUE(IsOk(row));
  if (!row.ok() || !*row) return std::nullopt;
  return query->column_text(0);
}

bool table_exists(const std::string& sqlite_path, const std::string& table) {
  SqliteDatabase db = reader(sqlite_path);
  Result<SqliteStatement> query = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  EXPECT_TRUE(IsOk(query));
  if (!query.ok()) return false;
  EXPECT_TRUE(IsOk(query->bind_all({table})));
  Result<bool> row = query->step();
  return row.ok() && *row;
}

std::vector<Position> all_positions(EventStore& store, const EventFilter& filter) {
  std::vector<Position> positions;
  AllReadOptions options;
  options.filter = filter;
  options.limit = 1000;
  options.from = 0;
  while (true) {
    Result<AllPage> page = store.read_all(options);
    EXPECT_TRUE(IsOk(page));
    if (!page.ok()) return positions;
    for (const RecordedEvent& event : page->events) positions.push_back(event.position);
    if (!page->next) return positions;
    options.from = page->next;
  }
}

}  // namespace evsrc_projection_test
