#include "directory/commands.h"

#include <algorithm>
#include <string>
#include <utility>

#include "directory/events.h"
#include "directory/username_registry.h"

namespace evsrc::directory {
namespace {

template <typename Event>
Status add_event(std::vector<EventData>& events, const Codec<Event>& codec, const Event& event,
                 std::string_view actor) {
  Result<EventData> encoded = codec.encode(event, actor_metadata(actor));
  if (!encoded.ok()) return encoded.status();
  events.push_back(std::move(encoded).value());
  return Status();
}

Status add_user_event(Decision& decision, const UserEvent& event, std::string_view actor) {
  return add_event(decision.events, user_codec(), event, actor);
}

Status add_group_event(Decision& decision, const GroupEvent& event, std::string_view actor) {
  return add_event(decision.events, group_codec(), event, actor);
}

// Commands act on users that exist and are not deleted.
Status check_live(const UserState& user, std::string_view user_id) {
  if (!user.exists) return Status::not_found("user " + std::string(user_id) + " does not exist");
  if (user.deleted) return Status::rejected("user " + std::string(user_id) + " is deleted");
  return Status();
}

// Adds the claim of `next` and the release of `previous` to `decision`.
Status move_username(EventStore& store, Decision& decision, std::string_view user_id, std::string_view previous,
                     std::string_view next, std::string_view actor) {
  Result<TransactionPart> claim = claim_username(store, next, user_id, actor);
  if (!claim.ok()) return claim.status();
  Result<TransactionPart> release = release_username(store, previous, user_id, actor);
  if (!release.ok()) return release.status();
  decision.other_parts.push_back(std::move(claim).value());
  decision.other_parts.push_back(std::move(release).value());
  return Status();
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool has_control_char(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

// ---- input checks ------------------------------------------------------------------

Status validate_id(std::string_view what, std::string_view id) {
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), is_id_char)) {
    return Status::invalid_argument(std::string(what) + " id must be 1 to 128 characters of A-Z a-z 0-9 . _ -, not '" +
                                    std::string(id) + "'");
  }
  return Status();
}

Status validate_username(std::string_view username) {
  if (username.empty() || username.size() > 64 || !std::all_of(username.begin(), username.end(), is_id_char)) {
    return Status::invalid_argument("username must be 1 to 64 characters of A-Z a-z 0-9 . _ -, not '" +
                                    std::string(username) + "'");
  }
  return Status();
}

Status validate_name(std::string_view what, std::string_view name) {
  const bool blank = std::all_of(name.begin(), name.end(), [](char c) { return c == ' '; });
  if (name.empty() || name.size() > 200 || blank || has_control_char(name)) {
    return Status::invalid_argument(std::string(what) +
                                    " must be 1 to 200 bytes, not blank, without control characters");
  }
  return Status();
}

Status validate_email(std::string_view email) {
  const auto at = email.find('@');
  const bool well_formed = at != std::string_view::npos && at > 0 && at + 1 < email.size() &&
                           email.find('@', at + 1) == std::string_view::npos && email.size() <= 254 &&
                           email.find(' ') == std::string_view::npos && !has_control_char(email);
  if (!well_formed)
    return Status::invalid_argument("email must look like local@domain, not '" + std::string(email) + "'");
  return Status();
}

Status validate_api_key(std::string_view api_key) {
  const bool printable = std::all_of(api_key.begin(), api_key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (api_key.empty() || api_key.size() > 256 || !printable) {
    return Status::invalid_argument("API key must be 1 to 256 printable ASCII characters without spaces");
  }
  return Status();
}

// ---- service -----------------------------------------------------------------------

DirectoryService::DirectoryService(EventStore& store, std::string actor, RetryPolicy retry)
    : store_(store),
      actor_(std::move(actor)),
      retry_(retry),
      users_(store, user_view(), SnapshotPolicy{.every = kSnapshotEvery}),
      groups_(store, group_view(), SnapshotPolicy{.every = kSnapshotEvery}) {}

Result<UserCommandResult> DirectoryService::create_user(const NewUser& user) {
  for (const Status& check : {validate_id("user", user.id), validate_name("name", user.name),
                              validate_username(user.username), validate_email(user.email)}) {
    if (!check.ok()) return check;
  }
  return change_user(user.id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (current.revision) return Status::rejected("user " + user.id + " already exists");
    Decision decision;
    Status added = add_user_event(decision, UserCreated{user.id, user.name, user.username, user.email}, actor_);
    if (!added.ok()) return added;
    Result<TransactionPart> claim = claim_username(store_, user.username, user.id, actor_);
    if (!claim.ok()) return claim.status();
    decision.other_parts.push_back(std::move(claim).value());
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::set_name(std::string_view user_id, std::string_view name) {
  if (Status check = validate_name("name", name); !check.ok()) return check;
  return change_user(user_id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    Decision decision;
    if (current.state.name == name) return decision;
    Status added = add_user_event(decision, NameSet{std::string(name)}, actor_);
    if (!added.ok()) return added;
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::set_username(std::string_view user_id, std::string_view username) {
  if (Status check = validate_username(username); !check.ok()) return check;
  return change_user(user_id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    Decision decision;
    if (current.state.username == username) return decision;
    Status added = add_user_event(decision, UsernameSet{std::string(username)}, actor_);
    if (!added.ok()) return added;
    Status moved = move_username(store_, decision, user_id, current.state.username, username, actor_);
    if (!moved.ok()) return moved;
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::set_email(std::string_view user_id, std::string_view email) {
  if (Status check = validate_email(email); !check.ok()) return check;
  return change_user(user_id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    Decision decision;
    if (current.state.email == email) return decision;
    Status added = add_user_event(decision, EmailSet{std::string(email)}, actor_);
    if (!added.ok()) return added;
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::set_api_key(std::string_view user_id, std::string_view api_key) {
  if (Status check = validate_api_key(api_key); !check.ok()) return check;
  return change_user(user_id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    Decision decision;
    if (current.state.apiKey == api_key) return decision;
    Status added = add_user_event(decision, ApiKeySet{std::string(api_key)}, actor_);
    if (!added.ok()) return added;
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::delete_user(std::string_view user_id) {
  return change_user(user_id, [&](const VersionedState<UserState>& current) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    Decision decision;
    Status added = add_user_event(decision, UserDeleted{}, actor_);
    if (!added.ok()) return added;
    Result<TransactionPart> release = release_username(store_, current.state.username, user_id, actor_);
    if (!release.ok()) return release.status();
    decision.other_parts.push_back(std::move(release).value());
    return decision;
  });
}

Result<UserCommandResult> DirectoryService::revert_user(std::string_view user_id, StreamRevision revision) {
  Result<VersionedState<UserState>> existing = user(user_id);
  if (!existing.ok()) return existing.status();
  const Restore<UserState> restore = [&](const VersionedState<UserState>& current,
                                         const VersionedState<UserState>& target) -> Result<Decision> {
    if (Status live = check_live(current.state, user_id); !live.ok()) return live;
    const UserState& was = target.state;
    const UserState& now = current.state;
    Decision decision;
    if (was.name != now.name) {
      if (Status added = add_user_event(decision, NameSet{was.name}, actor_); !added.ok()) return added;
    }
    if (was.username != now.username) {
      if (Status added = add_user_event(decision, UsernameSet{was.username}, actor_); !added.ok()) return added;
      Status moved = move_username(store_, decision, user_id, now.username, was.username, actor_);
      if (moved.code() == ErrorCode::rejected) {
        return Status::rejected("cannot revert user " + std::string(user_id) + " to revision " +
                                std::to_string(revision) + ": " + moved.message());
      }
      if (!moved.ok()) return moved;
    }
    if (was.email != now.email) {
      if (Status added = add_user_event(decision, EmailSet{was.email}, actor_); !added.ok()) return added;
    }
    if (was.apiKey != now.apiKey) {
      if (Status added = add_user_event(decision, ApiKeySet{was.apiKey}, actor_); !added.ok()) return added;
    }
    return decision;
  };
  return user_result(user_id, revert(users_, user_stream(user_id), revision, restore, retry_));
}

Result<UserCommandResult> DirectoryService::change_user(std::string_view user_id, const Decide<UserState>& decide) {
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  return user_result(user_id, execute(users_, user_stream(user_id), decide, retry_));
}

Result<UserCommandResult> DirectoryService::user_result(std::string_view user_id,
                                                        const Result<CommandResult>& executed) const {
  if (!executed.ok()) return executed.status();
  if (!executed->revision) return Status::not_found("user " + std::string(user_id) + " does not exist");
  Result<VersionedState<UserState>> after = users_.state_at(user_stream(user_id), *executed->revision);
  if (!after.ok()) return after.status();
  return UserCommandResult{std::move(after->state), *executed->revision, *executed};
}

// ---- groups --------------------------------------------------------------------------

Result<GroupCommandResult> DirectoryService::create_group(std::string_view group_id, std::string_view name) {
  if (Status check = validate_id("group", group_id); !check.ok()) return check;
  if (Status check = validate_name("group name", name); !check.ok()) return check;
  const Decide<GroupState> decide = [&](const VersionedState<GroupState>& current) -> Result<Decision> {
    if (current.revision) return Status::rejected("group " + std::string(group_id) + " already exists");
    Decision decision;
    Status added = add_group_event(decision, GroupCreated{std::string(group_id), std::string(name)}, actor_);
    if (!added.ok()) return added;
    return decision;
  };
  return group_result(group_id, execute(groups_, group_stream(group_id), decide, retry_));
}

Result<GroupCommandResult> DirectoryService::add_member(std::string_view group_id, std::string_view user_id) {
  if (Status check = validate_id("group", group_id); !check.ok()) return check;
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  const Decide<GroupState> decide = [&](const VersionedState<GroupState>& current) -> Result<Decision> {
    if (!current.state.exists) return Status::not_found("group " + std::string(group_id) + " does not exist");
    Decision decision;
    if (current.state.has_member(user_id)) return decision;
    Result<VersionedState<UserState>> member = users_.state(user_stream(user_id));
    if (!member.ok()) return member.status();
    if (Status live = check_live(member->state, user_id); !live.ok()) return live;
    Status added = add_group_event(decision, MemberAdded{std::string(user_id)}, actor_);
    if (!added.ok()) return added;
    // The user must still be as we saw it (not deleted meanwhile) when the
    // membership commits: a condition-only part.
    decision.other_parts.push_back(
        TransactionPart{user_stream(user_id), ExpectedRevision::exact(*member->revision), {}});
    return decision;
  };
  return group_result(group_id, execute(groups_, group_stream(group_id), decide, retry_));
}

Result<GroupCommandResult> DirectoryService::remove_member(std::string_view group_id, std::string_view user_id) {
  if (Status check = validate_id("group", group_id); !check.ok()) return check;
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  const Decide<GroupState> decide = [&](const VersionedState<GroupState>& current) -> Result<Decision> {
    if (!current.state.exists) return Status::not_found("group " + std::string(group_id) + " does not exist");
    Decision decision;
    if (!current.state.has_member(user_id)) return decision;
    Status added = add_group_event(decision, MemberRemoved{std::string(user_id)}, actor_);
    if (!added.ok()) return added;
    return decision;
  };
  return group_result(group_id, execute(groups_, group_stream(group_id), decide, retry_));
}

Result<GroupCommandResult> DirectoryService::group_result(std::string_view group_id,
                                                          const Result<CommandResult>& executed) const {
  if (!executed.ok()) return executed.status();
  if (!executed->revision) return Status::not_found("group " + std::string(group_id) + " does not exist");
  Result<VersionedState<GroupState>> after = groups_.state_at(group_stream(group_id), *executed->revision);
  if (!after.ok()) return after.status();
  return GroupCommandResult{std::move(after->state), *executed->revision, *executed};
}

// ---- reads ------------------------------------------------------------------------------

Result<VersionedState<UserState>> DirectoryService::user(std::string_view user_id) const {
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  Result<VersionedState<UserState>> loaded = users_.state(user_stream(user_id));
  if (!loaded.ok()) return loaded.status();
  if (!loaded->state.exists) return Status::not_found("user " + std::string(user_id) + " does not exist");
  return loaded;
}

Result<VersionedState<UserState>> DirectoryService::user_at(std::string_view user_id, StreamRevision revision) const {
  Result<VersionedState<UserState>> now = user(user_id);
  if (!now.ok()) return now.status();
  if (!now->revision || *now->revision < revision) {
    return Status::not_found("user " + std::string(user_id) + " has no revision " + std::to_string(revision));
  }
  return users_.state_at(user_stream(user_id), revision);
}

Result<VersionedState<UserState>> DirectoryService::user_at(std::string_view user_id, Timestamp time) const {
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  Result<VersionedState<UserState>> loaded = users_.state_at(user_stream(user_id), time);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->state.exists) {
    return Status::not_found("user " + std::string(user_id) + " did not exist at " + format_rfc3339(time));
  }
  return loaded;
}

Result<std::vector<HistoryEntry<UserState>>> DirectoryService::user_history(std::string_view user_id) const {
  if (Status check = validate_id("user", user_id); !check.ok()) return check;
  Result<std::vector<HistoryEntry<UserState>>> history = users_.history(user_stream(user_id));
  if (!history.ok()) return history.status();
  if (history->empty()) return Status::not_found("user " + std::string(user_id) + " does not exist");
  return history;
}

Result<VersionedState<GroupState>> DirectoryService::group(std::string_view group_id) const {
  if (Status check = validate_id("group", group_id); !check.ok()) return check;
  Result<VersionedState<GroupState>> loaded = groups_.state(group_stream(group_id));
  if (!loaded.ok()) return loaded.status();
  if (!loaded->state.exists) return Status::not_found("group " + std::string(group_id) + " does not exist");
  return loaded;
}

}  // namespace evsrc::directory
