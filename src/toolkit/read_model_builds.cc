// ReadModelBuilds (see read_model_builds.h and sqlite_read_model.h).
#include "toolkit/read_model_builds.h"

#include <algorithm>
#include <utility>

#include "toolkit/read_model_registry.h"

namespace evsrc {
namespace {

// How long one wait slice lasts when a wait must also notice switches and
// failures that do not signal the waiter.
constexpr std::chrono::milliseconds kWaitSlice{50};

// Orders checkpoints with "nothing applied" below every position.
bool at_or_after(std::optional<Position> a, std::optional<Position> b) { return !b || (a && *a >= *b); }

// Rolls back `db` and returns `status` (the registry decisions' early exits).
Status abort_with(SqlSession& db, Status status) {
  (void)db.rollback();
  return status;
}

// Registers a new build of `target` in `role` and creates its tables, inside
// the caller's transaction.
Result<ReadModelBuild> create_build(SqlSession& db, BuildTarget& target, std::string_view name,
                                    std::uint32_t version, ReadModelBuildRole role) {
  Result<ReadModelBuild> created = read_model_registry::insert_build(db, name, version, role);
  if (!created.ok()) return created;
  if (Status status = target.create_tables(db, created->table_suffix); !status.ok()) return status;
  return created;
}

}  // namespace

// The exactly-once batch of one build through its target.
class TargetSink final : public SqlProjectionSink {
 public:
  TargetSink(SqlSession& db, BuildTarget& target, const ReadModelBuild& build)
      : SqlProjectionSink(build.name, build.build, build.table_suffix), db_(db), target_(target) {}

 private:
  SqlSession& session() override { return db_; }
  Status apply_event(const RecordedEvent& event, std::string_view table_suffix) override {
    return target_.apply(db_, event, table_suffix);
  }
  SqlSession& db_;
  BuildTarget& target_;
};

struct ReadModelBuilds::ActiveBuild {
  std::unique_ptr<BuildTarget> target;
  ReadModelBuild build;            // role: guarded by ReadModelBuilds::mutex_
  std::unique_ptr<SqlSession> db;  // used by the thread running this build only
  std::unique_ptr<TargetSink> table_sink;
  std::unique_ptr<ProjectionSink> sink;  // table_sink + the switch after each batch
  std::unique_ptr<ProjectionRunner> runner;
};

// Applies a batch in one transaction, then tries the switch of a rebuild.
class ReadModelBuilds::SwitchingSink final : public ProjectionSink {
 public:
  SwitchingSink(ReadModelBuilds& owner, ActiveBuild& active) : owner_(owner), active_(active) {}
  Result<std::optional<Position>> checkpoint() override { return active_.table_sink->checkpoint(); }
  Status apply(std::span<const RecordedEvent> events, Position checkpoint) override {
    if (Status status = active_.table_sink->apply(events, checkpoint); !status.ok()) return status;
    return owner_.try_switch(active_);
  }
  Status apply_batch(std::span<const RecordedEvent> events, Position checkpoint,
                     std::optional<Position> head_before) override {
    if (Status status = active_.table_sink->apply(events, checkpoint); !status.ok()) return status;
    // Live, the store may never be quiet: the batch reaching the head read
    // before it was read is enough (see try_switch_after_batch).
    if (owner_.live_.load()) return owner_.try_switch_after_batch(active_, head_before);
    return owner_.try_switch(active_);
  }

