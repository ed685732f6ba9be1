// Unique usernames on an event store: one stream per name, `username-<name>`,
// whose last event says whether the name is free.
//
//   never written               free: claim expecting no_stream
//   last event UsernameReleased free: claim expecting exact(that revision)
//   last event UsernameClaimed  held by its userId
//
// A claim or release is a TransactionPart, committed in the same transaction as
// the user stream's events (command.h's Decision::other_parts). The claim's
// expectation is what makes the name unique: of two concurrent claims of a free
// name, both expect the same revision and only the first commit meets it; the
// other fails with wrong_expected_revision, execute() retries, and the retry
// finds the name held and rejects.
//
// Thread-safety: stateless functions over a thread-safe EventStore.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"
#include "evsrc/status.h"

namespace evsrc::directory {

struct UsernameHolder {
  // The user holding the name; nullopt when it is free.
  std::optional<std::string> user_id;
  // The name stream's last revision; nullopt when never written.
  std::optional<StreamRevision> last_revision;
};

// Reads the last event of `username-<username>` (one backward read).
Result<UsernameHolder> username_holder(EventStore& store, std::string_view username);

// The part that claims `username` for `user_id`. rejected("username N is
// taken") when another user holds it; wrong_expected_revision (retry: the
// caller's state of its user is stale) when `user_id` itself holds it.
Result<TransactionPart> claim_username(EventStore& store, std::string_view username, std::string_view user_id,
                                       std::string_view actor);

// The part that releases `username`, held by `user_id`.
// wrong_expected_revision (retry: the caller's state of its user is stale)
// when the registry says `user_id` does not hold it.
Result<TransactionPart> release_username(EventStore& store, std::string_view username, std::string_view user_id,
                                         std::string_view actor);

}  // namespace evsrc::directory
