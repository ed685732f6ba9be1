// Views: the state of a stream as a fold over its events, loaded from the
// nearest snapshot, at any revision or time, with its audit trail (DESIGN §4).
//
// A View is a name, a version, an initial state and `apply`, which folds one
// recorded event into the state. `apply` must be deterministic: the same
// events always give the same state (that is what makes snapshots valid).
// Bump `version` whenever `apply` or the state's encoding changes: snapshots
// of other versions are then ignored, never misread.
//
// ViewLoader loads:
//   state(stream)                 newest snapshot + the events after it
//   state_at(stream, revision)    newest snapshot <= revision + events up to it
//   state_at(stream, time)        the state after the last event recorded at
//                                 or before `time` (the store's recorded-at,
//                                 never the caller's clock; found by binary
//                                 search over revisions)
//   history(stream)               every event with the state after it: the
//                                 audit trail (who: the event's metadata;
//                                 when: its recorded-at)
// An absent (never written or soft-deleted) stream loads as the initial state
// with no revision. A tombstoned stream fails with stream_deleted.
//
// Snapshots: with SnapshotPolicy::every = N, a load that folds revision r with
// (r + 1) % N == 0 stores the state after r (so a 100k-event stream loads from
// its last snapshot and folds at most N - 1 events). take_snapshot() stores one
// on demand. A snapshot is used only while it still describes the stream: it
// records the first revision it was folded from and the position of its last
// event, and is ignored once the stream's first readable revision moved
// (soft delete and recreate, truncation, max-count, max-age) or the event at
// its revision is another one (a replaced log). So the state is always the
// fold of exactly the stream's readable events.
//
// Thread-safety: a ViewLoader may be used from several threads at once when
// the View's functions are thread-safe (pure functions are).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

template <typename State>
struct View {
  std::string name;               // 1..255 bytes, no NUL
  std::uint32_t version = 1;
  State initial{};
  // Folds `event` into `state`. A non-ok Status fails the load (e.g. an
  // event the view cannot decode); it is never skipped silently. The event's
  // views are valid during the call only (loads read through a borrowing
  // cursor: event_cursor.h); copy what the state keeps.
  std::function<Status(State& state, const EventView& event)> apply;
  // Snapshot encoding. Without both, the view never snapshots.
  std::function<std::string(const State& state)> encode_state;
  std::function<Result<State>(std::string_view encoded)> decode_state;
};

// A state and where in the stream it is.
template <typename State>
struct VersionedState {
  State state{};
  // The last event folded in; nullopt when the stream has no (readable) events.
  std::optional<StreamRevision> revision;
  // Recorded-at and position of that event.
  std::optional<Timestamp> recorded_at;
  std::optional<Position> position;
  // The first event folded in: the stream's first readable revision.
  std::optional<StreamRevision> first_revision;
  // The stream's last revision when loaded, hidden events included (by
  // max-count, max-age, truncate-before); nullopt when the stream does not
  // exist. What a command expects. Only set by state() (not state_at()).
  std::optional<StreamRevision> head;
  // Cost of this load: the snapshot it started from and events folded.
  std::optional<StreamRevision> snapshot_revision;
  std::uint64_t events_folded = 0;
};

// One entry of the audit trail.
template <typename State>
struct HistoryEntry {
  RecordedEvent event;
  State state;  // after the event
};

struct SnapshotPolicy {
  // Store a snapshot after every `every` revisions a load folds; 0 = only
  // on demand (take_snapshot).
  std::uint64_t every = 0;
  // Keep at most this many snapshots per (stream, view version), dropping the
  // oldest; 0 = keep all (cheap time travel to any revision).
  std::size_t keep = 0;
};

