// The stream changes that take no position — set_stream_metadata,
// delete_stream, tombstone_stream — as edits of a StreamState, for backends
// that read a stream's state, change it and store it back (PostgreSQL under
// the head lock, DynamoDB with a conditional put). On error the state is
// unchanged and nothing must be stored.
#pragma once

#include <string_view>

#include "core/stream_state.h"

namespace evsrc {

// stream_deleted when the stream is tombstoned.
Status change_stream_metadata(std::string_view stream, StreamState& state, const StreamMetadata& metadata);

// Soft delete: expectation errors, not_found when the stream does not exist.
Status soft_delete_stream(std::string_view stream, StreamState& state, ExpectedRevision expected);

// Hard delete: expectation errors (a tombstoned stream: stream_deleted).
Status tombstone_stream_state(std::string_view stream, StreamState& state, ExpectedRevision expected);

}  // namespace evsrc
