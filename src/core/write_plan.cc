#include "core/write_plan.h"

#include <string>

#include "core/append_rules.h"

namespace evsrc {
namespace {

// Whether `events` were already appended at exactly this place: all ids
// known, in `stream`, at consecutive revisions, with the same content. Some
// ids known but not so: idempotency_conflict. nullopt: none known.
Result<std::optional<AppendResult>> find_recorded(std::string_view stream, std::span<const EventData> events,
                                                   WriteLookup& lookup) {
  std::vector<RecordedEvent> recorded;
  recorded.reserve(events.size());
  std::size_t known = 0;
  for (const EventData& event : events) {
    std::optional<RecordedEvent> found = lookup.recorded(event.id);
    if (found) {
      ++known;
      recorded.push_back(std::move(*found));
    }
  }
  if (known == 0) return std::optional<AppendResult>();
  if (known != events.size()) {
    return Status::idempotency_conflict(std::to_string(known) + " of the " + std::to_string(events.size()) +
                                        " event ids are already recorded by another append");
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (recorded[i].stream != stream || recorded[i].revision != recorded.front().revision + i) {
      // The message never names where: the other stream may belong to
      // another tenant.
      return Status::idempotency_conflict("event id " + events[i].id.to_string() + " is already recorded " +
                                          (recorded[i].stream != stream ? "in another stream"
                                                                        : "at another revision of this stream"));
    }
    if (!same_event(recorded[i], events[i])) {
      return Status::idempotency_conflict("event id " + events[i].id.to_string() +
                                          " is already recorded with other content");
    }
  }
  return std::optional<AppendResult>(
      AppendResult{recorded.front().revision, recorded.back().revision, recorded.back().position});
}

}  // namespace

Result<WritePlan> plan_write(std::span<const WritePart> parts, WriteLookup& lookup, bool name_parts) {
  const auto error = [&](std::size_t index, const Status& status) {
    return name_parts ? part_error(index, status) : status;
  };
  WritePlan plan;
  plan.parts.resize(parts.size());
  std::optional<std::size_t> first_recorded;
  std::optional<std::size_t> first_new;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const StreamState& state = lookup.state(parts[i].stream);
    if (state.tombstoned) return error(i, check_expected_revision(parts[i].stream, state, parts[i].expected));
    if (parts[i].events.empty()) continue;
    Result<std::optional<AppendResult>> replay = find_recorded(parts[i].stream, parts[i].events, lookup);
    if (!replay.ok()) return error(i, replay.status());
    if (*replay) {
      plan.parts[i].kind = PlannedPart::Kind::replayed;
      plan.parts[i].replayed = **replay;
      if (!first_recorded) first_recorded = i;
    } else if (!first_new) {
      first_new = i;
    }
  }
  if (first_recorded && first_new) {
    return error(*first_recorded,
                 Status::idempotency_conflict("events already recorded by an earlier commit, but part " +
                                              std::to_string(*first_new) + " is new"));
  }
  if (first_recorded) {
    plan.replay = true;
    return plan;
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const StreamState& state = lookup.state(parts[i].stream);
    if (Status status = check_expected_revision(parts[i].stream, state, parts[i].expected); !status.ok()) {
      return error(i, status);
    }
    if (!parts[i].events.empty()) {
      plan.parts[i].kind = PlannedPart::Kind::write;
      plan.parts[i].first_revision = state.next_revision();
    }
  }
  return plan;
}

Result<WritePlan> plan_write(std::span<const TransactionPart> parts, WriteLookup& lookup, bool name_parts) {
  std::vector<WritePart> views;
  views.reserve(parts.size());
  for (const TransactionPart& part : parts) views.push_back(WritePart{part.stream, part.expected, part.events});
  return plan_write(std::span<const WritePart>(views), lookup, name_parts);
}

}  // namespace evsrc
