// Commands with optimistic concurrency and retry, and revert (DESIGN §4).
//
// execute(loader, stream, decide):
//   1. loads the view's state of `stream` (revision R, or none),
//   2. calls decide(state), which returns a Decision (events for `stream`
//      plus optional parts for other streams, e.g. a username reservation)
//      or a Status: ErrorCode::rejected for a business rule ("username
//      taken"), never retried; any other error is returned as is,
//   3. commits the decision in one transaction, the stream's events expecting
//      exactly the stream's last revision when loaded (no_stream when it did
//      not exist): all parts or nothing,
//   4. on wrong_expected_revision in any part (someone else wrote first) it
//      waits a jittered exponential backoff, reloads and decides again, up to
//      RetryPolicy::max_attempts; then it returns that wrong_expected_revision.
// A Decision without events and parts writes nothing and succeeds.
//
// revert(loader, stream, to_revision, restore) is a command whose decision
// is restore(current state, state at to_revision): the events that set the
// state back. The log is never rewritten: history stays intact and the revert
// itself is in the audit trail (its events' metadata carry "revertedTo").
//
// Thread-safety: as the ViewLoader; decide may run several times per call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/status.h"
#include "evsrc/view.h"

namespace evsrc {

// What a command decided to write.
struct Decision {
  std::vector<EventData> events;            // for the command's stream
  std::vector<TransactionPart> other_parts;  // other streams, same transaction
  bool empty() const { return events.empty() && other_parts.empty(); }
};

struct RetryPolicy {
  std::uint32_t max_attempts = 10;  // decisions tried before giving up
  std::chrono::microseconds first_backoff{200};
  std::chrono::microseconds max_backoff{50'000};
};

struct CommandResult {
  // The stream's revision after the command (as loaded when nothing was
  // written); nullopt when the stream has no events.
  std::optional<StreamRevision> revision;
  // Position of the last written event (the read-your-writes token);
  // nullopt when nothing was written.
  std::optional<Position> position;
  std::uint32_t attempts = 0;   // decisions made
  std::uint32_t conflicts = 0;  // attempts lost to a concurrent writer
};

template <typename State>
using Decide = std::function<Result<Decision>(const VersionedState<State>& current)>;

// How a view expresses "set the state back to `target`" as events, given the
// current state; Status::rejected when it cannot (e.g. the old username is
// now someone else's).
template <typename State>
using Restore =
    std::function<Result<Decision>(const VersionedState<State>& current, const VersionedState<State>& target)>;

namespace command_detail {
// One attempt: load + decide + commit. Returns the committed result, or the
// Status of the first failing step.
using Attempt = std::function<Result<CommandResult>()>;
// Runs attempts until one succeeds, fails with anything but a conflict, or
// the policy gives up. Defined in src/toolkit/command.cc.
Result<CommandResult> run_with_retry(const RetryPolicy& policy, const Attempt& attempt);
// Commits `decision` for `stream` expecting its last revision to be `head`
// (no_stream when nullopt).
Result<CommandResult> commit_decision(EventStore& store, std::string_view stream,
                                      std::optional<StreamRevision> head, Decision decision);
// Adds "revertedTo": to_revision to the metadata of each of `events`.
Status mark_revert(std::vector<EventData>& events, StreamRevision to_revision);
}  // namespace command_detail

template <typename State>
Result<CommandResult> execute(const ViewLoader<State>& loader, std::string_view stream, const Decide<State>& decide,
                              const RetryPolicy& policy = {}) {
  return command_detail::run_with_retry(policy, [&]() -> Result<CommandResult> {
    Result<VersionedState<State>> current = loader.state(stream);
    if (!current.ok()) return current.status();
    Result<Decision> decision = decide(*current);
    if (!decision.ok()) return decision.status();
    return command_detail::commit_decision(loader.store(), stream, current->head, std::move(decision).value());
  });
}

// invalid_argument when `to_revision` is beyond the stream's last revision.
template <typename State>
Result<CommandResult> revert(const ViewLoader<State>& loader, std::string_view stream, StreamRevision to_revision,
                             const Restore<State>& restore, const RetryPolicy& policy = {}) {
  return command_detail::run_with_retry(policy, [&]() -> Result<CommandResult> {
    Result<VersionedState<State>> current = loader.state(stream);
    if (!current.ok()) return current.status();
    if (!current->revision || *current->revision < to_revision) {
      return Status::invalid_argument("cannot revert " + std::string(stream) + " to revision " +
                                      std::to_string(to_revision) + ": it is not in the stream's history");
    }
    Result<VersionedState<State>> target = loader.state_at(stream, to_revision);
    if (!target.ok()) return target.status();
    Result<Decision> decision = restore(*current, *target);
    if (!decision.ok()) return decision.status();
    Status marked = command_detail::mark_revert(decision->events, to_revision);
    if (!marked.ok()) return marked;
    return command_detail::commit_decision(loader.store(), stream, current->head, std::move(decision).value());
  });
}

}  // namespace evsrc
