// ProjectionRunner: feeds a ProjectionSink from $all in batches, from the
// sink's checkpoint, then follows live commits (see projection.h).
//
// Each page of read_all(from = checkpoint + 1, limit = batch_size, filter)
// becomes one sink.apply() call. The store head is read BEFORE the page: when
// the page reaches the end of what is committed, every position up to that
// head has been scanned, so the checkpoint may move to it even if the filter
// matched nothing (wait_for() then works for filtered projections too). That
// head is passed to the sink with the batch (ProjectionSink::apply_batch).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "evsrc/projection.h"

namespace evsrc {

std::string_view projection_state_name(ProjectionState state) {
  switch (state) {
    case ProjectionState::stopped:
      return "stopped";
    case ProjectionState::running:
      return "running";
    case ProjectionState::caught_up:
      return "caught_up";
    case ProjectionState::failed:
      return "failed";
  }
  return "unknown";
}

struct ProjectionRunner::Impl {
  Impl(EventStore& store_in, ProjectionSink& sink_in, ProjectionOptions options_in)
      : store(store_in), sink(sink_in), options(std::move(options_in)) {}

  // How one call of run_until_caught_up() ended.
  enum class Outcome : std::uint8_t { caught_up, stopped, failed };

  // Applies pages until a page reaches the end of what is committed (or
  // stop() is requested). Runs on one thread at a time.
  Outcome run_until_caught_up(Status* error);
  // One page; `*at_end` is true when it reached the end of $all.
  Status apply_next_page(bool* at_end);
  // The background thread: catch up, then apply what each commit brings,
  // until stop() or a failure. Every failure calls fail() and returns.
  void follow();
  // One run of follow(): returns after stop() or a failure.
  void follow_once();
  // Records the failure; on the background thread with options.retry_after,
  // an io_error makes follow() resume later (`retrying`).
  void fail(const Status& status);
  void set_state(ProjectionState state);

  EventStore& store;
  ProjectionSink& sink;
  const ProjectionOptions options;

  mutable std::mutex mutex;  // guards the fields below; `progressed` signals them
  std::condition_variable progressed;
  ProjectionState state = ProjectionState::stopped;
  std::optional<Position> position;
  std::uint64_t events_applied = 0;
  std::string error;
  bool retrying = false;  // failed, and follow() resumes after retry_after

  // The events of the page being applied, copied from a borrowing cursor
  // into these reused events (their strings keep their capacity, so a
  // steady runner allocates nothing per event). Used by the one thread that
  // applies pages at a time.
  std::vector<RecordedEvent> batch;