namespace view_detail {
// Non-template helpers, defined in src/toolkit/view_support.cc.

// Calls visit(event) for the readable events of `stream` with revisions in
// [from, to] ascending, through one stream cursor. not_found / stream_deleted
// pass through from the store. `head`, when given, receives the stream's last
// revision (hidden events included) when the cursor was opened.
Status for_each_event(EventStore& store, std::string_view stream, StreamRevision from, StreamRevision to,
                      const std::function<Status(const EventView&)>& visit, StreamRevision* head = nullptr);
// The last revision recorded at or before `time`; nullopt when none was.
Result<std::optional<StreamRevision>> last_revision_at(EventStore& store, std::string_view stream, Timestamp time);

// What a ViewLoader stores in front of the view's own encoding of a snapshot:
// the first revision the state was folded from and the position of the last
// event in it. A snapshot is used only when both still describe the stream.
struct SnapshotOrigin {
  StreamRevision first_revision = 0;
  Position position = 0;
};
std::string wrap_snapshot_state(const SnapshotOrigin& origin, std::string_view state);
// nullopt when `stored` is too short to hold an origin.
std::optional<std::pair<SnapshotOrigin, std::string_view>> unwrap_snapshot_state(std::string_view stored);
// The event at `snapshot`'s revision when the snapshot still describes the
// stream: its first readable revision is origin.first_revision (nothing was
// hidden or recreated since) and the event at the revision is the one at
// origin.position (the log was not replaced). nullopt otherwise.
Result<std::optional<RecordedEvent>> validate_snapshot(EventStore& store, std::string_view stream,
                                                       StreamRevision revision, const SnapshotOrigin& origin);
// Drops the oldest snapshots of (stream, view, version) beyond `keep`.
Status prune_snapshots(SnapshotStore& snapshots, std::string_view stream, std::string_view view,
                       std::uint32_t version, std::size_t keep);
}  // namespace view_detail

template <typename State>
class ViewLoader {
 public:
  // REQUIRES: `store` outlives the loader; view.apply is set.
  ViewLoader(EventStore& store, View<State> view, SnapshotPolicy policy = {})
      : store_(store), view_(std::move(view)), policy_(policy) {}

  EventStore& store() const { return store_; }
  const View<State>& view() const { return view_; }

  Result<VersionedState<State>> state(std::string_view stream) const { return load(stream, std::nullopt); }

  // The state after event `revision`. invalid_argument when the stream's
  // last revision is below `revision`.
  Result<VersionedState<State>> state_at(std::string_view stream, StreamRevision revision) const {
    return load(stream, revision);
  }

  // The state after the last event recorded at or before `time`.
  Result<VersionedState<State>> state_at(std::string_view stream, Timestamp time) const {
    Result<std::optional<StreamRevision>> revision = view_detail::last_revision_at(store_, stream, time);
    if (!revision.ok()) return revision.status();
    if (!revision->has_value()) return initial_state();
    return load(stream, **revision);
  }

  // Calls visit(event, state after it) for every readable event, oldest
  // first, stopping at the first non-ok Status (which it returns). The
  // event's views are valid during the call only.
  Status history(std::string_view stream,
                 const std::function<Status(const EventView&, const State&)>& visit) const {
    State state = view_.initial;
    const Status status = view_detail::for_each_event(
        store_, stream, 0, std::numeric_limits<StreamRevision>::max(), [&](const EventView& event) {
          Status applied = view_.apply(state, event);
          if (!applied.ok()) return applied;
          return visit(event, state);
        });
    if (status.code() == ErrorCode::not_found) return Status();
    return status;
  }

  // The whole audit trail. Bounded by the stream's length; prefer the
  // visitor for long streams.
  Result<std::vector<HistoryEntry<State>>> history(std::string_view stream) const {
    std::vector<HistoryEntry<State>> entries;
    Status status = history(stream, [&](const EventView& event, const State& state) {
      entries.push_back(HistoryEntry<State>{event.to_recorded_event(), state});
      return Status();
    });
    if (!status.ok()) return status;
    return entries;
  }

  // Stores a snapshot of the current state (nothing when the stream is empty
  // or the view has no state encoding). Returns the loaded state.
  Result<VersionedState<State>> take_snapshot(std::string_view stream) const {
    Result<VersionedState<State>> loaded = load(stream, std::nullopt);
    if (!loaded.ok() || !loaded->revision || !snapshots_enabled()) return loaded;
    Status stored = store_snapshot(stream, *loaded->revision, {*loaded->first_revision, *loaded->position},
                                   loaded->state);
    if (!stored.ok()) return stored;
    return loaded;
  }

