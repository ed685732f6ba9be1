// Feeds: the fuzz bytes as a recorded event to Codec::decode
// (include/evsrc/codec.h): the user directory's codecs
// (examples/directory/events.h, which decode what the Kinesis consumer reads)
// and a codec of this file with a version-2 type and its upcaster. The first
// byte chooses the codec and the event type, the second is the metadata's
// length; the metadata follows, the rest is the data.
// Asserts: no crash, uncaught exception or sanitizer report; a refusal is
// invalid_argument; an event that decodes encodes (Codec::encode, with the
// same metadata) to an event that decodes to the same alternative and JSON,
// written at the codec's current version.
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_fuzz.h"
#include "directory/events.h"
#include "evsrc/codec.h"

namespace {

// Version 2 of Renamed calls the field "name"; version 1 called it "newName".
struct Opened {
  std::string owner;
};
struct Renamed {
  std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Opened, owner)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Renamed, name)
using AccountEvent = std::variant<Opened, Renamed>;

const evsrc::Codec<AccountEvent>& account_codec() {
  static const evsrc::Codec<AccountEvent> codec = [] {
    evsrc::Codec<AccountEvent> built;
    built.add<Opened>("Opened").add<Renamed>("Renamed", 2).upcast("Renamed", 1, [](nlohmann::json& data) {
      if (!data.is_object() || !data.contains("newName")) return evsrc::Status::invalid_argument("no newName");
      data["name"] = data["newName"];
      data.erase("newName");
      return evsrc::Status();
    });
    return built;
  }();
  return codec;
}

template <typename Event>
void check(const evsrc::Codec<Event>& codec, const evsrc::RecordedEvent& recorded) {
  auto event = codec.decode(recorded);
  if (!event.ok()) {
    EVSRC_FUZZ_CHECK(event.status().code() == evsrc::ErrorCode::invalid_argument, "a refusal is not invalid_argument");
    return;
  }
  auto metadata = evsrc::parse_metadata(recorded.metadata);
  EVSRC_FUZZ_CHECK(metadata.ok(), "an event decoded with metadata that is not an object");
  auto encoded = codec.encode(*event, *metadata);
  EVSRC_FUZZ_CHECK(encoded.ok(), "a decoded event does not encode");
  EVSRC_FUZZ_CHECK(encoded->type == recorded.type, "a decoded event encodes as another type");
  evsrc::RecordedEvent again_recorded = recorded;
  again_recorded.data = encoded->data;
  again_recorded.metadata = encoded->metadata;
  auto again = codec.decode(again_recorded);
  EVSRC_FUZZ_CHECK(again.ok() && again->index() == event->index(), "an encoded event does not decode to its alternative");
  const auto as_json = [](const Event& value) { return std::visit([](const auto& v) { return nlohmann::json(v); }, value); };
  EVSRC_FUZZ_CHECK(as_json(*again) == as_json(*event), "an event changed through encode -> decode");
  auto version = evsrc::event_version(encoded->metadata);
  EVSRC_FUZZ_CHECK(version.ok() && *version >= 1, "an encoded event has no valid version");
}

constexpr const char* kUserTypes[] = {"UserCreated", "NameSet", "UsernameSet", "EmailSet", "ApiKeySet", "UserDeleted"};
constexpr const char* kGroupTypes[] = {"GroupCreated", "MemberAdded", "MemberRemoved", "Unknown"};
constexpr const char* kAccountTypes[] = {"Opened", "Renamed"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t selector = data[0];
  const std::size_t metadata_size = std::min<std::size_t>(data[1], size - 2);
  evsrc::RecordedEvent recorded;
  recorded.stream = "user-1";
  recorded.revision = 3;
  recorded.metadata = std::string(evsrc::fuzz::as_text(data + 2, metadata_size));
  recorded.data = std::string(evsrc::fuzz::as_text(data + 2 + metadata_size, size - 2 - metadata_size));
  (void)evsrc::directory::actor_of(recorded.metadata);
  switch (selector % 3) {
    case 0:
      recorded.type = kUserTypes[(selector / 3) % std::size(kUserTypes)];
      check(evsrc::directory::user_codec(), recorded);
      break;
    case 1:
      recorded.type = kGroupTypes[(selector / 3) % std::size(kGroupTypes)];
      check(evsrc::directory::group_codec(), recorded);
      break;
    case 2:
      recorded.type = kAccountTypes[(selector / 3) % std::size(kAccountTypes)];
      check(account_codec(), recorded);
      break;
  }
  return 0;
}