  std::atomic<bool> following{false};  // follow() runs (the background thread)
  std::atomic<bool> stop_requested{false};
  std::mutex lifecycle_mutex;  // serialises start() / stop()
  std::thread thread;
};

void ProjectionRunner::Impl::set_state(ProjectionState new_state) {
  {
    std::lock_guard lock(mutex);
    state = new_state;
  }
  progressed.notify_all();
}

void ProjectionRunner::Impl::fail(const Status& status) {
  {
    std::lock_guard lock(mutex);
    state = ProjectionState::failed;
    error = status.to_string();
    retrying = following.load() && options.retry_after.count() > 0 && status.code() == ErrorCode::io_error;
  }
  progressed.notify_all();
}

Status ProjectionRunner::Impl::apply_next_page(bool* at_end) {
  std::optional<Position> current;
  {
    std::lock_guard lock(mutex);
    current = position;
  }
  Result<StoreStats> stats = store.stats();
  if (!stats.ok()) return stats.status();
  const std::optional<Position> head = stats->last_position;

  AllReadOptions read;
  read.from = current ? *current + 1 : 0;
  read.direction = Direction::forward;
  read.limit = options.batch_size;
  read.filter = options.filter;
  Result<std::unique_ptr<EventCursor>> cursor = store.open_all_cursor(read);
  if (!cursor.ok()) return cursor.status();
  std::size_t count = 0;
  while (true) {
    Result<const EventView*> event = (*cursor)->next();
    if (!event.ok()) return event.status();
    if (*event == nullptr) break;
    if (count == batch.size()) batch.emplace_back();
    (*event)->copy_to(batch[count++]);
  }
  const std::span<const RecordedEvent> events(batch.data(), count);
  const std::optional<Position> next = (*cursor)->resume_from();

  std::optional<Position> next_checkpoint = current;
  auto advance_to = [&](Position candidate) {
    next_checkpoint = next_checkpoint ? std::max(*next_checkpoint, candidate) : candidate;
  };
  if (!events.empty()) advance_to(events.back().position);
  if (next) {
    // Everything before `next` was scanned.
    if (*next > 0) advance_to(*next - 1);
  } else if (head) {
    advance_to(*head);
  }
  *at_end = !next.has_value();

  if (events.empty() && next_checkpoint == current) return Status();
  if (Status status = sink.apply_batch(events, *next_checkpoint, head); !status.ok()) return status;
  {
    std::lock_guard lock(mutex);
    position = next_checkpoint;
    events_applied += events.size();
  }
  progressed.notify_all();
  return Status();
}

ProjectionRunner::Impl::Outcome ProjectionRunner::Impl::run_until_caught_up(Status* error_out) {
  // The sink is the truth (it may have been restarted, or rolled back).
  Result<std::optional<Position>> checkpoint = sink.checkpoint();
  if (!checkpoint.ok()) {
    *error_out = checkpoint.status();
    fail(*error_out);
    return Outcome::failed;
  }
  // A checkpoint beyond the store's head: the store was replaced (a new
  // "memory:" store, a recreated log) or lost its tail while the read model
  // was kept. Reading on would skip every new event up to the checkpoint.
  // Checked before the checkpoint becomes `position`: wait_for() must not
  // report positions of this store as applied.
  if (*checkpoint) {
    Result<StoreStats> stats = store.stats();
    if (!stats.ok()) {
      *error_out = stats.status();
      fail(*error_out);
      return Outcome::failed;
    }
    if (!stats->last_position || *stats->last_position < **checkpoint) {
      *error_out = Status::corruption(
          "projection " + options.name + " v" + std::to_string(options.version) + ": checkpoint " +
          std::to_string(**checkpoint) + " is ahead of the store's last position " +
          (stats->last_position ? std::to_string(*stats->last_position) : std::string("none")) +
          " (the store was replaced or lost its tail); rebuild the read model");
      fail(*error_out);
      return Outcome::failed;
    }
  }
  {
    std::lock_guard lock(mutex);
    position = *checkpoint;
    state = ProjectionState::running;
    error.clear();
  }
  progressed.notify_all();
  while (true) {
    if (stop_requested.load()) return Outcome::stopped;
    bool at_end = false;
    if (Status status = apply_next_page(&at_end); !status.ok()) {
      *error_out = status;
      fail(status);
      return Outcome::failed;
    }
    if (at_end) {
      set_state(ProjectionState::caught_up);
      return Outcome::caught_up;
    }
  }
}

void ProjectionRunner::Impl::follow() {
  following = true;
  while (true) {
    follow_once();
    bool retry = false;
    {
      std::lock_guard lock(mutex);
      retry = retrying;
    }
    if (!retry) break;
    // Sleeps in slices so that stop() is not held up.
    const auto deadline = std::chrono::steady_clock::now() + clamp_projection_wait(options.retry_after);
    while (!stop_requested.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          deadline - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
    }
    std::lock_guard lock(mutex);
    retrying = false;
    if (stop_requested.load()) break;
  }
  following = false;
}

void ProjectionRunner::Impl::follow_once() {
  if (options.batch_size == 0) {
    fail(Status::invalid_argument("projection batch_size must be at least 1"));
    return;
  }
  Status error;
  if (run_until_caught_up(&error) != Outcome::caught_up) return;
  while (!stop_requested.load()) {
    std::optional<Position> after;
    {
      std::lock_guard lock(mutex);
      after = position;
    }
    if (!store.wait_for_commit(after, clamp_projection_wait(options.poll_interval))) {
      // Nothing new, or the store closed (then stop: do not spin).
      if (Result<StoreStats> stats = store.stats(); !stats.ok()) {
        fail(stats.status());
        return;
      }
      continue;
    }
    set_state(ProjectionState::running);
    bool at_end = false;
    while (!at_end && !stop_requested.load()) {
      if (Status status = apply_next_page(&at_end); !status.ok()) {
        fail(status);
        return;
      }
    }
    if (at_end) set_state(ProjectionState::caught_up);
  }
}

ProjectionRunner::ProjectionRunner(EventStore& store, ProjectionSink& sink, ProjectionOptions options)
    : impl_(std::make_unique<Impl>(store, sink, std::move(options))) {}

ProjectionRunner::~ProjectionRunner() { stop(); }

Status ProjectionRunner::catch_up() {
  if (impl_->options.batch_size == 0) {
    Status status = Status::invalid_argument("projection batch_size must be at least 1");
    impl_->fail(status);
    return status;
  }
  Status error;
  impl_->stop_requested.store(false);
  (void)impl_->run_until_caught_up(&error);
  return error;
}

void ProjectionRunner::start() {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  if (impl_->thread.joinable()) {
    {
      std::lock_guard lock(impl_->mutex);
      // Running, or failed and about to resume.
      if (impl_->state != ProjectionState::failed || impl_->retrying) return;
    }
    impl_->thread.join();  // after fail() the thread only returns: start again
  }
  impl_->stop_requested.store(false);
  {
    // Before the thread runs, so a wait_for() right after start() does not
    // see the failure of an earlier run.
    std::lock_guard lock(impl_->mutex);
    impl_->state = ProjectionState::running;
    impl_->error.clear();
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->follow(); });
}