 private:
  ReadModelBuilds& owner_;
  ActiveBuild& active_;
};

ReadModelBuilds::ReadModelBuilds(EventStore& store, ReadModelBuildsOptions options)
    : store_(store), options_(std::move(options)) {}

ReadModelBuilds::~ReadModelBuilds() { stop(); }

Result<std::unique_ptr<ReadModelBuilds>> ReadModelBuilds::open(EventStore& store, ReadModelBuildsOptions options) {
  if (options.batch_size == 0) return Status::invalid_argument("read models: batch_size must be at least 1");
  std::unique_ptr<ReadModelBuilds> builds(new ReadModelBuilds(store, std::move(options)));
  Result<std::unique_ptr<SqlSession>> control = builds->options_.connect();
  if (!control.ok()) return control.status();
  builds->control_ = std::move(*control);
  if (Status status = read_model_registry::ensure_schema(*builds->control_); !status.ok()) return status;
  return builds;
}

Result<ReadModelBuilds::ActiveBuild*> ReadModelBuilds::activate(std::unique_ptr<BuildTarget> target,
                                                                ReadModelBuild build) {
  auto active = std::make_unique<ActiveBuild>();
  Result<std::unique_ptr<SqlSession>> db = options_.connect();
  if (!db.ok()) return db.status();
  active->db = std::move(*db);
  active->target = std::move(target);
  active->build = std::move(build);
  active->table_sink = std::make_unique<TargetSink>(*active->db, *active->target, active->build);
  active->sink = std::make_unique<SwitchingSink>(*this, *active);
  ProjectionOptions runner_options;
  runner_options.name = active->build.name;
  runner_options.version = active->build.version;
  runner_options.filter = active->target->filter();
  runner_options.batch_size = options_.batch_size;
  runner_options.poll_interval = options_.poll_interval;
  runner_options.retry_after = options_.retry_after;
  active->runner = std::make_unique<ProjectionRunner>(store_, *active->sink, std::move(runner_options));
  ActiveBuild* pointer = active.get();
  std::lock_guard lock(mutex_);
  builds_.push_back(std::move(active));
  return pointer;
}

std::vector<ReadModelBuilds::ActiveBuild*> ReadModelBuilds::active_with_role(ReadModelBuildRole role,
                                                                             std::string_view name) const {
  std::lock_guard lock(mutex_);
  std::vector<ActiveBuild*> found;
  for (const auto& active : builds_) {
    if (active->build.role == role && (name.empty() || active->build.name == name)) found.push_back(active.get());
  }
  return found;
}

bool ReadModelBuilds::is_building(const ActiveBuild& active) const {
  std::lock_guard lock(mutex_);
  return active.build.role == ReadModelBuildRole::building;
}

Status ReadModelBuilds::try_switch(ActiveBuild& rebuilt) {
  if (!is_building(rebuilt)) return Status();
  Result<StoreStats> stats = store_.stats();
  if (!stats.ok()) return stats.status();
  return switch_if_reached(rebuilt, stats->last_position);
}

Status ReadModelBuilds::try_switch_after_batch(ActiveBuild& rebuilt, std::optional<Position> head_before) {
  if (!is_building(rebuilt)) return Status();
  return switch_if_reached(rebuilt, head_before);
}

Status ReadModelBuilds::switch_if_reached(ActiveBuild& rebuilt, std::optional<Position> required) {
  SqlSession& db = *rebuilt.db;
  if (Status status = db.begin(); !status.ok()) return status;
  Result<std::vector<ReadModelBuild>> rows = list_read_model_builds(db, rebuilt.build.name);
  if (!rows.ok()) return abort_with(db, rows.status());
  const ReadModelBuild* serving = nullptr;
  const ReadModelBuild* self = nullptr;
  for (const ReadModelBuild& row : *rows) {
    if (row.role == ReadModelBuildRole::serving) serving = &row;
    if (row.build == rebuilt.build.build) self = &row;
  }
  // Caught up: as far as the build it replaces (so no query sees the read
  // model go back; read in this write transaction, so the serving build
  // cannot move past it before the switch commits) and as far as `required`
  // (the store head now, or live the head read before the last batch).
  std::optional<Position> serving_position = serving ? serving->position : std::nullopt;
  if (self != nullptr && !at_or_after(self->position, serving_position)) {
    // A serving checkpoint beyond the store's head belongs to another history
    // (the store was replaced; its runner fails, see ProjectionRunner). It can
    // never be reached, and this rebuild is the way out: it does not count.
    // (A checkpoint of this store is <= its head, which only grows.)
    Result<StoreStats> stats = store_.stats();
    if (!stats.ok()) return abort_with(db, stats.status());
    if (!stats->last_position || *stats->last_position < *serving_position) serving_position.reset();
  }
  const bool caught_up = self != nullptr && self->role == ReadModelBuildRole::building &&
                         at_or_after(self->position, serving_position) && at_or_after(self->position, required);
  if (!caught_up) return db.rollback();
  std::optional<std::int64_t> replaced;
  if (serving != nullptr) {
    replaced = serving->build;
    if (Status status =
            read_model_registry::set_role(db, rebuilt.build.name, serving->build, ReadModelBuildRole::retired);
        !status.ok()) {
      return abort_with(db, status);
    }
  }
  if (Status status =
          read_model_registry::set_role(db, rebuilt.build.name, rebuilt.build.build, ReadModelBuildRole::serving);
      !status.ok()) {
    return abort_with(db, status);
  }
  if (Status status = db.commit(); !status.ok()) return abort_with(db, status);

  ActiveBuild* old = nullptr;
  {
    std::lock_guard lock(mutex_);
    rebuilt.build.role = ReadModelBuildRole::serving;
    for (const auto& active : builds_) {
      if (replaced && active->build.name == rebuilt.build.name && active->build.build == *replaced) {
        active->build.role = ReadModelBuildRole::retired;
        old = active.get();
      }
    }
  }
  changed_.notify_all();
  if (old == nullptr) return Status();
  old->runner->stop();
  if (!options_.drop_retired_tables) return Status();
  // The old build's runner is stopped: nobody else writes its tables.
  return drop_build(db, *old);
}

Status ReadModelBuilds::drop_build(SqlSession& db, ActiveBuild& old) {
  if (Status status = db.begin(); !status.ok()) return status;
  Status dropped = old.target->drop_tables(db, old.build.table_suffix);
  if (dropped.ok()) {
    dropped = read_model_registry::set_role(db, old.build.name, old.build.build, ReadModelBuildRole::dropped);
  }
  if (dropped.ok()) dropped = db.commit();
  if (!dropped.ok()) return abort_with(db, dropped);
  {
    std::lock_guard lock(mutex_);
    old.build.role = ReadModelBuildRole::dropped;
  }
  changed_.notify_all();
  return Status();
}

Status ReadModelBuilds::wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + clamp_projection_wait(timeout);
  while (true) {
    const std::vector<ActiveBuild*> serving = active_with_role(ReadModelBuildRole::serving, name);
    if (serving.empty() && !name.empty()) {
      return Status::not_found("no build of projection " + std::string(name) + " is serving here");
    }
    const ActiveBuild* behind = nullptr;
    for (ActiveBuild* active : serving) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      const std::chrono::milliseconds slice = std::clamp(left, std::chrono::milliseconds(0), kWaitSlice);
      if (active->runner->wait_for(position, slice)) continue;
      const ProjectionStatus status = active->runner->status();
      if (status.state == ProjectionState::failed) {
        return Status::io_error("projection " + active->build.name + active->build.table_suffix +
                                " failed: " + status.error);
      }
      behind = active;
      break;
    }
    if (behind == nullptr) return Status();
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::optional<Position> at = behind->runner->status().position;
      return Status::timeout("projection " + behind->build.name + behind->build.table_suffix +
                             " has not reached position " + std::to_string(position) + " (it is at " +
                             (at ? std::to_string(*at) : std::string("none")) + ")");
    }
  }
}

