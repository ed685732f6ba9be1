// What the security suite shares: the soak factor, the process's resident
// memory, and a dump of a store's whole observable content (equal dumps
// before and after an attack mean the attack wrote nothing).
#pragma once

#include <cstddef>
#include <string>

#include "evsrc/event_store.h"

namespace evsrc::security_test {

// EVSRC_SOAK=N (default 1): bounded budgets multiply by N for a soak run.
int soak_factor();

// Resident set size of this process in bytes (/proc/self/statm); 0 when
// unreadable.
std::size_t resident_bytes();

// Every event of $all with its stream, revision, id, type, data and
// metadata, then every stream's state (last revision, deleted, metadata).
std::string store_dump(EventStore& store);

}  // namespace evsrc::security_test
