// ReadModelBuilds: what SqliteReadModels and PostgresReadModels share — the
// builds of SQL projections (one runner and one session per active build),
// the registry decisions of add() and rebuild(), the switch of a rebuild that
// has caught up, wait_for(). The database only shows through SqlSession
// (registry, transactions) and BuildTarget (the user's projection), so the
// logic is written once; the public classes add their own projection and
// connection types (see sqlite_read_model.h for the contracts).
//
// Threads: the owner calls add / rebuild / catch_up / start / stop. Live, each
// build's runner thread uses only its own session. The switch of a rebuild
// runs on the rebuilding build's thread (right after one of its batches), or
// on the owner thread in catch_up() / before a runner starts; it stops the
// replaced build's runner and drops its tables through its own session.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "evsrc/read_model_sql.h"

namespace evsrc {

// The user's projection seen through a session of its own database (the
// backend unwraps the session to its native connection).
class BuildTarget {
 public:
  virtual ~BuildTarget() = default;
  virtual std::string name() const = 0;
  virtual std::uint32_t version() const = 0;
  virtual EventFilter filter() const = 0;
  virtual Status create_tables(SqlSession& db, std::string_view table_suffix) = 0;
  virtual Status apply(SqlSession& db, const RecordedEvent& event, std::string_view table_suffix) = 0;
  virtual Status drop_tables(SqlSession& db, std::string_view table_suffix) = 0;
};

// A backend's projection (SqliteProjection, PostgresProjection) as a
// BuildTarget: `native` unwraps the backend's Session (every session the
// target is given was opened by that backend).
template <class Projection, class Session, auto native>
class ProjectionTarget final : public BuildTarget {
 public:
  static std::unique_ptr<BuildTarget> of(std::unique_ptr<Projection> projection) {
    if (projection == nullptr) return nullptr;
    return std::make_unique<ProjectionTarget>(std::move(projection));
  }
  explicit ProjectionTarget(std::unique_ptr<Projection> projection) : projection_(std::move(projection)) {}
  std::string name() const override { return projection_->name(); }
  std::uint32_t version() const override { return projection_->version(); }
  EventFilter filter() const override { return projection_->filter(); }
  Status create_tables(SqlSession& db, std::string_view table_suffix) override {
    return projection_->create_tables(unwrap(db), table_suffix);
  }
  Status apply(SqlSession& db, const RecordedEvent& event, std::string_view table_suffix) override {
    return projection_->apply(unwrap(db), event, table_suffix);
  }
  Status drop_tables(SqlSession& db, std::string_view table_suffix) override {
    return projection_->drop_tables(unwrap(db), table_suffix);
  }

 private:
  static auto& unwrap(SqlSession& db) { return (static_cast<Session&>(db).*native)(); }
  std::unique_ptr<Projection> projection_;
};

struct ReadModelBuildsOptions {
  std::uint64_t batch_size = 1000;
  std::chrono::milliseconds poll_interval{200};
  bool drop_retired_tables = true;
  // See ProjectionOptions::retry_after (0: a failed build stays failed).
  std::chrono::milliseconds retry_after{0};
  // Opens a session (one per build, one for the registry).
  std::function<Result<std::unique_ptr<SqlSession>>()> connect;
};

class ReadModelBuilds {
 public:
  // Opens the registry session and creates the registry table.
  static Result<std::unique_ptr<ReadModelBuilds>> open(EventStore& store, ReadModelBuildsOptions options);
  ~ReadModelBuilds();  // stop()
  ReadModelBuilds(const ReadModelBuilds&) = delete;
  ReadModelBuilds& operator=(const ReadModelBuilds&) = delete;

  Status add(std::unique_ptr<BuildTarget> target);
  Status rebuild(std::string_view name, std::unique_ptr<BuildTarget> target);
  Status catch_up();
  void start();
  void stop();
  // `name` empty: every serving build.
  Status wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout);
  Status wait_for_rebuild(std::string_view name, std::chrono::milliseconds timeout);
  Status drop_retired(std::string_view name);
  Result<std::string> serving_suffix(std::string_view name);
  Result<std::optional<std::uint32_t>> serving_version(std::string_view name);
  Result<std::vector<ReadModelBuild>> builds(std::string_view name);
  std::vector<ProjectionStatus> status() const;

 private:
  struct ActiveBuild;
  class SwitchingSink;
  ReadModelBuilds(EventStore& store, ReadModelBuildsOptions options);

  Result<ActiveBuild*> activate(std::unique_ptr<BuildTarget> target, ReadModelBuild build);
  // Switches `rebuilt` (a building build) to serving when its checkpoint is
  // at or after the serving build's and the store's head now (catch_up(),
  // add(), rebuild(): nothing else is committing, or it may wait).
  Status try_switch(ActiveBuild& rebuilt);
  // Live, after a batch of `rebuilt`: the same but against `head_before`,
  // the store head its runner read before that batch, since under steady
  // writes the head now is always a little ahead.
  Status try_switch_after_batch(ActiveBuild& rebuilt, std::optional<Position> head_before);
  Status switch_if_reached(ActiveBuild& rebuilt, std::optional<Position> required);
  // Drops the tables of `old` (its runner stopped) through `db`.
  Status drop_build(SqlSession& db, ActiveBuild& old);
  bool is_building(const ActiveBuild& active) const;
  std::vector<ActiveBuild*> active_with_role(ReadModelBuildRole role, std::string_view name = {}) const;

  EventStore& store_;
  const ReadModelBuildsOptions options_;

  std::mutex control_mutex_;  // guards `control_`, the session of registry reads and writes
  std::unique_ptr<SqlSession> control_;

  mutable std::mutex mutex_;  // guards the list and every ActiveBuild::build.role
  std::condition_variable changed_;
  std::vector<std::unique_ptr<ActiveBuild>> builds_;
  std::atomic<bool> live_{false};  // written by the owner thread, read by runner threads
};

}  // namespace evsrc