Status ReadModelBuilds::add(std::unique_ptr<BuildTarget> target) {
  if (target == nullptr) return Status::invalid_argument("read models: null projection");
  const std::string name = target->name();
  const std::uint32_t version = target->version();
  if (name.empty() || name.size() > 255) return Status::invalid_argument("read models: name must be 1..255 bytes");
  std::vector<std::int64_t> active_builds;
  for (ReadModelBuildRole role : {ReadModelBuildRole::serving, ReadModelBuildRole::building}) {
    for (const ActiveBuild* active : active_with_role(role, name)) active_builds.push_back(active->build.build);
  }
  auto is_active = [&](const ReadModelBuild& row) {
    return std::find(active_builds.begin(), active_builds.end(), row.build) != active_builds.end();
  };
  ReadModelBuild build;
  {
    std::lock_guard control_lock(control_mutex_);
    SqlSession& db = *control_;
    if (Status status = db.begin(); !status.ok()) return status;
    Result<std::vector<ReadModelBuild>> rows = list_read_model_builds(db, name);
    if (!rows.ok()) return abort_with(db, rows.status());
    const auto serving = std::find_if(rows->begin(), rows->end(),
                                      [](const ReadModelBuild& row) { return row.role == ReadModelBuildRole::serving; });
    const auto pending = std::find_if(rows->rbegin(), rows->rend(), [&](const ReadModelBuild& row) {
      return row.role == ReadModelBuildRole::building && row.version == version && !is_active(row);
    });
    if (serving == rows->end()) {
      Result<ReadModelBuild> created = create_build(db, *target, name, version, ReadModelBuildRole::serving);
      if (!created.ok()) return abort_with(db, created.status());
      build = std::move(*created);
    } else if (serving->version == version && !is_active(*serving)) {
      build = *serving;
    } else if (pending != rows->rend()) {
      build = *pending;
    } else if (serving->version == version) {
      return abort_with(
          db, Status::invalid_argument("read models: " + name + " v" + std::to_string(version) + " already added"));
    } else {
      return abort_with(db, Status::invalid_argument("read models: " + name + " serves version " +
                                                     std::to_string(serving->version) + ", not " +
                                                     std::to_string(version) + " (rebuild to change versions)"));
    }
    if (Status status = db.commit(); !status.ok()) return abort_with(db, status);
  }
  const bool rebuilding = build.role == ReadModelBuildRole::building;
  Result<ActiveBuild*> active = activate(std::move(target), std::move(build));
  if (!active.ok()) return active.status();
  if (rebuilding) {
    if (Status status = try_switch(**active); !status.ok()) return status;
  }
  if (live_) (*active)->runner->start();
  return Status();
}

