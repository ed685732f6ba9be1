// A server on a free loopback port over a fresh store, and a raw connection
// to talk to it byte by byte (Boost.Beast parses the responses), for the
// transport tests: keep-alive, limits, hostile and slow clients, SSE,
// shutdown, TLS.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/event_store.h"
#include "evsrc/server.h"

namespace evsrc::server_test {

class TempDirectory {
 public:
  TempDirectory();
  ~TempDirectory();
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A store at <temp>/store (file:) plus a server on 127.0.0.1:0.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options = {}, bool file_store = true);
  ~RunningServer();  // stops the server, closes the store
  EventStore& store() { return *store_; }
  Server& server() { return *server_; }
  std::uint16_t port() const { return server_->port(); }
  const std::filesystem::path& directory() const { return temp_.path(); }
  void stop();
  // Events in the whole store ($all, forward, everything).
  std::size_t count_events();

 private:
  TempDirectory temp_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
};

struct RawResponse {
  unsigned status = 0;
  std::string body;
  std::string header(std::string_view name) const;
  std::string headers;  // "Name: value\n" lines
  bool keep_alive = false;
};

// One TCP connection driven by hand.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends bytes as they are. False when the peer has closed.
  bool send(std::string_view bytes);
  // Reads one response (Beast parser); nullopt when the connection closed or
  // `timeout` passed first.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server closes the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  // Reads whatever arrives within `timeout` (until close), as bytes.
  std::string read_some_for(std::chrono::milliseconds timeout, std::size_t max_bytes = 1 << 20);
  // Sets the socket's receive buffer (before reading) to make a slow reader.
  void set_receive_buffer(int bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "METHOD target HTTP/1.1" with Host, Content-Length and the given extra
// header lines ("Name: value\r\n" each).
std::string http_request(std::string_view method, std::string_view target, std::string_view body = {},
                         std::string_view extra_headers = {});

// One request on a new connection.
RawResponse round_trip(std::uint16_t port, std::string_view method, std::string_view target,
                       std::string_view body = {}, std::string_view extra_headers = {});

}  // namespace evsrc::server_test
