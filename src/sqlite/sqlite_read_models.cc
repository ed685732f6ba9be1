// SqliteReadModels: runs SqliteProjections into one SQLite file, one runner
// and one connection per active build, with side-by-side rebuilds and the
// switch when a rebuild has caught up (see sqlite_read_model.h).
//
// Threads: the owner calls add / rebuild / catch_up / start / stop. Live, each
// build's runner thread uses only its own connection. The switch of a rebuild
// runs on the rebuilding build's thread (right after one of its batches), or
// on the owner thread in catch_up() / before a runner starts; it stops the
// replaced build's runner and drops its tables through its own connection.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "sqlite/sqlite_registry.h"

namespace evsrc {
namespace {

// How long one wait slice lasts when a wait must also notice switches and
// failures that do not signal the waiter.
constexpr std::chrono::milliseconds kWaitSlice{50};

// Orders checkpoints with "nothing applied" below every position.
bool at_or_after(std::optional<Position> a, std::optional<Position> b) { return !b || (a && *a >= *b); }

}  // namespace

struct SqliteReadModels::Impl {
  struct ActiveBuild {
    std::unique_ptr<SqliteProjection> projection;
    SqliteBuild build;  // role: guarded by Impl::mutex
    SqliteDatabase db;  // used by the thread running this build only
    std::unique_ptr<SqliteProjectionSink> table_sink;
    std::unique_ptr<ProjectionSink> sink;  // table_sink + the switch after each batch
    std::unique_ptr<ProjectionRunner> runner;
  };

  // Tries the switch after every batch of a build.
  class SwitchingSink final : public ProjectionSink {
   public:
    SwitchingSink(Impl& impl, ActiveBuild& active) : impl_(impl), active_(active) {}
    Result<std::optional<Position>> checkpoint() override { return active_.table_sink->checkpoint(); }
    Status apply(std::span<const RecordedEvent> events, Position checkpoint) override {
      if (Status status = active_.table_sink->apply(events, checkpoint); !status.ok()) return status;
      return impl_.try_switch(active_);
    }
    Status apply_batch(std::span<const RecordedEvent> events, Position checkpoint,
                       std::optional<Position> head_before) override {
      if (Status status = active_.table_sink->apply(events, checkpoint); !status.ok()) return status;
      // Live, the store may never be quiet: the batch reaching the head read
      // before it was read is enough (see try_switch_after_batch).
      if (impl_.live.load()) return impl_.try_switch_after_batch(active_, head_before);
      return impl_.try_switch(active_);
    }

   private:
    Impl& impl_;
    ActiveBuild& active_;
  };

  Impl(EventStore& store_in, SqliteReadModelsOptions options_in) : store(store_in), options(std::move(options_in)) {}

  Result<SqliteDatabase> open_connection(bool read_only) const {
    SqliteOpenOptions open_options;
    open_options.read_only = read_only;
    open_options.busy_timeout = options.busy_timeout;
    open_options.synchronous_full = options.synchronous_full;
    return SqliteDatabase::open(options.database_path, open_options);
  }

  Result<ActiveBuild*> activate(std::unique_ptr<SqliteProjection> projection, SqliteBuild build);
  // Switches `rebuilt` (a building build) to serving when its checkpoint is
  // at or after the serving build's and the store's head now (catch_up(),
  // add(), rebuild(): nothing else is committing, or it may wait).
  Status try_switch(ActiveBuild& rebuilt);
  // Live, after a batch of `rebuilt`: the same but against `head_before`,
  // the store head its runner read before that batch, since under steady
  // writes the head now is always a little ahead.
  Status try_switch_after_batch(ActiveBuild& rebuilt, std::optional<Position> head_before);
  // Switches when the build's checkpoint is at or after the serving build's
  // and `required`.
  Status switch_if_reached(ActiveBuild& rebuilt, std::optional<Position> required);
  std::vector<ActiveBuild*> active_with_role(SqliteBuildRole role, std::string_view name = {}) const;
  Status wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout);

  EventStore& store;
  const SqliteReadModelsOptions options;

  std::mutex control_mutex;  // guards `control`, the connection of registry reads and writes
  SqliteDatabase control;

