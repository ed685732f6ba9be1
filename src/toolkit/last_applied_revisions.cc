// LastAppliedRevisions: per-stream dedupe for at-least-once sinks (see
// projection.h). Persisted as a JSON object {"<stream>": <last revision>}.
#include <nlohmann/json.hpp>

#include "evsrc/projection.h"

namespace evsrc {

bool LastAppliedRevisions::apply(const RecordedEvent& event) {
  auto found = last_.find(event.stream);
  if (found == last_.end()) {
    last_.emplace(event.stream, event.revision);
    return true;
  }
  if (event.revision <= found->second) return false;
  found->second = event.revision;
  return true;
}

std::optional<StreamRevision> LastAppliedRevisions::last(std::string_view stream) const {
  auto found = last_.find(stream);
  if (found == last_.end()) return std::nullopt;
  return found->second;
}

std::string LastAppliedRevisions::to_json() const {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [stream, revision] : last_) object[stream] = revision;
  return object.dump();
}

Result<LastAppliedRevisions> LastAppliedRevisions::from_json(std::string_view json) {
  const nlohmann::json object = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return Status::invalid_argument("last applied revisions: expected a JSON object of stream -> revision");
  }
  LastAppliedRevisions revisions;
  for (const auto& [stream, revision] : object.items()) {
    if (!revision.is_number_unsigned()) {
      return Status::invalid_argument("last applied revisions: revision of " + stream + " is not an unsigned integer");
    }
    revisions.last_.emplace(stream, revision.get<StreamRevision>());
  }
  return revisions;
}

}  // namespace evsrc
