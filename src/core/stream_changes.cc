#include "core/stream_changes.h"

#include <string>

namespace evsrc {

Status change_stream_metadata(std::string_view stream, StreamState& state, const StreamMetadata& metadata) {
  if (state.tombstoned) return Status::stream_deleted("stream " + std::string(stream) + " is tombstoned");
  state.metadata = metadata;
  return Status();
}

Status soft_delete_stream(std::string_view stream, StreamState& state, ExpectedRevision expected) {
  if (Status status = check_expected_revision(stream, state, expected); !status.ok()) return status;
  if (!state.exists()) return Status::not_found("stream " + std::string(stream) + " does not exist");
  state.soft_deleted = true;
  state.visible_from = state.next_revision();
  return Status();
}

Status tombstone_stream_state(std::string_view stream, StreamState& state, ExpectedRevision expected) {
  if (Status status = check_expected_revision(stream, state, expected); !status.ok()) return status;
  state.tombstoned = true;
  state.soft_deleted = false;
  state.visible_from = state.next_revision();
  return Status();
}

}  // namespace evsrc