Status ReadModelBuilds::rebuild(std::string_view name, std::unique_ptr<BuildTarget> target) {
  if (target == nullptr) return Status::invalid_argument("read models: null projection");
  if (target->name() != name) {
    return Status::invalid_argument("read models: rebuild of " + std::string(name) + " with projection " +
                                    target->name());
  }
  const std::uint32_t version = target->version();
  ReadModelBuild build;
  {
    std::lock_guard control_lock(control_mutex_);
    SqlSession& db = *control_;
    if (Status status = db.begin(); !status.ok()) return status;
    Result<std::vector<ReadModelBuild>> rows = list_read_model_builds(db, name);
    if (!rows.ok()) return abort_with(db, rows.status());
    if (std::none_of(rows->begin(), rows->end(),
                     [](const ReadModelBuild& row) { return row.role == ReadModelBuildRole::serving; })) {
      return abort_with(db, Status::not_found("read models: no build of " + std::string(name) + " serves (use add)"));
    }
    const std::vector<ActiveBuild*> running = active_with_role(ReadModelBuildRole::building, name);
    std::optional<ReadModelBuild> resumed;
    for (const ReadModelBuild& row : *rows) {
      if (row.role != ReadModelBuildRole::building) continue;
      const bool is_running = std::any_of(running.begin(), running.end(),
                                          [&](const ActiveBuild* active) { return active->build.build == row.build; });
      if (row.version == version && is_running) return abort_with(db, Status());  // already rebuilding
      if (row.version == version) {
        resumed = row;
      } else if (is_running) {
        return abort_with(db, Status::invalid_argument("read models: a rebuild of " + std::string(name) + " v" +
                                                       std::to_string(row.version) + " is running"));
      } else if (Status status = read_model_registry::set_role(db, name, row.build, ReadModelBuildRole::retired);
                 !status.ok()) {
        return abort_with(db, status);  // an abandoned rebuild of another version
      }
    }
    if (resumed) {
      build = std::move(*resumed);
    } else {
      Result<ReadModelBuild> created = create_build(db, *target, name, version, ReadModelBuildRole::building);
      if (!created.ok()) return abort_with(db, created.status());
      build = std::move(*created);
    }
    if (Status status = db.commit(); !status.ok()) return abort_with(db, status);
  }
  Result<ActiveBuild*> active = activate(std::move(target), std::move(build));
  if (!active.ok()) return active.status();
  // Nothing to build (e.g. an empty store) switches at once.
  if (Status status = try_switch(**active); !status.ok()) return status;
  if (live_) (*active)->runner->start();
  return Status();
}

Status ReadModelBuilds::catch_up() {
  if (live_) return Status::invalid_argument("read models: catch_up() while live (after start())");
  Status first_error;
  // Serving builds first, so that a rebuild catching up to the head has also
  // caught up with the build it replaces.
  for (ReadModelBuildRole role : {ReadModelBuildRole::serving, ReadModelBuildRole::building}) {
    for (ActiveBuild* active : active_with_role(role)) {
      Status status = active->runner->catch_up();
      if (status.ok() && role == ReadModelBuildRole::building) status = try_switch(*active);
      if (!status.ok() && first_error.ok()) first_error = status;
    }
  }
  return first_error;
}

