// evsrcd as a library: the HTTP/JSON API v1 over an EventStore, with live
// subscriptions (Server-Sent Events), API keys, metrics and the web console.
// tools/evsrcd is a thin main() around it; tests and benchmarks start one on
// a free loopback port.
//
// Thread model: `io_threads` run the sockets (Boost.Asio); store calls, which
// may block (a durable append waits for its group's fdatasync), run on two
// pools of `worker_threads` each, one for reads and subscriptions, one for
// writes, so that neither can starve the other; live subscriptions wait for
// commits without a thread. Connections are capped below the descriptor
// limit (a reserve stays for the store's files).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/projection.h"
#include "evsrc/status.h"

namespace evsrc {

struct ServerOptions {
  std::string listen = "127.0.0.1:2113";  // HOST:PORT; port 0 picks a free one
  // Authentication with API keys (Authorization: Bearer <key>). Required when
  // listening on anything but loopback unless `insecure`; `require_auth`
  // requires it on loopback too.
  bool insecure = false;
  bool require_auth = false;
  std::string keys_file;  // empty: no key file (then auth cannot be required)
  std::string tls_cert;   // PEM files; both or neither
  std::string tls_key;

  std::size_t max_header_bytes = 16 * 1024;    // request line + headers; more -> 431
  std::size_t max_body_bytes = 32 << 20;       // request body; more -> 413
  std::size_t max_event_bytes = 1 << 20;       // one event's data + metadata; more -> 413
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive connection with no request
  std::chrono::milliseconds request_timeout{30'000};  // to receive one whole request (slow clients)
  std::chrono::milliseconds sse_heartbeat{15'000};    // comment line on an idle subscription
  std::chrono::milliseconds sse_send_timeout{10'000}; // a subscriber not reading this long is dropped
  std::size_t sse_batch_events = 64;                  // events read per batch for a subscriber
  unsigned io_threads = 2;
  unsigned worker_threads = 64;
  std::size_t max_connections = 10'000;
};

class Server {
 public:
  // Binds and starts serving `store` (which must outlive the server).
  // `projections` reports the projections run beside the server (shown by
  // /v1/projections, /metrics and the console); it is called from request
  // threads. invalid_argument for bad options, io_error when the address
  // cannot be bound or TLS files cannot be loaded.
  using ProjectionStatusSource = std::function<std::vector<ProjectionStatus>()>;
  static Result<std::unique_ptr<Server>> start(EventStore& store, ServerOptions options,
                                               ProjectionStatusSource projections = {});
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:<port>" (https with TLS)
  bool auth_required() const;

  // Graceful shutdown: stops accepting, ends subscriptions, lets requests in
  // flight (appends included) finish and be answered, then closes every
  // connection and joins the threads. Does not close the store. Idempotent.
  void stop();

  // Blocks until stop() has completed (from another thread or a signal).
  void wait();

 private:
  Server();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace evsrc
