// The non-template part of Codec (include/evsrc/codec.h).
#include "evsrc/codec.h"

namespace evsrc {

void UpcasterRegistry::add(std::string type, std::uint32_t from_version, Upcaster upcaster) {
  steps_[{std::move(type), from_version}] = std::move(upcaster);
}

Status UpcasterRegistry::upgrade(std::string_view type, std::uint32_t version, std::uint32_t target,
                                 nlohmann::json& data) const {
  for (std::uint32_t step = version; step < target; ++step) {
    const auto it = steps_.find(std::make_pair(std::string(type), step));
    if (it == steps_.end()) {
      return Status::invalid_argument("no upcaster for " + std::string(type) + " from version " +
                                      std::to_string(step) + " to " + std::to_string(step + 1));
    }
    if (Status status = it->second(data); !status.ok()) {
      return Status::invalid_argument("upcasting " + std::string(type) + " from version " + std::to_string(step) +
                                      " failed: " + status.message());
    }
  }
  return Status();
}

Result<nlohmann::json> parse_metadata(std::string_view metadata) {
  if (metadata.empty()) return nlohmann::json::object();
  nlohmann::json parsed = nlohmann::json::parse(metadata, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return Status::invalid_argument("metadata is not a JSON object");
  return parsed;
}

Result<std::uint32_t> event_version(std::string_view metadata) {
  Result<nlohmann::json> parsed = parse_metadata(metadata);
  if (!parsed.ok()) return parsed.status();
  const auto it = parsed->find(kEventVersionKey);
  if (it == parsed->end()) return std::uint32_t{1};
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > UINT32_MAX) {
    return Status::invalid_argument(std::string(kEventVersionKey) + " must be a positive integer");
  }
  return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

std::string describe_event(const EventView& event) {
  return std::string(event.stream) + "@" + std::to_string(event.revision) + " (" + std::string(event.type) + ")";
}

}  // namespace evsrc
