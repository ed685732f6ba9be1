// The retry loop and commit step behind execute() and revert()
// (include/evsrc/command.h).
#include <algorithm>
#include <random>
#include <thread>

#include "evsrc/codec.h"
#include "evsrc/command.h"

namespace evsrc::command_detail {
namespace {

// Full jitter: uniform in [0, min(max, first * 2^retry)], so writers that
// collided once spread out instead of colliding again in lockstep.
std::chrono::microseconds backoff(const RetryPolicy& policy, std::uint32_t retry) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto ceiling = std::min<std::int64_t>(policy.max_backoff.count(),
                                              policy.first_backoff.count() << std::min<std::uint32_t>(retry, 30));
  if (ceiling <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(0, ceiling)(random));
}

}  // namespace

Result<CommandResult> run_with_retry(const RetryPolicy& policy, const Attempt& attempt) {
  const std::uint32_t attempts = std::max<std::uint32_t>(policy.max_attempts, 1);
  std::uint32_t conflicts = 0;
  for (std::uint32_t made = 1;; ++made) {
    Result<CommandResult> result = attempt();
    if (result.ok()) {
      result->attempts = made;
      result->conflicts = conflicts;
      return result;
    }
    if (result.status().code() != ErrorCode::wrong_expected_revision) return result;
    ++conflicts;
    if (made == attempts) {
      const Status conflict = result.status();
      return Status::wrong_expected_revision(conflict.actual_revision(),
                                             "gave up after " + std::to_string(made) + " attempts lost to concurrent "
                                             "writers (last: " + conflict.message() + ")");
    }
    std::this_thread::sleep_for(backoff(policy, made - 1));
  }
}

Result<CommandResult> commit_decision(EventStore& store, std::string_view stream,
                                      std::optional<StreamRevision> head, Decision decision) {
  CommandResult result;
  result.revision = head;
  if (decision.empty()) return result;
  const ExpectedRevision expected = head ? ExpectedRevision::exact(*head) : ExpectedRevision::no_stream();
  if (decision.other_parts.empty()) {
    Result<AppendResult> appended = store.append(stream, expected, decision.events);
    if (!appended.ok()) return appended.status();
    result.revision = appended->last_revision;
    result.position = appended->position;
    return result;
  }
  // The command's stream is always part 0 (a condition only when it writes
  // nothing), so a concurrent write to it fails the whole transaction too.
  std::vector<TransactionPart> parts;
  parts.reserve(decision.other_parts.size() + 1);
  parts.push_back(TransactionPart{std::string(stream), expected, std::move(decision.events)});
  for (TransactionPart& part : decision.other_parts) parts.push_back(std::move(part));
  Result<TransactionResult> committed = store.commit(parts);
  if (!committed.ok()) return committed.status();
  if (!parts.front().events.empty()) result.revision = committed->parts.front().last_revision;
  result.position = committed->position;
  return result;
}

Status mark_revert(std::vector<EventData>& events, StreamRevision to_revision) {
  for (EventData& event : events) {
    Result<nlohmann::json> metadata = parse_metadata(event.metadata);
    if (!metadata.ok()) return metadata.status();
    (*metadata)["revertedTo"] = to_revision;
    try {
      event.metadata = metadata->dump();
    } catch (const nlohmann::json::exception& error) {  // e.g. invalid UTF-8 in a string
      return Status::invalid_argument(std::string("event metadata cannot be written as JSON: ") + error.what());
    }
  }
  return Status();
}

}  // namespace evsrc::command_detail
