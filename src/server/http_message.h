// The server's view of HTTP, free of the transport library: a parsed request,
// a complete response, and an event stream (SSE) to write after the
// response's head. The API (api.h) turns requests into replies; only
// http_transport.cc knows Boost.Beast.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/status.h"

namespace evsrc::server {

// Header names compare case-insensitively.
class HttpHeaders {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // First value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  // Replaces every value of `name` by `value`.
  void set(std::string_view name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // path and query as sent: "/v1/streams/a%2Fb?from=3"
  HttpHeaders headers;
  std::string body;
  std::string peer;  // "ip:port" of the client, for logs
};

struct HttpResponse {
  unsigned status = 200;
  HttpHeaders headers;  // Content-Type included; Content-Length is set by the transport
  std::string body;
  // A resource (file descriptors) ran out for this request: the API counts
  // it (evsrc_resource_shortages_total) and /health reports it for a while.
  // Not sent.
  bool resource_shortage = false;
};

// The events of a subscription as SSE frames. The transport drives it:
// read_next() on a worker thread; when it returns 0 events, the transport
// waits for the next commit (CommitNotifier) or a heartbeat, then asks again.
// The transport writes what one call produced before asking for more, so a
// slow client holds at most one batch in memory and never slows writers.
class SseFeed {
 public:
  virtual ~SseFeed() = default;
  // Appends the frames of at most `max_events` next events to `out` and
  // returns how many; 0 when caught up. Never waits for new commits. An error
  // ends the subscription: the transport sends it as a final `event: error`.
  virtual Result<std::size_t> read_next(std::string& out, std::size_t max_events) = 0;
  // True when the last read_next() stopped at its work budget before the end
  // of what is committed (a filter that matched nothing in the part it
  // examined): the transport asks again at once instead of waiting.
  virtual bool behind() const { return false; }

  // Why the subscription may not go on (its API key was revoked or lost the
  // right to these streams), as the code and message of the final error
  // event; nullopt while it may. Called on a worker before every batch and
  // when the keys change (an idle subscription ends within a second).
  struct Refusal {
    std::string code;  // "unauthenticated", "forbidden"
    std::string message;
  };
  virtual std::optional<Refusal> check_access() { return std::nullopt; }
};

// Receives a response the API completes later; called exactly once, from
// any thread (the store's completion thread for an append).
using ResponseSink = std::function<void(HttpResponse)>;

// What the API answers: a complete response, or (when `sse` is set) the head
// of a text/event-stream response whose body the feed produces, or (when
// `deferred` is set, inside the API only) a start function that is called
// once with the sink of the response: an append that waits for its group
// commit holds no thread meanwhile.
struct Reply {
  HttpResponse response;
  std::unique_ptr<SseFeed> sse;
  std::function<void(ResponseSink)> deferred;
};

// Formats one SSE frame: "id: <id>\nevent: <event>\ndata: <data>\n\n"
// (`data` must not contain newlines; compact JSON never does).
void append_sse_frame(std::string& out, std::string_view id, std::string_view event, std::string_view data);

// Percent-decodes a path segment or query value; nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// The path of a target and its query parameters, decoded.
struct ParsedTarget {
  std::vector<std::string> segments;  // "/v1/streams/a%2Fb" -> {"v1","streams","a/b"}
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::string_view> param(std::string_view name) const;
};
// invalid_argument on a bad percent escape or a target not starting with '/'.
Result<ParsedTarget> parse_target(std::string_view target);

}  // namespace evsrc::server