  mutable std::mutex mutex;  // guards the list and every ActiveBuild::build.role
  std::condition_variable changed;
  std::vector<std::unique_ptr<ActiveBuild>> builds;
  std::atomic<bool> live{false};  // written by the owner thread, read by runner threads
};

Result<SqliteReadModels::Impl::ActiveBuild*> SqliteReadModels::Impl::activate(
    std::unique_ptr<SqliteProjection> projection, SqliteBuild build) {
  auto active = std::make_unique<ActiveBuild>();
  Result<SqliteDatabase> db = open_connection(/*read_only=*/false);
  if (!db.ok()) return db.status();
  active->db = std::move(*db);
  active->projection = std::move(projection);
  active->build = std::move(build);
  active->table_sink = std::make_unique<SqliteProjectionSink>(active->db, *active->projection, active->build.name,
                                                              active->build.build, active->build.table_suffix);
  active->sink = std::make_unique<SwitchingSink>(*this, *active);
  ProjectionOptions runner_options;
  runner_options.name = active->build.name;
  runner_options.version = active->build.version;
  runner_options.filter = active->projection->filter();
  runner_options.batch_size = options.batch_size;
  runner_options.poll_interval = options.poll_interval;
  active->runner = std::make_unique<ProjectionRunner>(store, *active->sink, std::move(runner_options));
  ActiveBuild* pointer = active.get();
  std::lock_guard lock(mutex);
  builds.push_back(std::move(active));
  return pointer;
}

std::vector<SqliteReadModels::Impl::ActiveBuild*> SqliteReadModels::Impl::active_with_role(
    SqliteBuildRole role, std::string_view name) const {
  std::lock_guard lock(mutex);
  std::vector<ActiveBuild*> found;
  for (const auto& active : builds) {
    if (active->build.role == role && (name.empty() || active->build.name == name)) found.push_back(active.get());
  }
  return found;
}

Status SqliteReadModels::Impl::try_switch(ActiveBuild& rebuilt) {
  {
    std::lock_guard lock(mutex);
    if (rebuilt.build.role != SqliteBuildRole::building) return Status();
  }
  Result<StoreStats> stats = store.stats();
  if (!stats.ok()) return stats.status();
  return switch_if_reached(rebuilt, stats->last_position);
}

Status SqliteReadModels::Impl::try_switch_after_batch(ActiveBuild& rebuilt, std::optional<Position> head_before) {
  {
    std::lock_guard lock(mutex);
    if (rebuilt.build.role != SqliteBuildRole::building) return Status();
  }
  return switch_if_reached(rebuilt, head_before);
}

Status SqliteReadModels::Impl::switch_if_reached(ActiveBuild& rebuilt, std::optional<Position> required) {
  SqliteDatabase& db = rebuilt.db;
  if (Status status = db.begin(); !status.ok()) return status;
  Result<std::vector<SqliteBuild>> rows = list_sqlite_builds(db, rebuilt.build.name);
  if (!rows.ok()) {
    (void)db.rollback();
    return rows.status();
  }
  const SqliteBuild* serving = nullptr;
  const SqliteBuild* self = nullptr;
  for (const SqliteBuild& row : *rows) {
    if (row.role == SqliteBuildRole::serving) serving = &row;
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
    Result<StoreStats> stats = store.stats();
    if (!stats.ok()) {
      (void)db.rollback();
      return stats.status();
    }
    if (!stats->last_position || *stats->last_position < *serving_position) serving_position.reset();
  }
  const bool caught_up = self != nullptr && self->role == SqliteBuildRole::building &&
                         at_or_after(self->position, serving_position) && at_or_after(self->position, required);
  if (!caught_up) return db.rollback();
  std::optional<std::int64_t> replaced;
  if (serving != nullptr) {
    replaced = serving->build;
    if (Status status = sqlite_registry::set_role(db, rebuilt.build.name, serving->build, SqliteBuildRole::retired);
        !status.ok()) {
      (void)db.rollback();
      return status;
    }
  }
  if (Status status = sqlite_registry::set_role(db, rebuilt.build.name, rebuilt.build.build, SqliteBuildRole::serving);
      !status.ok()) {
    (void)db.rollback();
    return status;
  }
  if (Status status = db.commit(); !status.ok()) {
    (void)db.rollback();
    return status;
  }

  ActiveBuild* old = nullptr;
  {
    std::lock_guard lock(mutex);
    rebuilt.build.role = SqliteBuildRole::serving;
    for (const auto& active : builds) {
      if (replaced && active->build.name == rebuilt.build.name && active->build.build == *replaced) {
        active->build.role = SqliteBuildRole::retired;
        old = active.get();
      }
    }
  }
  changed.notify_all();
  if (old == nullptr) return Status();
  old->runner->stop();
  if (!options.drop_retired_tables) return Status();
  // The old build's runner is stopped: nobody else writes its tables.
  if (Status status = db.begin(); !status.ok()) return status;
  Status dropped = old->projection->drop_tables(db, old->build.table_suffix);
  if (dropped.ok()) {
    dropped = sqlite_registry::set_role(db, old->build.name, old->build.build, SqliteBuildRole::dropped);
  }
  if (dropped.ok()) dropped = db.commit();
  if (!dropped.ok()) {
    (void)db.rollback();
    return dropped;
  }
  {
    std::lock_guard lock(mutex);
    old->build.role = SqliteBuildRole::dropped;
  }
  changed.notify_all();
  return Status();
}

