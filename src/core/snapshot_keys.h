// Key layout shared by the snapshot stores of every ordered key-value backend:
//   stream NUL view NUL be32(view_version) be64(revision)
// Stream and view names hold no NUL, so the part before the revision (the
// "series" of one stream, view and version) is a unique prefix, and byte
// order sorts a series by revision: "newest at or before R" is one reverse
// seek.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc::snapshot_keys {

// invalid_argument unless the stream and view names are valid.
Status validate(std::string_view stream, std::string_view view);

std::string series(std::string_view stream, std::string_view view, std::uint32_t view_version);
std::string key(std::string_view series, StreamRevision revision);
// The revision of `key` when it belongs to `series`.
std::optional<StreamRevision> revision_in(std::string_view key, std::string_view series);

}  // namespace evsrc::snapshot_keys
