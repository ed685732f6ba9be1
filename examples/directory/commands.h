// DirectoryService: the directory's commands (the write side) and its reads
// of the event store (state now, at a revision or time, and the audit trail).
//
// Every command goes through execute() / revert() (command.h): load the view,
// decide, commit with the loaded revision expected, retry on conflicts. A
// command that touches a username commits the user stream's events, the claim
// of the new name and the release of the old one in ONE multi-stream
// transaction (username_registry.h), so usernames stay unique whatever runs
// concurrently, reverts included.
//
// Errors (what the CLI turns into exit codes):
//   invalid_argument         bad input: an empty or malformed id, name,
//                            username, email or key; a revision not in the
//                            stream's history
//   not_found                the user or group does not exist
//   rejected                 a business rule: username taken, user or group
//                            already exists, command on a deleted user
//   wrong_expected_revision  still conflicting after the retry policy's attempts
// A command that would change nothing (e.g. set-name to the current name)
// writes nothing and succeeds.
//
// Every event written carries {"actor": actor} in its metadata.
//
// Thread-safety: a DirectoryService may be used from several threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "directory/user.h"
#include "evsrc/command.h"
#include "evsrc/event_store.h"
#include "evsrc/view.h"

namespace evsrc::directory {

struct NewUser {
  std::string id;
  std::string name;
  std::string username;
  std::string email;
};

// The user after a command and where its stream is.
struct UserCommandResult {
  UserState user;
  StreamRevision revision = 0;
  CommandResult command;  // position written (read-your-writes token), attempts, conflicts
};

struct GroupCommandResult {
  GroupState group;
  StreamRevision revision = 0;
  CommandResult command;
};

class DirectoryService {
 public:
  // REQUIRES: `store` outlives the service.
  DirectoryService(EventStore& store, std::string actor, RetryPolicy retry = {});

  // ---- users -------------------------------------------------------------------
  Result<UserCommandResult> create_user(const NewUser& user);
  Result<UserCommandResult> set_name(std::string_view user_id, std::string_view name);
  Result<UserCommandResult> set_username(std::string_view user_id, std::string_view username);
  Result<UserCommandResult> set_email(std::string_view user_id, std::string_view email);
  Result<UserCommandResult> set_api_key(std::string_view user_id, std::string_view api_key);
  // Releases the user's username; the user's history stays readable.
  Result<UserCommandResult> delete_user(std::string_view user_id);
  // Appends the events that set the user back to its state after `revision`
  // (reclaiming its old username if that changed: rejected when another user
  // holds it now).
  Result<UserCommandResult> revert_user(std::string_view user_id, StreamRevision revision);

  // ---- groups ------------------------------------------------------------------
  Result<GroupCommandResult> create_group(std::string_view group_id, std::string_view name);
  // The user must exist and not be deleted (checked in the same transaction).
  Result<GroupCommandResult> add_member(std::string_view group_id, std::string_view user_id);
  Result<GroupCommandResult> remove_member(std::string_view group_id, std::string_view user_id);

  // ---- reads of the event store --------------------------------------------------
  // The user as its stream says (deleted users included: check `deleted`);
  // not_found when never created.
  Result<VersionedState<UserState>> user(std::string_view user_id) const;
  // After event `revision`: not_found when the stream has no such revision.
  Result<VersionedState<UserState>> user_at(std::string_view user_id, StreamRevision revision) const;
  // After the last event recorded at or before `time`: not_found when the user
  // did not exist yet.
  Result<VersionedState<UserState>> user_at(std::string_view user_id, Timestamp time) const;
  // Every event of the user with the user after it, oldest first; not_found
  // when never created.
  Result<std::vector<HistoryEntry<UserState>>> user_history(std::string_view user_id) const;
  Result<VersionedState<GroupState>> group(std::string_view group_id) const;

  EventStore& store() const { return store_; }

 private:
  Result<UserCommandResult> change_user(std::string_view user_id, const Decide<UserState>& decide);
  Result<UserCommandResult> user_result(std::string_view user_id, const Result<CommandResult>& executed) const;
  Result<GroupCommandResult> group_result(std::string_view group_id, const Result<CommandResult>& executed) const;

  EventStore& store_;
  std::string actor_;
  RetryPolicy retry_;
  ViewLoader<UserState> users_;
  ViewLoader<GroupState> groups_;
};

// Input checks shared with the CLI; invalid_argument naming the field.
Status validate_id(std::string_view what, std::string_view id);      // 1..128 of [A-Za-z0-9._-]
Status validate_username(std::string_view username);                 // 1..64 of [A-Za-z0-9._-]
Status validate_name(std::string_view what, std::string_view name);  // 1..200 bytes, not blank, no control chars
Status validate_email(std::string_view email);                       // local@domain, no spaces, <= 254 bytes
Status validate_api_key(std::string_view api_key);                   // 1..256 printable ASCII, no spaces

}  // namespace evsrc::directory
