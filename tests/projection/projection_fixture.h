// Shared pieces of the projection tests: a fixture with a store per backend
// ("memory:" or "file:<tmpdir>") and a temporary directory for SQLite files,
// a recording in-memory sink, and a small SQLite projection ("users") whose
// `applied` table has the position as primary key, so an event applied twice
// fails loudly and a lost one shows as a gap.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc_projection_test {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.to_string();
}
template <typename T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  return IsOk(result.status());
}

constexpr std::chrono::milliseconds kLongWait{10000};

// A store of the backend named by the test parameter, in a fresh temporary
// directory (also used for SQLite files), removed at the end.
class ProjectionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string store_uri() const;
  bool persists() const { return GetParam() == "file"; }
  // Closes the store and opens the same URI again (file: only).
  void reopen_store();
  // Replaces the store by an empty one at the same URI ("memory:": a new
  // store; "file:": the log directory is deleted and created again), as when
  // a store is lost or recreated while the read models are kept.
  void replace_store();
  std::string sqlite_path() const { return (directory_ / "read-models.sqlite").string(); }

  // Appends events of `type` with data `data` to `stream`; returns the
  // position of the last one.
  Position append(const std::string& stream, const std::string& type, const std::string& data, int count = 1);

  EventStore& store() { return *store_; }

  std::filesystem::path directory_;
  std::unique_ptr<EventStore> store_;
};

std::string backend_name(const ::testing::TestParamInfo<std::string>& info);

// Keeps every batch; fails apply() while `fail_on_type` names the type of
// one of the batch's events.
class RecordingSink : public ProjectionSink {
 public:
  Result<std::optional<Position>> checkpoint() override;
  Status apply(std::span<const RecordedEvent> events, Position checkpoint) override;

  std::vector<RecordedEvent> events() const;
  std::vector<std::size_t> batch_sizes() const;
  std::optional<Position> stored_checkpoint() const;
  void fail_on_type(std::string type);

 private:
  mutable std::mutex mutex_;
  std::vector<RecordedEvent> events_;
  std::vector<std::size_t> batch_sizes_;
  std::optional<Position> checkpoint_;
  std::string fail_on_type_;
};

// The "users" projection: users<suffix>(stream, name, revision) and
// applied<suffix>(position PRIMARY KEY). Version 2 adds name_upper. Events of
// type "Poison" fail while `poisoned` is true.
class UsersProjection : public SqliteProjection {
 public:
  UsersProjection(std::uint32_t version, std::shared_ptr<std::atomic<bool>> poisoned = nullptr, EventFilter filter = {})
      : version_(version), poisoned_(std::move(poisoned)), filter_(std::move(filter)) {}
  std::string name() const override { return "users"; }
  std::uint32_t version() const override { return version_; }
  EventFilter filter() const override { return filter_; }
  Status create_tables(SqliteDatabase& db, std::string_view table_suffix) override;
  Status apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view table_suffix) override;
  Status drop_tables(SqliteDatabase& db, std::string_view table_suffix) override;

 private:
  std::uint32_t version_;
  std::shared_ptr<std::atomic<bool>> poisoned_;
  EventFilter filter_;
};

// Reads through a fresh connection.
std::vector<Position> applied_positions(const std::string& sqlite_path, const std::string& suffix);
std::optional<std::string> user_name(const std::string& sqlite_path, const std::string& suffix,
                                     const std::string& stream);
bool table_exists(const std::string& sqlite_path, const std::string& table);

// Every position of $all events matching `filter`, in order.
std::vector<Position> all_positions(EventStore& store, const EventFilter& filter = {});

}  // namespace evsrc_projection_test
