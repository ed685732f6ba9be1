// The HTTP API v1 (docs/api/openapi.yaml): routes requests to handlers over
// the EventStore. The transport calls handle_async() on a worker thread:
// reads answer at once (store reads may block the worker); appends and
// transactions go to the store's asynchronous writes and are answered from
// their completion, so no thread waits for a group commit (with a store whose
// asynchronous writes are the blocking call, e.g. postgres:, the worker
// waits as before).
//
// Errors are JSON bodies {"error": "<stable_code>", "message": "..."}:
//   400 bad_request (malformed JSON, invalid UTF-8, bad parameter, ...),
//       invalid_stream_name, invalid_expected_revision, invalid_event
//   401 unauthenticated   403 forbidden   404 not_found / stream_not_found /
//   event_not_found       405 method_not_allowed   409 wrong_expected_revision /
//   idempotency_conflict  410 stream_deleted   413 too_large
//   500 internal / io_error / corruption   503 unavailable (store closed)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <functional>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "server/http_message.h"

namespace evsrc::server {

class ApiKeyFile;
struct ServerMetrics;

struct ApiLimits {
  std::size_t max_event_bytes = 1 << 20;  // data + metadata of one event; more -> 413
  std::uint64_t default_page = 100;
  std::uint64_t max_page = 10000;  // limit above -> 400
};

// The status of every projection the server runs (e.g.
// SqliteReadModels::status()), called per request; empty when none. Each
// ProjectionStatus carries its name, state, position, lag and error.
using ProjectionStatusSource = std::function<std::vector<ProjectionStatus>()>;

struct ApiContext {
  EventStore* store = nullptr;
  ApiKeyFile* keys = nullptr;  // nullptr: authentication off (every caller is admin)
  ServerMetrics* metrics = nullptr;
  ProjectionStatusSource projections;  // may be empty (no projections)
  ApiLimits limits;
};

class Api {
 public:
  explicit Api(ApiContext context);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Calls `done` exactly once with the reply (never one with `deferred`
  // set): before returning for most requests, later from the store's
  // completion thread for a write. `request` need not outlive the call.
  // Never throws: an unexpected exception becomes 500 internal.
  void handle_async(const HttpRequest& request, std::function<void(Reply)> done);
  // handle_async(), waiting for the reply (tests, fuzzers).
  Reply handle(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The error response of the API: status + {"error","message"} (+ `extra`
// fields given as a JSON object text, e.g. "{\"actual\":3}").
HttpResponse error_response(unsigned status, std::string_view code, std::string_view message,
                            std::string_view extra_json_object = {});

// The HTTP status and stable code of a store error.
struct HttpError {
  unsigned status;
  std::string_view code;
};
HttpError http_error_for(const Status& status);

}  // namespace evsrc::server