Status SqliteReadModels::Impl::wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + clamp_projection_wait(timeout);
  while (true) {
    const std::vector<ActiveBuild*> serving = active_with_role(SqliteBuildRole::serving, name);
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

// ---- SqliteReadModels ---------------------------------------------------------------

SqliteReadModels::SqliteReadModels(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteReadModels::~SqliteReadModels() { stop(); }

Result<std::unique_ptr<SqliteReadModels>> SqliteReadModels::open(EventStore& store, SqliteReadModelsOptions options) {
  if (options.database_path.empty()) return Status::invalid_argument("read models: database_path is empty");
  if (options.batch_size == 0) return Status::invalid_argument("read models: batch_size must be at least 1");
  auto impl = std::make_unique<Impl>(store, std::move(options));
  Result<SqliteDatabase> control = impl->open_connection(/*read_only=*/false);
  if (!control.ok()) return control.status();
  impl->control = std::move(*control);
  if (Status status = sqlite_registry::ensure_schema(impl->control); !status.ok()) return status;
  return std::unique_ptr<SqliteReadModels>(new SqliteReadModels(std::move(impl)));
}

Status SqliteReadModels::add(std::unique_ptr<SqliteProjection> projection) {
  if (projection == nullptr) return Status::invalid_argument("read models: null projection");
  const std::string name = projection->name();
  const std::uint32_t version = projection->version();
  if (name.empty() || name.size() > 255) return Status::invalid_argument("read models: name must be 1..255 bytes");
  std::vector<std::int64_t> active_builds;
  for (SqliteBuildRole role : {SqliteBuildRole::serving, SqliteBuildRole::building}) {
    for (const Impl::ActiveBuild* active : impl_->active_with_role(role, name)) {
      active_builds.push_back(active->build.build);
    }
  }
  auto is_active = [&](const SqliteBuild& row) {
    return std::find(active_builds.begin(), active_builds.end(), row.build) != active_builds.end();
  };
  SqliteBuild build;
  {
    std::lock_guard control_lock(impl_->control_mutex);
    SqliteDatabase& db = impl_->control;
    if (Status status = db.begin(); !status.ok()) return status;
    auto abort = [&](Status status) {
      (void)db.rollback();
      return status;
    };
    Result<std::vector<SqliteBuild>> rows = list_sqlite_builds(db, name);
    if (!rows.ok()) return abort(rows.status());
    const auto serving = std::find_if(rows->begin(), rows->end(),
                                      [](const SqliteBuild& row) { return row.role == SqliteBuildRole::serving; });
    const auto pending = std::find_if(rows->rbegin(), rows->rend(), [&](const SqliteBuild& row) {
      return row.role == SqliteBuildRole::building && row.version == version && !is_active(row);
    });
    if (serving == rows->end()) {
      Result<SqliteBuild> created = sqlite_registry::insert_build(db, name, version, SqliteBuildRole::serving);
      if (!created.ok()) return abort(created.status());
      if (Status status = projection->create_tables(db, created->table_suffix); !status.ok()) return abort(status);
      build = std::move(*created);
    } else if (serving->version == version && !is_active(*serving)) {
      build = *serving;
    } else if (pending != rows->rend()) {
      build = *pending;
    } else if (serving->version == version) {
      return abort(
          Status::invalid_argument("read models: " + name + " v" + std::to_string(version) + " already added"));
    } else {
      return abort(Status::invalid_argument("read models: " + name + " serves version " +
                                            std::to_string(serving->version) + ", not " + std::to_string(version) +
                                            " (rebuild to change versions)"));
    }
    if (Status status = db.commit(); !status.ok()) return abort(status);
  }
  const bool rebuilding = build.role == SqliteBuildRole::building;
  Result<Impl::ActiveBuild*> active = impl_->activate(std::move(projection), std::move(build));
  if (!active.ok()) return active.status();
  if (rebuilding) {
    if (Status status = impl_->try_switch(**active); !status.ok()) return status;
  }
  if (impl_->live) (*active)->runner->start();
  return Status();
}

Status SqliteReadModels::rebuild(std::string_view name, std::unique_ptr<SqliteProjection> projection) {
  if (projection == nullptr) return Status::invalid_argument("read models: null projection");
  if (projection->name() != name) {
    return Status::invalid_argument("read models: rebuild of " + std::string(name) + " with projection " +
                                    projection->name());
  }
  const std::uint32_t version = projection->version();
  SqliteBuild build;
  {
    std::lock_guard control_lock(impl_->control_mutex);
    SqliteDatabase& db = impl_->control;
    if (Status status = db.begin(); !status.ok()) return status;
    auto abort = [&](Status status) {
      (void)db.rollback();
      return status;
    };
    Result<std::vector<SqliteBuild>> rows = list_sqlite_builds(db, name);
    if (!rows.ok()) return abort(rows.status());
    if (std::none_of(rows->begin(), rows->end(),
                     [](const SqliteBuild& row) { return row.role == SqliteBuildRole::serving; })) {
      return abort(Status::not_found("read models: no build of " + std::string(name) + " serves (use add)"));
    }
    const std::vector<Impl::ActiveBuild*> running = impl_->active_with_role(SqliteBuildRole::building, name);
    std::optional<SqliteBuild> resumed;
    for (const SqliteBuild& row : *rows) {
      if (row.role != SqliteBuildRole::building) continue;
      const bool is_running = std::any_of(running.begin(), running.end(), [&](const Impl::ActiveBuild* active) {
        return active->build.build == row.build;
      });
      if (row.version == version && is_running) return abort(Status());  // already rebuilding
      if (row.version == version) {
        resumed = row;
      } else if (is_running) {
        return abort(Status::invalid_argument("read models: a rebuild of " + std::string(name) + " v" +
                                              std::to_string(row.version) + " is running"));
      } else if (Status status = sqlite_registry::set_role(db, name, row.build, SqliteBuildRole::retired);
                 !status.ok()) {
        return abort(status);  // an abandoned rebuild of another version
      }
    }
    if (resumed) {
      build = std::move(*resumed);
    } else {
      Result<SqliteBuild> created = sqlite_registry::insert_build(db, name, version, SqliteBuildRole::building);
      if (!created.ok()) return abort(created.status());
      if (Status status = projection->create_tables(db, created->table_suffix); !status.ok()) return abort(status);
      build = std::move(*created);
    }
    if (Status status = db.commit(); !status.ok()) return abort(status);
  }
  Result<Impl::ActiveBuild*> active = impl_->activate(std::move(projection), std::move(build));
  if (!active.ok()) return active.status();
  // Nothing to build (e.g. an empty store) switches at once.
  if (Status status = impl_->try_switch(**active); !status.ok()) return status;
  if (impl_->live) (*active)->runner->start();
  return Status();
}

Status SqliteReadModels::catch_up() {
  if (impl_->live) return Status::invalid_argument("read models: catch_up() while live (after start())");
  Status first_error;
  // Serving builds first, so that a rebuild catching up to the head has also
  // caught up with the build it replaces.
  for (SqliteBuildRole role : {SqliteBuildRole::serving, SqliteBuildRole::building}) {
    for (Impl::ActiveBuild* active : impl_->active_with_role(role)) {
      Status status = active->runner->catch_up();
      if (status.ok() && role == SqliteBuildRole::building) status = impl_->try_switch(*active);
      if (!status.ok() && first_error.ok()) first_error = status;
    }
  }
  return first_error;
}

void SqliteReadModels::start() {
  if (impl_->live) return;
  impl_->live = true;
  for (SqliteBuildRole role : {SqliteBuildRole::serving, SqliteBuildRole::building}) {
    for (Impl::ActiveBuild* active : impl_->active_with_role(role)) active->runner->start();
  }
}

void SqliteReadModels::stop() {
  std::vector<Impl::ActiveBuild*> all;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& active : impl_->builds) all.push_back(active.get());
  }
  for (Impl::ActiveBuild* active : all) active->runner->stop();
  impl_->live = false;
}