void ReadModelBuilds::start() {
  if (live_) return;
  live_ = true;
  for (ReadModelBuildRole role : {ReadModelBuildRole::serving, ReadModelBuildRole::building}) {
    for (ActiveBuild* active : active_with_role(role)) active->runner->start();
  }
}

void ReadModelBuilds::stop() {
  std::vector<ActiveBuild*> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& active : builds_) all.push_back(active.get());
  }
  for (ActiveBuild* active : all) active->runner->stop();
  live_ = false;
}

Status ReadModelBuilds::wait_for_rebuild(std::string_view name, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + clamp_projection_wait(timeout);
  std::unique_lock lock(mutex_);
  while (true) {
    const ActiveBuild* building = nullptr;
    for (const auto& active : builds_) {
      if (active->build.name == name && active->build.role == ReadModelBuildRole::building) building = active.get();
    }
    if (building == nullptr) return Status();
    const ProjectionStatus status = building->runner->status();
    if (status.state == ProjectionState::failed) {
      return Status::io_error("rebuild of " + std::string(name) + building->build.table_suffix +
                              " failed: " + status.error);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::timeout("rebuild of " + std::string(name) + " has not caught up yet");
    }
    changed_.wait_for(lock, kWaitSlice);
  }
}

Status ReadModelBuilds::drop_retired(std::string_view name) {
  std::lock_guard control_lock(control_mutex_);
  for (ActiveBuild* active : active_with_role(ReadModelBuildRole::retired, name)) {
    active->runner->stop();
    if (Status status = drop_build(*control_, *active); !status.ok()) return status;
  }
  return Status();
}

Result<std::string> ReadModelBuilds::serving_suffix(std::string_view name) {
  std::lock_guard control_lock(control_mutex_);
  return serving_table_suffix(*control_, name);
}

Result<std::optional<std::uint32_t>> ReadModelBuilds::serving_version(std::string_view name) {
  Result<std::vector<ReadModelBuild>> rows = builds(name);
  if (!rows.ok()) return rows.status();
  for (const ReadModelBuild& row : *rows) {
    if (row.role == ReadModelBuildRole::serving) return std::optional<std::uint32_t>(row.version);
  }
  return std::optional<std::uint32_t>();
}

Result<std::vector<ReadModelBuild>> ReadModelBuilds::builds(std::string_view name) {
  std::lock_guard control_lock(control_mutex_);
  return list_read_model_builds(*control_, name);
}

std::vector<ProjectionStatus> ReadModelBuilds::status() const {
  std::vector<ProjectionStatus> statuses;
  for (ReadModelBuildRole role : {ReadModelBuildRole::serving, ReadModelBuildRole::building}) {
    for (const ActiveBuild* active : active_with_role(role)) statuses.push_back(active->runner->status());
  }
  return statuses;
}

// ---- SqlReadModels ------------------------------------------------------------------

SqlReadModels::SqlReadModels(std::unique_ptr<ReadModelBuilds> engine) : engine_(std::move(engine)) {}
SqlReadModels::~SqlReadModels() { stop(); }

Status SqlReadModels::catch_up() { return engine_->catch_up(); }
void SqlReadModels::start() { engine_->start(); }
void SqlReadModels::stop() { engine_->stop(); }

Status SqlReadModels::wait_for(Position position, std::chrono::milliseconds timeout) {
  return engine_->wait_for({}, position, timeout);
}

Status SqlReadModels::wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout) {
  if (name.empty()) return Status::invalid_argument("read models: empty projection name");
  return engine_->wait_for(name, position, timeout);
}

Status SqlReadModels::wait_for_rebuild(std::string_view name, std::chrono::milliseconds timeout) {
  return engine_->wait_for_rebuild(name, timeout);
}

Status SqlReadModels::drop_retired(std::string_view name) { return engine_->drop_retired(name); }
Result<std::string> SqlReadModels::serving_suffix(std::string_view name) { return engine_->serving_suffix(name); }
Result<std::optional<std::uint32_t>> SqlReadModels::serving_version(std::string_view name) {
  return engine_->serving_version(name);
}
Result<std::vector<ReadModelBuild>> SqlReadModels::builds(std::string_view name) { return engine_->builds(name); }
std::vector<ProjectionStatus> SqlReadModels::status() const { return engine_->status(); }

}  // namespace evsrc
