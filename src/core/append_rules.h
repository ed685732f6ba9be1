// Rules every backend applies to an append or a transaction before it looks
// at the store: id assignment, duplicate ids, limits across transaction parts,
// and the "part N: " naming of a transaction error.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc {

// A copy of `events` where every nil id is replaced by Uuid::random().
std::vector<EventData> with_assigned_ids(std::span<const EventData> events);

// invalid_argument when two events share an id. REQUIRES: ids assigned
// (nil ids are not compared).
Status check_unique_ids(std::span<const EventData> events);

// Checks every part with validate_append, that no stream appears in two
// parts, that no event id appears twice across parts, and the batch limits
// over the whole transaction. Errors name the part: "part 1: ...". Parts are
// numbered from 0. invalid_argument for a transaction without parts.
// REQUIRES: ids assigned.
Status validate_transaction(std::span<const TransactionPart> parts, const Limits& limits);

// `status` with "part <index>: " in front of its message; keeps the code and
// the actual revision of a wrong_expected_revision.
Status part_error(std::size_t index, const Status& status);

}  // namespace evsrc
