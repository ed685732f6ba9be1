// The user directory's events and their codecs.
//
// Three kinds of streams, one variant of events each:
//   user-<id>         UserCreated, NameSet, UsernameSet, EmailSet, ApiKeySet, UserDeleted
//   group-<id>        GroupCreated, MemberAdded, MemberRemoved
//   username-<name>   UsernameClaimed, UsernameReleased (the uniqueness registry,
//                     see username_registry.h)
// Events *set* values (the talk's design rule): replaying them in order gives the
// state, and "set the state back" is just more of them (revert).
//
// Every event's metadata carries {"actor": who issued the command} (plus the
// codec's "eventVersion" and, for reverts, "revertedTo").
//
// The type names and JSON field names below are persisted: never rename them;
// add an upcaster (codec.h) when a shape changes.
//
// Thread-safety: the codecs are built once and are immutable afterwards.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "evsrc/codec.h"

namespace evsrc::directory {

// ---- user-<id> -----------------------------------------------------------------

struct UserCreated {
  std::string id;
  std::string name;
  std::string username;
  std::string email;
};
struct NameSet {
  std::string name;
};
struct UsernameSet {
  std::string username;
};
struct EmailSet {
  std::string email;
};
struct ApiKeySet {
  std::string apiKey;
};
struct UserDeleted {};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UserCreated, id, name, username, email)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NameSet, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UsernameSet, username)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EmailSet, email)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ApiKeySet, apiKey)
void to_json(nlohmann::json& json, const UserDeleted& event);
void from_json(const nlohmann::json& json, UserDeleted& event);

using UserEvent = std::variant<UserCreated, NameSet, UsernameSet, EmailSet, ApiKeySet, UserDeleted>;

// ---- group-<id> ----------------------------------------------------------------

struct GroupCreated {
  std::string id;
  std::string name;
};
struct MemberAdded {
  std::string userId;
};
struct MemberRemoved {
  std::string userId;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GroupCreated, id, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemberAdded, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemberRemoved, userId)

using GroupEvent = std::variant<GroupCreated, MemberAdded, MemberRemoved>;

// ---- username-<name> -------------------------------------------------------------

struct UsernameClaimed {
  std::string userId;
};
struct UsernameReleased {
  std::string userId;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UsernameClaimed, userId)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UsernameReleased, userId)

using UsernameEvent = std::variant<UsernameClaimed, UsernameReleased>;

// ---- codecs and stream names -------------------------------------------------------

// The process-wide codecs (built on first use; thread-safe).
const Codec<UserEvent>& user_codec();
const Codec<GroupEvent>& group_codec();
const Codec<UsernameEvent>& username_codec();

// Stream categories (stream_category() of the names below).
inline constexpr std::string_view kUserCategory = "user";
inline constexpr std::string_view kGroupCategory = "group";
inline constexpr std::string_view kUsernameCategory = "username";

std::string user_stream(std::string_view user_id);       // "user-<id>"
std::string group_stream(std::string_view group_id);     // "group-<id>"
std::string username_stream(std::string_view username);  // "username-<name>"

// The metadata every command writes: {"actor": actor}.
nlohmann::json actor_metadata(std::string_view actor);

// The "actor" of an event's metadata; "" when absent or unreadable.
std::string actor_of(std::string_view metadata);

}  // namespace evsrc::directory
