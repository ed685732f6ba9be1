#include "postgres/followed_history.h"

#include <map>
#include <unordered_map>

namespace evsrc_test {

using evsrc::Position;
using evsrc::RecordedEvent;
using evsrc::StreamRevision;

std::vector<std::string> check_followed_history(std::span<const AcknowledgedEvent> acknowledged,
                                                std::span<const RecordedEvent> seen, std::size_t max_problems) {
  std::vector<std::string> problems;
  std::size_t unreported = 0;
  const auto problem = [&](std::string text) {
    if (problems.size() < max_problems) {
      problems.push_back(std::move(text));
    } else {
      ++unreported;
    }
  };
  const auto describe = [](const RecordedEvent& event) {
    return event.stream + "@" + std::to_string(event.revision) + " (position " + std::to_string(event.position) +
           ", id " + event.id.to_string() + ")";
  };

  std::unordered_map<evsrc::Uuid, std::size_t, evsrc::UuidHash> index_of;
  std::map<std::uint64_t, std::size_t> call_size;
  for (std::size_t i = 0; i < acknowledged.size(); ++i) {
    if (!index_of.emplace(acknowledged[i].id, i).second) {
      problem("id " + acknowledged[i].id.to_string() + " was acknowledged twice (a bug of the test)");
    }
    ++call_size[acknowledged[i].call];
  }

  std::vector<std::size_t> times_seen(acknowledged.size(), 0);
  std::map<std::string, StreamRevision> next_revision;
  std::optional<Position> last_position;
  // The call whose events are being seen, and how many of them are still to
  // come (0: none is open).
  std::uint64_t open_call = 0;
  std::size_t open_call_left = 0;
  for (const RecordedEvent& event : seen) {
    if (last_position && event.position <= *last_position) {
      problem("position " + std::to_string(event.position) + " of " + describe(event) + " follows position " +
              std::to_string(*last_position));
    }
    last_position = event.position;

    auto [next, first_of_stream] = next_revision.try_emplace(event.stream, 0);
    if (event.revision != next->second) {
      problem(describe(event) + " follows revision " +
              (first_of_stream ? std::string("none") : std::to_string(next->second - 1)) + " of its stream");
    }
    next->second = event.revision + 1;

    const auto found = index_of.find(event.id);
    if (found == index_of.end()) {
      problem(describe(event) + " was never acknowledged");
      if (open_call_left > 0) problem(describe(event) + " lies inside call " + std::to_string(open_call));
      open_call_left = 0;
      continue;
    }
    const AcknowledgedEvent& expected = acknowledged[found->second];
    if (++times_seen[found->second] > 1) problem(describe(event) + " seen again");
    if (event.stream != expected.stream || event.revision != expected.revision ||
        (expected.position && event.position != *expected.position)) {
      problem(describe(event) + " was acknowledged as " + expected.stream + "@" + std::to_string(expected.revision) +
              (expected.position ? " at position " + std::to_string(*expected.position) : std::string()));
    }
    if (open_call_left > 0 && open_call == expected.call) {
      --open_call_left;
    } else {
      if (open_call_left > 0) {
        problem(describe(event) + " of call " + std::to_string(expected.call) + " lies inside call " +
                std::to_string(open_call) + " (" + std::to_string(open_call_left) + " of its events still to come)");
      }
      open_call = expected.call;
      open_call_left = call_size[expected.call] - 1;
    }
  }
  for (std::size_t i = 0; i < acknowledged.size(); ++i) {
    if (times_seen[i] == 0) {
      const AcknowledgedEvent& missing = acknowledged[i];
      problem("acknowledged " + missing.stream + "@" + std::to_string(missing.revision) +
              (missing.position ? " (position " + std::to_string(*missing.position) + ")" : std::string()) + " id " +
              missing.id.to_string() + " was never seen");
    }
  }
  if (unreported > 0) problems.push_back("... and " + std::to_string(unreported) + " more problems");
  return problems;
}

std::string joined_problems(const std::vector<std::string>& problems) {
  std::string text;
  for (const std::string& problem : problems) text += "\n  " + problem;
  return text;
}

}  // namespace evsrc_test
