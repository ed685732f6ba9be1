// Codec: C++ event types <-> stored events (type name + JSON data), with
// upcasting of old event versions on read (DESIGN §4).
//
// The natural model of a stream's events is a std::variant of structs; each
// alternative is registered under a type name and a schema version, and
// converted with nlohmann::json's to_json/from_json (e.g. through
// NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE). The version is written into the event's
// metadata under "eventVersion" (absent means 1). Reading an event of an older
// version runs the registered upcasters v -> v+1 -> ... -> current on its JSON
// before conversion; the log itself is never rewritten.
//
// Errors are values: an unknown type, JSON that does not parse or does not
// fit the struct, a version newer than the codec knows or a missing upcaster
// step all yield invalid_argument naming the event; nothing throws.
//
// Thread-safety: register everything before sharing; afterwards encode() and
// decode() may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "evsrc/event_cursor.h"
#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

// Metadata key that holds the schema version of an event's data.
inline constexpr char kEventVersionKey[] = "eventVersion";

// Upgrades the JSON data of one event type from version v to v + 1, in place.
using Upcaster = std::function<Status(nlohmann::json& data)>;

// The version-independent part of a codec: upcaster chains per type.
class UpcasterRegistry {
 public:
  // Registers the step `from_version` -> `from_version + 1` of `type`.
  // REQUIRES: from_version >= 1; at most one step per (type, from_version).
  void add(std::string type, std::uint32_t from_version, Upcaster upcaster);

  // Runs the steps version -> target on `data`. invalid_argument when a step
  // is missing or one fails.
  Status upgrade(std::string_view type, std::uint32_t version, std::uint32_t target, nlohmann::json& data) const;

 private:
  std::map<std::pair<std::string, std::uint32_t>, Upcaster, std::less<>> steps_;
};

// The "eventVersion" of a metadata JSON object; 1 when metadata is empty or
// has no version. invalid_argument when metadata is not a JSON object or the
// version is not a positive integer.
Result<std::uint32_t> event_version(std::string_view metadata);

// Parses metadata as a JSON object (an empty string is an empty object).
Result<nlohmann::json> parse_metadata(std::string_view metadata);

// "user-1@3 (NameSet)": how codec errors name an event.
std::string describe_event(const EventView& event);

template <typename Event>
class Codec {
  static constexpr std::size_t kAlternatives = std::variant_size_v<Event>;

 public:
  // Registers alternative T of Event under `type`, written at `version`.
  template <typename T>
  Codec& add(std::string type, std::uint32_t version = 1) {
    constexpr std::size_t index = alternative_index<T>();
    static_assert(index < kAlternatives, "T is not an alternative of the codec's event variant");
    names_[index] = type;
    versions_[index] = version;
    readers_[std::move(type)] = Reader{version, [](const nlohmann::json& data) { return Event(data.get<T>()); }};
    return *this;
  }

  // Registers an upcaster for `type` from `from_version` to from_version + 1.
  Codec& upcast(std::string type, std::uint32_t from_version, Upcaster upcaster) {
    upcasters_.add(std::move(type), from_version, std::move(upcaster));
    return *this;
  }

  // The registered type name of `event`'s alternative ("" if unregistered).
  const std::string& type_of(const Event& event) const { return names_[event.index()]; }

  // An EventData with the alternative's type, its JSON data and `metadata`
  // plus the version. invalid_argument for an unregistered alternative.
  Result<EventData> encode(const Event& event, nlohmann::json metadata = nlohmann::json::object()) const {
    const std::size_t index = event.index();
    if (names_[index].empty()) return Status::invalid_argument("event alternative " + std::to_string(index) + " has no registered type");
    if (!metadata.is_object()) return Status::invalid_argument("event metadata must be a JSON object");
    EventData data;
    data.type = names_[index];
    metadata[kEventVersionKey] = versions_[index];
    try {  // dump() throws on strings that are not UTF-8
      data.data = std::visit([](const auto& alternative) { return nlohmann::json(alternative).dump(); }, event);
      data.metadata = metadata.dump();
    } catch (const nlohmann::json::exception& error) {
      return Status::invalid_argument("cannot encode " + data.type + ": " + error.what());
    }
    return data;
  }

  // The C++ event of a recorded one, upcast to the current version.
  Result<Event> decode(const RecordedEvent& event) const { return decode(EventView::of(event)); }
  Result<Event> decode(const EventView& event) const {
    const auto reader = readers_.find(event.type);
    if (reader == readers_.end()) return Status::invalid_argument(describe_event(event) + ": unknown event type");
    Result<std::uint32_t> version = event_version(event.metadata);
    if (!version.ok()) return Status::invalid_argument(describe_event(event) + ": " + version.status().message());
    if (*version > reader->second.version) {
      return Status::invalid_argument(describe_event(event) + ": version " + std::to_string(*version) +
                                      " is newer than the codec's " + std::to_string(reader->second.version));
    }
    try {
      nlohmann::json data = nlohmann::json::parse(event.data);
      if (*version < reader->second.version) {
        const Status upgraded = upcasters_.upgrade(event.type, *version, reader->second.version, data);
        if (!upgraded.ok()) return Status::invalid_argument(describe_event(event) + ": " + upgraded.message());
      }
      return reader->second.read(data);
    } catch (const nlohmann::json::exception& error) {
      return Status::invalid_argument(describe_event(event) + ": " + error.what());
    }
  }

 private:
  struct Reader {
    std::uint32_t version = 1;
    std::function<Event(const nlohmann::json&)> read;
  };

  template <typename T, std::size_t I = 0>
  static constexpr std::size_t alternative_index() {
    if constexpr (I == kAlternatives) {
      return I;
    } else if constexpr (std::is_same_v<std::variant_alternative_t<I, Event>, T>) {
      return I;
    } else {
      return alternative_index<T, I + 1>();
    }
  }

  std::array<std::string, kAlternatives> names_{};
  std::array<std::uint32_t, kAlternatives> versions_{};
  std::map<std::string, Reader, std::less<>> readers_;
  UpcasterRegistry upcasters_;
};

}  // namespace evsrc
