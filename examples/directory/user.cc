#include "directory/user.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <variant>

#include "directory/events.h"

namespace evsrc::directory {

// Snapshot encodings (found by ADL, so in the states' namespace).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(UserState, exists, deleted, id, name, username, email, apiKey)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GroupState, exists, id, name, members)

namespace {

void fold(UserState& state, const UserEvent& event) {
  std::visit(
      [&state](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, UserCreated>) {
          state = UserState{.exists = true,
                            .deleted = false,
                            .id = e.id,
                            .name = e.name,
                            .username = e.username,
                            .email = e.email,
                            .apiKey = ""};
        } else if constexpr (std::is_same_v<E, NameSet>) {
          state.name = e.name;
        } else if constexpr (std::is_same_v<E, UsernameSet>) {
          state.username = e.username;
        } else if constexpr (std::is_same_v<E, EmailSet>) {
          state.email = e.email;
        } else if constexpr (std::is_same_v<E, ApiKeySet>) {
          state.apiKey = e.apiKey;
        } else if constexpr (std::is_same_v<E, UserDeleted>) {
          state.deleted = true;
        }
      },
      event);
}

void fold(GroupState& state, const GroupEvent& event) {
  std::visit(
      [&state](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, GroupCreated>) {
          state = GroupState{.exists = true, .id = e.id, .name = e.name, .members = {}};
        } else if constexpr (std::is_same_v<E, MemberAdded>) {
          if (!state.has_member(e.userId)) state.members.push_back(e.userId);
        } else if constexpr (std::is_same_v<E, MemberRemoved>) {
          std::erase(state.members, e.userId);
        }
      },
      event);
}

template <typename State>
Result<State> decode_json_state(std::string_view encoded) {
  try {
    return nlohmann::json::parse(encoded).get<State>();
  } catch (const nlohmann::json::exception& error) {
    return Status::invalid_argument(std::string("unreadable snapshot: ") + error.what());
  }
}

}  // namespace

bool GroupState::has_member(std::string_view user_id) const {
  return std::find(members.begin(), members.end(), user_id) != members.end();
}

View<UserState> user_view() {
  View<UserState> view;
  view.name = "directory-user";
  view.version = kUserViewVersion;
  view.apply = [](UserState& state, const EventView& recorded) -> Status {
    Result<UserEvent> event = user_codec().decode(recorded);
    if (!event.ok()) return event.status();
    fold(state, *event);
    return Status();
  };
  view.encode_state = [](const UserState& state) { return nlohmann::json(state).dump(); };
  view.decode_state = [](std::string_view encoded) { return decode_json_state<UserState>(encoded); };
  return view;
}

View<GroupState> group_view() {
  View<GroupState> view;
  view.name = "directory-group";
  view.version = kGroupViewVersion;
  view.apply = [](GroupState& state, const EventView& recorded) -> Status {
    Result<GroupEvent> event = group_codec().decode(recorded);
    if (!event.ok()) return event.status();
    fold(state, *event);
    return Status();
  };
  view.encode_state = [](const GroupState& state) { return nlohmann::json(state).dump(); };
  view.decode_state = [](std::string_view encoded) { return decode_json_state<GroupState>(encoded); };
  return view;
}

}  // namespace evsrc::directory