 private:
  VersionedState<State> initial_state() const {
    VersionedState<State> initial;
    initial.state = view_.initial;
    return initial;
  }

  bool snapshots_enabled() const { return view_.encode_state && view_.decode_state; }

  Status store_snapshot(std::string_view stream, StreamRevision revision, const view_detail::SnapshotOrigin& origin,
                        const State& state) const {
    Snapshot snapshot{std::string(stream), view_.name, view_.version, revision,
                      view_detail::wrap_snapshot_state(origin, view_.encode_state(state))};
    Status stored = store_.snapshots().put(snapshot);
    if (!stored.ok() || policy_.keep == 0) return stored;
    return view_detail::prune_snapshots(store_.snapshots(), stream, view_.name, view_.version, policy_.keep);
  }

  Result<VersionedState<State>> load(std::string_view stream, std::optional<StreamRevision> target) const {
    VersionedState<State> result = initial_state();
    StreamRevision from = 0;
    if (snapshots_enabled()) {
      Status restored = restore_snapshot(stream, target, result);
      if (!restored.ok()) return restored;
      if (result.revision) from = *result.revision + 1;
    }
    const StreamRevision to = target.value_or(std::numeric_limits<StreamRevision>::max());
    StreamRevision head = 0;
    Status folded = Status();
    if (from <= to) {
      folded = view_detail::for_each_event(
          store_, stream, from, to,
          [&](const EventView& event) {
            Status applied = view_.apply(result.state, event);
            if (!applied.ok()) return applied;
            if (!result.first_revision) result.first_revision = event.revision;
            result.revision = event.revision;
            result.recorded_at = event.recorded_at;
            result.position = event.position;
            ++result.events_folded;
            if (policy_.every != 0 && snapshots_enabled() && (event.revision + 1) % policy_.every == 0) {
              return store_snapshot(stream, event.revision, {*result.first_revision, event.position}, result.state);
            }
            return Status();
          },
          &head);
    }
    if (folded.code() == ErrorCode::not_found) {
      if (target) return Status::invalid_argument("stream " + std::string(stream) + " has no events");
      return initial_state();
    }
    if (!folded.ok()) return folded;
    if (target && result.revision != target) {
      return Status::invalid_argument("stream " + std::string(stream) + " has no revision " +
                                      std::to_string(*target));
    }
    if (!target && from <= to) result.head = head;
    return result;
  }

  // Starts `result` from the newest valid snapshot at or before `target`;
  // leaves it untouched when there is none.
  Status restore_snapshot(std::string_view stream, std::optional<StreamRevision> target,
                          VersionedState<State>& result) const {
    Result<std::optional<Snapshot>> found = store_.snapshots().find(
        stream, view_.name, view_.version, target.value_or(std::numeric_limits<StreamRevision>::max()));
    if (!found.ok()) return found.status();
    if (!found->has_value()) return Status();
    const Snapshot& snapshot = **found;
    const auto unwrapped = view_detail::unwrap_snapshot_state(snapshot.state);
    if (!unwrapped) return Status();  // not written by a ViewLoader: ignore
    Result<std::optional<RecordedEvent>> event =
        view_detail::validate_snapshot(store_, stream, snapshot.revision, unwrapped->first);
    if (!event.ok()) return event.status().code() == ErrorCode::not_found ? Status() : event.status();
    if (!event->has_value()) return Status();
    Result<State> decoded = view_.decode_state(unwrapped->second);
    if (!decoded.ok()) return decoded.status();
    result.state = std::move(decoded).value();
    result.revision = snapshot.revision;
    result.snapshot_revision = snapshot.revision;
    result.first_revision = unwrapped->first.first_revision;
    result.recorded_at = (*event)->recorded_at;
    result.position = (*event)->position;
    return Status();
  }

  EventStore& store_;
  View<State> view_;
  SnapshotPolicy policy_;
};

}  // namespace evsrc