Status SqliteReadModels::wait_for(Position position, std::chrono::milliseconds timeout) {
  return impl_->wait_for({}, position, timeout);
}

Status SqliteReadModels::wait_for(std::string_view name, Position position, std::chrono::milliseconds timeout) {
  if (name.empty()) return Status::invalid_argument("read models: empty projection name");
  return impl_->wait_for(name, position, timeout);
}

Status SqliteReadModels::wait_for_rebuild(std::string_view name, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + clamp_projection_wait(timeout);
  std::unique_lock lock(impl_->mutex);
  while (true) {
    const Impl::ActiveBuild* building = nullptr;
    for (const auto& active : impl_->builds) {
      if (active->build.name == name && active->build.role == SqliteBuildRole::building) building = active.get();
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
    impl_->changed.wait_for(lock, kWaitSlice);
  }
}

Status SqliteReadModels::drop_retired(std::string_view name) {
  std::lock_guard control_lock(impl_->control_mutex);
  SqliteDatabase& db = impl_->control;
  for (Impl::ActiveBuild* active : impl_->active_with_role(SqliteBuildRole::retired, name)) {
    active->runner->stop();
    if (Status status = db.begin(); !status.ok()) return status;
    Status dropped = active->projection->drop_tables(db, active->build.table_suffix);
    if (dropped.ok()) {
      dropped = sqlite_registry::set_role(db, active->build.name, active->build.build, SqliteBuildRole::dropped);
    }
    if (dropped.ok()) dropped = db.commit();
    if (!dropped.ok()) {
      (void)db.rollback();
      return dropped;
    }
    std::lock_guard lock(impl_->mutex);
    active->build.role = SqliteBuildRole::dropped;
  }
  return Status();
}

Result<std::string> SqliteReadModels::serving_suffix(std::string_view name) {
  std::lock_guard control_lock(impl_->control_mutex);
  return serving_table_suffix(impl_->control, name);
}

Result<std::optional<std::uint32_t>> SqliteReadModels::serving_version(std::string_view name) {
  Result<std::vector<SqliteBuild>> rows = builds(name);
  if (!rows.ok()) return rows.status();
  for (const SqliteBuild& row : *rows) {
    if (row.role == SqliteBuildRole::serving) return std::optional<std::uint32_t>(row.version);
  }
  return std::optional<std::uint32_t>();
}

Result<std::vector<SqliteBuild>> SqliteReadModels::builds(std::string_view name) {
  std::lock_guard control_lock(impl_->control_mutex);
  return list_sqlite_builds(impl_->control, name);
}

std::vector<ProjectionStatus> SqliteReadModels::status() const {
  std::vector<ProjectionStatus> statuses;
  for (SqliteBuildRole role : {SqliteBuildRole::serving, SqliteBuildRole::building}) {
    for (const Impl::ActiveBuild* active : impl_->active_with_role(role)) statuses.push_back(active->runner->status());
  }
  return statuses;
}

Result<SqliteDatabase> SqliteReadModels::connect(bool read_only) const { return impl_->open_connection(read_only); }

const std::string& SqliteReadModels::database_path() const { return impl_->options.database_path; }

}  // namespace evsrc
