// Projections: named, versioned handlers over $all that keep a read model up
// to date from a stored checkpoint (DESIGN §4, the seed's "query
// synchronisers").
//
// A ProjectionSink owns the read model and its checkpoint (the last position
// applied). The runner reads $all after the checkpoint in batches (with the
// projection's filter), hands each batch to the sink together with the new
// checkpoint, then follows live commits.
//   - exactly-once: a transactional sink (e.g. SqliteProjectionSink) writes
//     the batch's updates and the checkpoint in one transaction, so a crash
//     replays nothing twice and loses nothing.
//   - at-least-once: a sink that stores its checkpoint after the updates may
//     see a batch again after a crash; it dedupes by the last applied
//     revision per stream (LastAppliedRevisions).
// A failing sink stops the projection in state `failed` with its error and
// the position of the last applied batch; the event is never skipped.
// A checkpoint beyond the store's last position (the store was replaced or
// lost its tail while the read model was kept) fails the projection with
// ErrorCode::corruption before anything is read: new events at positions up
// to the checkpoint would otherwise be skipped. Rebuild the read model.
//
// Read-your-writes: an append returns its position; wait_for(position)
// returns once the projection has applied everything up to it.
//
// Thread-safety: catch_up() and start() must not run at the same time;
// status(), wait_for() and stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"
#include "evsrc/status.h"
#include "evsrc/subscription.h"

namespace evsrc {

class ProjectionSink {
 public:
  virtual ~ProjectionSink() = default;
  // The last position applied; nullopt when nothing has been yet.
  virtual Result<std::optional<Position>> checkpoint() = 0;
  // Applies `events` (after the checkpoint, in $all order, matching the
  // filter; possibly none) and records `checkpoint` (>= every event's
  // position) as the new checkpoint. A non-ok Status fails the projection.
  virtual Status apply(std::span<const RecordedEvent> events, Position checkpoint) = 0;
  // What the runner calls for each batch: apply() plus `head_before`, the
  // store's last position read before the batch was read (nullopt: the store
  // was empty). `checkpoint >= *head_before` means the batch reached the end
  // of what was committed when it was read. The default calls apply();
  // SqliteReadModels uses it to decide a live rebuild's switch.
  virtual Status apply_batch(std::span<const RecordedEvent> events, Position checkpoint,
                             std::optional<Position> head_before) {
    return apply(events, checkpoint);
  }
};

struct ProjectionOptions {
  std::string name;           // e.g. "users"
  std::uint32_t version = 1;  // bump to rebuild from position 0 (see sqlite_read_model.h)
  EventFilter filter;
  std::uint64_t batch_size = 1000;  // events per sink transaction
  // How long a live runner waits for new commits before checking stop().
  std::chrono::milliseconds poll_interval{200};
  // Live only: after an io_error of the sink or the store (e.g. a lost
  // database connection) wait this long, then resume from the sink's
  // checkpoint (the sink reconnects); meanwhile the state is `failed` with
  // the error. 0: a failed projection stays failed until start() again.
  std::chrono::milliseconds retry_after{0};
};

// The longest wait a timeout of the projection API asks for: longer
// timeouts (e.g. std::chrono::milliseconds::max(), whose deadline would
// overflow the clock) are capped to it, negative ones count as zero.
inline constexpr std::chrono::milliseconds kMaxProjectionWait = std::chrono::hours(24 * 365);
inline std::chrono::milliseconds clamp_projection_wait(std::chrono::milliseconds timeout) {
  return timeout < std::chrono::milliseconds::zero() ? std::chrono::milliseconds::zero()
         : timeout > kMaxProjectionWait            ? kMaxProjectionWait
                                                   : timeout;
}

enum class ProjectionState : std::uint8_t { stopped, running, caught_up, failed };
std::string_view projection_state_name(ProjectionState state);  // "stopped", "running", "caught_up", "failed"

struct ProjectionStatus {
  std::string name;
  std::uint32_t version = 1;
  ProjectionState state = ProjectionState::stopped;
  std::optional<Position> position;  // checkpoint: last position applied
  std::uint64_t lag_positions = 0;   // store head - checkpoint
  double lag_seconds = 0;            // recorded-at of the head - of the checkpoint's event
  std::uint64_t events_applied = 0;  // by this runner
  std::string error;                 // when failed
};

class ProjectionRunner {
 public:
  // REQUIRES: `store` and `sink` outlive the runner.
  ProjectionRunner(EventStore& store, ProjectionSink& sink, ProjectionOptions options);
  ~ProjectionRunner();  // stops the background thread
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;

  // Applies everything committed up to now, on the calling thread. Returns
  // the sink's (or the store's) error; the projection is then `failed`.
  Status catch_up();

  // Runs catch-up then follows live commits on a background thread until
  // stop() or a failure. No-op while that thread runs; after a failure it
  // starts again from the sink's checkpoint.
  void start();
  void stop();

  // Blocks until the checkpoint is >= `position`, the timeout passes, or the
  // projection fails. True when the position was reached. A negative timeout
  // does not wait; timeouts are capped at kMaxProjectionWait (so
  // milliseconds::max() waits, in practice, without a deadline).
  bool wait_for(Position position, std::chrono::milliseconds timeout);

  ProjectionStatus status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// At-least-once helper: the last revision applied per stream, so a sink that
// sees a batch again skips what it already applied. The sink persists it with
// its read model (to_json / from_json), e.g. beside its checkpoint.
class LastAppliedRevisions {
 public:
  // True when `event` is new (revision above the last applied of its stream)
  // and records it as applied.
  bool apply(const RecordedEvent& event);
  std::optional<StreamRevision> last(std::string_view stream) const;
  std::string to_json() const;
  static Result<LastAppliedRevisions> from_json(std::string_view json);

 private:
  std::map<std::string, StreamRevision, std::less<>> last_;
};

}  // namespace evsrc
