// Checks what a follower of $all saw against what writers were told was
// committed: the oracle of the no-skip and kill tests, unit-tested on
// fabricated histories so that a passing test means something.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "evsrc/types.h"

namespace evsrc_test {

// One event of an acknowledged append or transaction.
struct AcknowledgedEvent {
  std::string stream;
  evsrc::StreamRevision revision = 0;
  // Known for the last event of each part (the result's position); the
  // others are only known to lie before it.
  std::optional<evsrc::Position> position;
  evsrc::Uuid id;
  // The call it was acknowledged by: a call's events must be adjacent in $all.
  std::uint64_t call = 0;
};

// The problems of `seen` (the events a follower of $all received, in order)
// against `acknowledged` (every event any writer was told is committed), for a
// store into which nothing else was written; empty when there are none:
// - every acknowledged event is seen exactly once, with its stream, revision
//   and (where known) position; nothing unacknowledged is seen;
// - positions strictly increase;
// - each stream's revisions are 0, 1, 2, ... in the order seen;
// - the events of one call are adjacent (nothing of another call between).
// At most `max_problems` are described, then a count of the rest.
std::vector<std::string> check_followed_history(std::span<const AcknowledgedEvent> acknowledged,
                                                std::span<const evsrc::RecordedEvent> seen,
                                                std::size_t max_problems = 20);

// `problems` one per line, each on a new indented line: empty when there are
// none, so that EXPECT_EQ(joined_problems(...), "") prints them all.
std::string joined_problems(const std::vector<std::string>& problems);

}  // namespace evsrc_test
