// A store served by evsrcd, used through the same EventStore interface as a
// local one: `evsrc --server URL [--key KEY]` runs every sub-command against
// it. Each call is an HTTP request of the API v1 (docs/api/openapi.yaml);
// HTTP errors map back to the same ErrorCodes the local store returns (401
// and 403 become rejected). Subscriptions are Server-Sent Events read into a
// bounded queue, resumed after a dropped connection without gap or duplicate.
//
// Bytes: event data is stored exactly as given unless it is not valid UTF-8
// (invalid_argument: JSON cannot carry it); JSON data reads back in compact
// form. Event metadata must be a JSON object (stored compact), as the API
// requires.
//
// Thread-safety: as EventStore; concurrent callers get a connection each
// from a pool. snapshots() is an in-process store (snapshots are not kept by
// the server); wait_for_commit() polls the server's head.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"

namespace evsrc {

struct RemoteStoreOptions {
  std::string api_key;  // "evk_..." sent as a bearer token; empty = none
};

// Checks that `url` ("http://host:port") answers /health. invalid_argument for
// a malformed URL; io_error when the server cannot be reached.
Result<std::unique_ptr<EventStore>> open_remote_store(std::string_view url, RemoteStoreOptions options = {});

}  // namespace evsrc
