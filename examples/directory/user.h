// The directory's write-side views: the state of a user and of a group as a
// fold over their streams (view.h), with a JSON state encoding for snapshots.
//
// A user that was never created has exists == false; a deleted user keeps its
// last values with deleted == true (its history stays readable, commands on it
// are rejected, queries report it as not found).
//
// Thread-safety: the views' functions are pure; the loaders may be shared.
#pragma once

#include <string>
#include <vector>

#include "evsrc/view.h"

namespace evsrc::directory {

struct UserState {
  bool exists = false;   // a UserCreated was folded
  bool deleted = false;  // a UserDeleted was folded
  std::string id;
  std::string name;
  std::string username;
  std::string email;
  std::string apiKey;  // "" until ApiKeySet
  friend bool operator==(const UserState&, const UserState&) = default;
};

struct GroupState {
  bool exists = false;
  std::string id;
  std::string name;
  std::vector<std::string> members;  // user ids, in the order they were added
  bool has_member(std::string_view user_id) const;
  friend bool operator==(const GroupState&, const GroupState&) = default;
};

// Bump a version when its apply or state encoding changes: snapshots of the
// old version are then ignored.
inline constexpr std::uint32_t kUserViewVersion = 1;
inline constexpr std::uint32_t kGroupViewVersion = 1;

// Snapshot every this many events of a stream (keeps loads of long streams
// cheap; all snapshots are kept, so time travel stays cheap too).
inline constexpr std::uint64_t kSnapshotEvery = 100;

View<UserState> user_view();
View<GroupState> group_view();

}  // namespace evsrc::directory
