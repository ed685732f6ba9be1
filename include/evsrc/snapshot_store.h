// SnapshotStore: saved states of a view of a stream (DESIGN §1 "Snapshots").
//
// A snapshot is keyed by (stream, view name, view version, revision): the
// state of that view after folding the stream's events 0..revision. Several
// snapshots per stream and view are kept, so loading the state at any
// revision starts from the nearest one below it. A snapshot of another view
// version is never returned for a lookup of this version: changing a view's
// version ignores its old snapshots.
//
// Snapshots are a cache. Losing one (a crash before it reached the disk, a
// rebuild) only makes the next load fold more events; the event log stays the
// truth. Each backend stores them beside its events: memory: in memory,
// file: in a RocksDB of its own in the store's directory.
//
// Thread-safety: every method may be called concurrently. put() of one key
// never touches another key, so a writer of an old snapshot can never erase
// a newer one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

struct Snapshot {
  std::string stream;
  std::string view;                // 1..255 bytes, no NUL
  std::uint32_t view_version = 1;
  StreamRevision revision = 0;     // the last event folded into `state`
  std::string state;               // the view's own encoding
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;

  // Stores `snapshot`, replacing one at exactly the same key (a fold is
  // deterministic, so that one holds the same state).
  // invalid_argument for a bad stream or view name.
  virtual Status put(const Snapshot& snapshot) = 0;

  // The snapshot of (stream, view, view_version) with the greatest revision
  // <= `at_or_before`; nullopt when there is none.
  virtual Result<std::optional<Snapshot>> find(std::string_view stream, std::string_view view,
                                               std::uint32_t view_version, StreamRevision at_or_before) = 0;

  // Revisions of the snapshots of (stream, view, view_version), ascending.
  virtual Result<std::vector<StreamRevision>> list(std::string_view stream, std::string_view view,
                                                   std::uint32_t view_version) = 0;

  // Removes one snapshot; ok when it did not exist.
  virtual Status erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
                       StreamRevision revision) = 0;
};

// Checks a view name: 1..255 bytes, no NUL.
Status validate_view_name(std::string_view view);

}  // namespace evsrc
