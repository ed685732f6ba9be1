#include "server/server_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace evsrc::server_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

TempDirectory::TempDirectory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-server-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDirectory::~TempDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunningServer::RunningServer(ServerOptions options, bool file_store) {
  auto store = open_store(file_store ? "file:" + (temp_.path() / "store").string() : "memory:");
  if (!store.ok()) throw std::runtime_error("open_store: " + store.status().to_string());
  store_ = std::move(store).value();
  options.listen = "127.0.0.1:0";
  if (options.keys_file.empty()) options.keys_file = (temp_.path() / "api-keys.json").string();
  auto server = Server::start(*store_, options);
  if (!server.ok()) throw std::runtime_error("Server::start: " + server.status().to_string());
  server_ = std::move(server).value();
}

RunningServer::~RunningServer() {
  stop();
  if (store_) (void)store_->close();
}

void RunningServer::stop() {
  if (server_) server_->stop();
}

std::size_t RunningServer::count_events() {
  std::size_t count = 0;
  AllReadOptions options;
  options.limit = 100000;
  while (true) {
    auto page = store_->read_all(options);
    if (!page.ok()) throw std::runtime_error("read_all: " + page.status().to_string());
    count += page.value().events.size();
    if (!page.value().next) return count;
    options.from = page.value().next;
  }
}

std::string RawResponse::header(std::string_view name) const {
  std::string needle = std::string(name) + ": ";
  std::size_t at = 0;
  while (at < headers.size()) {
    const std::size_t end = headers.find('\n', at);
    const std::string_view line(headers.data() + at, (end == std::string::npos ? headers.size() : end) - at);
    if (line.size() >= needle.size() &&
        std::equal(needle.begin(), needle.end(), line.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return std::string(line.substr(needle.size()));
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

struct RawConnection::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

RawConnection::RawConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

RawConnection::~RawConnection() {
  beast::error_code ignored;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

bool RawConnection::send(std::string_view bytes) {
  beast::error_code ec;
  impl_->stream.expires_after(std::chrono::seconds(10));
  asio::write(impl_->stream, asio::buffer(bytes.data(), bytes.size()), ec);
  return !ec;
}

namespace {
// Runs the io_context until `done` or the deadline; true when done. An
// operation still pending at the deadline is cancelled and run to its end, so
// no handler outlives the caller's frame.
bool run_until(asio::io_context& ioc, beast::tcp_stream& stream, const bool& done, std::chrono::milliseconds timeout) {
  ioc.restart();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_for(std::chrono::milliseconds(20));
  if (done) return true;
  stream.cancel();
  while (!done) ioc.run_for(std::chrono::milliseconds(20));
  return false;
}
}  // namespace

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  bool done = false;
  beast::error_code result;
  impl_->stream.expires_never();
  http::async_read(impl_->stream, impl_->buffer, parser, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  run_until(impl_->ioc, impl_->stream, done, timeout + std::chrono::seconds(1));
  if (!done || result) return std::nullopt;
  RawResponse response;
  auto message = parser.release();
  response.status = message.result_int();
  response.keep_alive = message.keep_alive();
  for (const auto& field : message) {
    response.headers.append(std::string(field.name_string())).append(": ").append(std::string(field.value())).append("\n");
  }
  response.body = std::move(message.body());
  return response;
}

std::string RawConnection::read_some_for(std::chrono::milliseconds timeout, std::size_t max_bytes) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Whatever the buffer already holds from earlier reads comes first.
  out.append(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[65536];
  while (out.size() < max_bytes && std::chrono::steady_clock::now() < deadline) {
    bool done = false;
    beast::error_code result;
    std::size_t got = 0;
    // No stream deadline: Beast closes the socket when one expires; a read
    // past `timeout` is cancelled instead, keeping the connection.
    impl_->stream.expires_never();
    impl_->stream.async_read_some(asio::buffer(chunk), [&](beast::error_code ec, std::size_t n) {
      result = ec;
      got = n;
      done = true;
    });
    run_until(impl_->ioc, impl_->stream, done, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now() + std::chrono::seconds(1)));
    out.append(chunk, got);
    if (!done || result) break;
  }
  return out;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    bool done = false;
    beast::error_code result;
    impl_->stream.expires_never();
    impl_->stream.async_read_some(asio::buffer(chunk), [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    run_until(impl_->ioc, impl_->stream, done, timeout + std::chrono::seconds(1));
    if (!done) return false;
    if (result == asio::error::operation_aborted) return false;  // our deadline
    if (result) return true;  // eof / reset: closed
  }
  return false;
}

void RawConnection::set_receive_buffer(int bytes) {
  beast::error_code ignored;
  impl_->stream.socket().set_option(asio::socket_base::receive_buffer_size(bytes), ignored);
}

std::string http_request(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra_headers) {
  std::string request;
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append(extra_headers).append("\r\n").append(body);
  return request;
}

RawResponse round_trip(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body,
                       std::string_view extra_headers) {
  RawConnection connection(port);
  EXPECT_TRUE(connection.send(http_request(method, target, body, extra_headers)));
  auto response = connection.read_response();
  EXPECT_TRUE(response.has_value()) << method << " " << target << ": no response";
  return response ? *response : RawResponse{};
}

}  // namespace evsrc::server_test
