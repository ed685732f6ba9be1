// HttpClient: one keep-alive HTTP/1.1 connection to an evsrcd server
// (Boost.Beast, synchronous), reconnecting when the server closed it.
// Used by the remote store (evsrc --server), the load generator and the
// server tests. Not thread-safe (one client per thread), except
// cancel_stream().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "evsrc/status.h"

namespace evsrc::client {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  unsigned status = 0;
  Headers headers;
  std::string body;
  // First value of a header (case-insensitive name).
  std::optional<std::string_view> header(std::string_view name) const;
};

struct ClientOptions {
  std::string bearer_key;                     // sent as "Authorization: Bearer <key>" when set
  std::chrono::milliseconds timeout{30'000};  // per request
};

class HttpClient {
 public:
  // `url` is "http://host:port" (a path after it is ignored). invalid_argument
  // for another scheme or a malformed URL. Connects lazily.
  static Result<std::unique_ptr<HttpClient>> create(std::string_view url, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. io_error when the
  // connection fails (one reconnect is tried when a kept-alive connection
  // turns out closed before anything was sent); timeout past the deadline.
  Result<HttpResult> request(std::string_view method, std::string_view target, std::string_view body = {},
                             const Headers& headers = {});

  // GET of a text/event-stream: calls `on_frame(id, event, data)` for each
  // frame (comments are skipped) until it returns false, the server ends the
  // stream, or `idle_timeout` passes with nothing received (timeout). Returns
  // the HTTP status: 200 when a stream ended, else the error the server
  // answered instead of a stream (then `error_body` holds the body).
  // Uses its own connection.
  using FrameHandler = std::function<bool(std::string_view id, std::string_view event, std::string_view data)>;
  struct StreamHooks {
    // Called with the status as soon as the response head arrives.
    std::function<void(unsigned status)> on_head;
    // Called when every frame received so far went to on_frame, before
    // waiting for more bytes: the end of a burst (e.g. to hand frames on in
    // batches).
    std::function<void()> on_pause;
  };
  Result<unsigned> stream_events(std::string_view target, const Headers& headers, const FrameHandler& on_frame,
                                 std::chrono::milliseconds idle_timeout, std::string* error_body = nullptr,
                                 const StreamHooks& hooks = {});

  // Thread-safe: makes the stream_events() running on another thread (or
  // the next one started) return closed promptly, even while the stream is
  // idle. Sticky: every later stream_events() returns closed too.
  void cancel_stream();

  const std::string& host() const;
  std::uint16_t port() const;

 private:
  HttpClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes `text` for a path segment or a query value (RFC 3986
// unreserved characters kept).
std::string percent_encode(std::string_view text);

}  // namespace evsrc::client
