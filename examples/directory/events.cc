#include "directory/events.h"

#include <string>

namespace evsrc::directory {

void to_json(nlohmann::json& json, const UserDeleted&) { json = nlohmann::json::object(); }
void from_json(const nlohmann::json&, UserDeleted&) {}

const Codec<UserEvent>& user_codec() {
  static const Codec<UserEvent> codec = [] {
    Codec<UserEvent> built;
    built.add<UserCreated>("UserCreated")
        .add<NameSet>("NameSet")
        .add<UsernameSet>("UsernameSet")
        .add<EmailSet>("EmailSet")
        .add<ApiKeySet>("ApiKeySet")
        .add<UserDeleted>("UserDeleted");
    return built;
  }();
  return codec;
}

const Codec<GroupEvent>& group_codec() {
  static const Codec<GroupEvent> codec = [] {
    Codec<GroupEvent> built;
    built.add<GroupCreated>("GroupCreated").add<MemberAdded>("MemberAdded").add<MemberRemoved>("MemberRemoved");
    return built;
  }();
  return codec;
}

const Codec<UsernameEvent>& username_codec() {
  static const Codec<UsernameEvent> codec = [] {
    Codec<UsernameEvent> built;
    built.add<UsernameClaimed>("UsernameClaimed").add<UsernameReleased>("UsernameReleased");
    return built;
  }();
  return codec;
}

std::string user_stream(std::string_view user_id) { return std::string(kUserCategory) + "-" + std::string(user_id); }

std::string group_stream(std::string_view group_id) {
  return std::string(kGroupCategory) + "-" + std::string(group_id);
}

std::string username_stream(std::string_view username) {
  return std::string(kUsernameCategory) + "-" + std::string(username);
}

nlohmann::json actor_metadata(std::string_view actor) { return nlohmann::json{{"actor", std::string(actor)}}; }

std::string actor_of(std::string_view metadata) {
  Result<nlohmann::json> parsed = parse_metadata(metadata);
  if (!parsed.ok()) return "";
  const auto actor = parsed->find("actor");
  if (actor == parsed->end() || !actor->is_string()) return "";
  return actor->get<std::string>();
}

}  // namespace evsrc::directory