void ProjectionRunner::stop() {
  std::lock_guard lifecycle(impl_->lifecycle_mutex);
  impl_->stop_requested.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mutex);
  if (impl_->state != ProjectionState::failed) impl_->state = ProjectionState::stopped;
}

bool ProjectionRunner::wait_for(Position target, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  // Capped: condition_variable::wait_for(milliseconds::max()) overflows its
  // deadline and returns at once.
  impl_->progressed.wait_for(lock, clamp_projection_wait(timeout), [&] {
    return (impl_->position && *impl_->position >= target) || impl_->state == ProjectionState::failed;
  });
  return impl_->position && *impl_->position >= target;
}

namespace {

// Recorded-at of the newest event at or before `position` (any stream).
std::optional<Timestamp> time_at_or_before(EventStore& store, std::optional<Position> position) {
  AllReadOptions read;
  read.from = position;
  read.direction = Direction::backward;
  read.limit = 1;
  Result<AllPage> page = store.read_all(read);
  if (!page.ok() || page->events.empty()) return std::nullopt;
  return page->events.front().recorded_at;
}

// Recorded-at of the first event in $all.
std::optional<Timestamp> first_time(EventStore& store) {
  AllReadOptions read;
  read.limit = 1;
  Result<AllPage> page = store.read_all(read);
  if (!page.ok() || page->events.empty()) return std::nullopt;
  return page->events.front().recorded_at;
}

}  // namespace

ProjectionStatus ProjectionRunner::status() const {
  ProjectionStatus status;
  status.name = impl_->options.name;
  status.version = impl_->options.version;
  {
    std::lock_guard lock(impl_->mutex);
    status.state = impl_->state;
    status.position = impl_->position;
    status.events_applied = impl_->events_applied;
    status.error = impl_->error;
  }
  Result<StoreStats> stats = impl_->store.stats();
  if (!stats.ok() || !stats->last_position) return status;
  const Position head = *stats->last_position;
  if (status.position && *status.position >= head) return status;
  status.lag_positions = status.position ? head - *status.position : head + 1;
  const std::optional<Timestamp> head_time = time_at_or_before(impl_->store, std::nullopt);
  const std::optional<Timestamp> checkpoint_time =
      status.position ? time_at_or_before(impl_->store, status.position) : first_time(impl_->store);
  if (head_time && checkpoint_time && *head_time > *checkpoint_time) {
    status.lag_seconds = std::chrono::duration<double>(*head_time - *checkpoint_time).count();
  }
  return status;
}

}  // namespace evsrc
