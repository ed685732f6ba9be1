// The decision a backend makes for a write once it can see the state of the
// streams involved and the events already recorded under the batch's ids:
// replay (every event was recorded by an earlier, identical write), refuse
// (nothing is written), or write the new events at the streams' next
// revisions. The one implementation of DESIGN §1's append and transaction
// rules: every backend (memory, file, PostgreSQL, DynamoDB) decides with it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/stream_state.h"
#include "evsrc/event_store.h"

namespace evsrc {

// What a decision reads. Implementations see the store as of the decision
// (e.g. under a lock) plus the writes planned before it in the same group.
class WriteLookup {
 public:
  virtual ~WriteLookup() = default;
  // The stream's state; a default StreamState when never seen.
  virtual const StreamState& state(std::string_view stream) = 0;
  // The event recorded under `id`, if any. A nil id is never recorded
  // (backends that assign ids at encoding keep them nil until then).
  virtual std::optional<RecordedEvent> recorded(const Uuid& id) = 0;
};

// One part of a write as plan_write reads it: a view of a TransactionPart (or
// of an append's arguments), so a backend need not copy the events to plan.
struct WritePart {
  std::string_view stream;
  ExpectedRevision expected = ExpectedRevision::any();
  std::span<const EventData> events;
};

struct PlannedPart {
  enum class Kind : std::uint8_t { write, condition, replayed };
  Kind kind = Kind::condition;
  StreamRevision first_revision = 0;    // write: revision of its first event
  std::optional<AppendResult> replayed;  // replayed: the original result
};

struct WritePlan {
  std::vector<PlannedPart> parts;  // one per transaction part
  // True when every part with events was recorded before (nothing to write).
  bool replay = false;
};

// Plans `parts` (validated; ids unique, nil ids only where the lookup never
// records them). Errors carry "part N: " when `name_parts` (a transaction)
// and not for a single append. Order of the rules: a tombstoned stream refuses
// everything, replays included (stream_deleted); then idempotent replay (every
// part with events recorded before: nothing is checked further); then the
// expectations of every part.
Result<WritePlan> plan_write(std::span<const WritePart> parts, WriteLookup& lookup, bool name_parts);
Result<WritePlan> plan_write(std::span<const TransactionPart> parts, WriteLookup& lookup, bool name_parts);

}  // namespace evsrc
