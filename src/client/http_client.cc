#include "client/http_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <mutex>

namespace evsrc::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Responses are whole in memory; pages are bounded by the API's limit (at
// most 10,000 events of at most 1 MiB each would still fit).
constexpr std::uint64_t kMaxResponseBody = std::uint64_t{4} << 30;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;
// An SSE line longer than this ends the stream with io_error (an event is
// at most a few MiB of JSON).
constexpr std::size_t kMaxSseFrameBytes = 64 << 20;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

Headers copy_headers(const http::fields& fields) {
  Headers headers;
  for (const auto& field : fields) headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return headers;
}

// The SSE field parser (HTML Living Standard, "event stream interpretation"):
// lines end at CRLF, LF or CR; a blank line dispatches the frame.
class SseParser {
 public:
  explicit SseParser(const HttpClient::FrameHandler& on_frame) : on_frame_(on_frame) {}

  // Feeds received bytes; false when the handler asked to stop.
  Result<bool> feed(std::string_view bytes) {
    pending_.append(bytes);
    std::size_t start = 0;
    for (;;) {
      const std::size_t end = pending_.find_first_of("\r\n", start);
      if (end == std::string::npos) break;
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (pending_[end] == '\r' && end + 1 == pending_.size()) break;
      const std::string_view line(pending_.data() + start, end - start);
      std::size_t next = end + 1;
      if (pending_[end] == '\r' && pending_[next] == '\n') ++next;
      if (!handle_line(line)) {
        pending_.erase(0, next);
        return false;
      }
      start = next;
    }
    pending_.erase(0, start);
    if (pending_.size() + data_.size() > kMaxSseFrameBytes) {
      return Status::io_error("event stream frame over " + std::to_string(kMaxSseFrameBytes) + " bytes");
    }
    return true;
  }

 private:
  bool handle_line(std::string_view line) {
    if (line.empty()) return dispatch();
    if (line.front() == ':') return true;  // comment (heartbeat)
    std::string_view field = line;
    std::string_view value;
    if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      data_.append(value).push_back('\n');
      has_data_ = true;
    } else if (field == "event") {
      event_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    }
    return true;  // "retry" and unknown fields are ignored
  }

  bool dispatch() {
    bool go_on = true;
    if (has_data_) {
      if (!data_.empty()) data_.pop_back();  // the last line's '\n'
      go_on = on_frame_(last_id_, event_.empty() ? std::string_view("message") : std::string_view(event_), data_);
    }
    data_.clear();
    event_.clear();
    has_data_ = false;
    return go_on;
  }

  const HttpClient::FrameHandler& on_frame_;
  std::string pending_;  // bytes after the last complete line
  std::string data_;
  std::string event_;
  std::string last_id_;  // persists across frames, as in the standard
  bool has_data_ = false;
};

}  // namespace

std::optional<std::string_view> HttpResult::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port = 80;
  std::string host_header;  // "host:port"
  ClientOptions options;

  asio::io_context io;
  std::optional<tcp::resolver::results_type> endpoints;  // resolved once
  std::unique_ptr<beast::tcp_stream> connection;         // the kept-alive connection, if open
  beast::flat_buffer buffer;

  std::atomic<bool> stream_cancelled{false};
  beast::tcp_stream* active_stream = nullptr;  // only touched on the io thread

  std::string where() const { return host_header; }

  // Runs the asynchronous operation started by `start` to completion on this
  // thread; the stream's expiry turns a stall into beast::error::timeout.
  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  Status failure(std::string_view what, beast::error_code ec, std::chrono::milliseconds timeout) const {
    if (ec == beast::error::timeout) {
      return Status::timeout(std::string(what) + " " + where() + " timed out after " + std::to_string(timeout.count()) +
                             " ms");
    }
    return Status::io_error(std::string(what) + " " + where() + " failed: " + ec.message());
  }

  Result<tcp::resolver::results_type> resolve() {
    if (endpoints) return *endpoints;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return Status::io_error("cannot resolve " + host + ": " + ec.message());
    endpoints = results;
    return results;
  }

  // Connects `stream` with Nagle off (requests are written whole).
  Status connect(beast::tcp_stream& stream, std::chrono::steady_clock::time_point deadline,
                 std::chrono::milliseconds timeout) {
    auto resolved = resolve();
    if (!resolved.ok()) return resolved.status();
    stream.expires_at(deadline);
    const beast::error_code ec = run([&](auto handler) { stream.async_connect(*resolved, std::move(handler)); });
    if (ec) return failure("connecting to", ec, timeout);
    beast::error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    return Status();
  }

  // True when the kept-alive connection still looks usable: no unread bytes
  // and the server has not closed it (a closed socket reads EOF at once).
  bool connection_alive() {
    if (!connection || !connection->socket().is_open() || buffer.size() != 0) return false;
    char byte;
    const ssize_t got = ::recv(connection->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void drop_connection() {
    if (connection) {
      beast::error_code ignored;
      connection->socket().shutdown(tcp::socket::shutdown_both, ignored);
      connection->close();
    }
    connection.reset();
    buffer.clear();
  }

  http::request<http::string_body> make_request(std::string_view method, std::string_view target, std::string_view body,
                                                const Headers& headers) const {
    http::request<http::string_body> request;
    const http::verb verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
      request.method_string(method);
    } else {
      request.method(verb);
    }
    request.target(target);
    request.version(11);
    request.set(http::field::host, host_header);
    request.set(http::field::user_agent, "evsrc-client");
    if (!options.bearer_key.empty()) request.set(http::field::authorization, "Bearer " + options.bearer_key);
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body().assign(body);
    if (!body.empty() || verb == http::verb::post || verb == http::verb::put) request.prepare_payload();
    return request;
  }
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() {
  if (impl_) impl_->drop_connection();
}

Result<std::unique_ptr<HttpClient>> HttpClient::create(std::string_view url, ClientOptions options) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme)) {
    return Status::invalid_argument("server URL must start with http://, not '" + std::string(url) + "'");
  }
  std::string_view authority = url.substr(kScheme.size());
  authority = authority.substr(0, authority.find_first_of("/?#"));
  std::string_view host = authority;
  std::string_view port_text;
  if (authority.starts_with('[')) {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::invalid_argument("malformed server URL '" + std::string(url) + "'");
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::invalid_argument("malformed server URL '" + std::string(url) + "'");
      port_text = rest.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty() || host.find('@') != std::string_view::npos) {
    return Status::invalid_argument("malformed server URL '" + std::string(url) + "' (expected http://HOST:PORT)");
  }
  std::uint16_t port = 80;
  if (!port_text.empty()) {
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0) {
      return Status::invalid_argument("bad port in server URL '" + std::string(url) + "'");
    }
  }
  std::unique_ptr<HttpClient> client(new HttpClient());
  client->impl_->host = std::string(host);
  client->impl_->port = port;
  client->impl_->host_header = std::string(authority);
  client->impl_->options = std::move(options);
  return client;
}

Result<HttpResult> HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                       const Headers& headers) {
  Impl& impl = *impl_;
  const std::chrono::milliseconds timeout = impl.options.timeout;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  http::request<http::string_body> request = impl.make_request(method, target, body, headers);
  const bool idempotent = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";

  for (int attempt = 0;; ++attempt) {
    const bool reused = impl.connection != nullptr;
    if (reused && !impl.connection_alive()) impl.drop_connection();
    if (!impl.connection) {
      auto fresh = std::make_unique<beast::tcp_stream>(impl.io);
      if (Status status = impl.connect(*fresh, deadline, timeout); !status.ok()) return status;
      impl.connection = std::move(fresh);
    }
    const bool kept_alive = reused && impl.connection != nullptr;
    beast::tcp_stream& stream = *impl.connection;
    stream.expires_at(deadline);

    beast::error_code ec = impl.run([&](auto handler) { http::async_write(stream, request, std::move(handler)); });
    if (ec) {
      impl.drop_connection();
      // The server closed the kept-alive connection before it got the request.
      if (kept_alive && attempt == 0 && ec != beast::error::timeout) continue;
      return impl.failure("sending a request to", ec, timeout);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    parser.header_limit(kMaxResponseHeader);
    if (method == "HEAD") parser.skip(true);
    ec = impl.run([&](auto handler) { http::async_read(stream, impl.buffer, parser, std::move(handler)); });
    if (ec) {
      const bool nothing_received = !parser.got_some();
      impl.drop_connection();
      // Closed as the request arrived: safe to send again only when repeating
      // it cannot change the outcome.
      if (kept_alive && attempt == 0 && nothing_received && idempotent &&
          (ec == http::error::end_of_stream || ec == asio::error::connection_reset)) {
        continue;
      }
      return impl.failure("reading the response from", ec, timeout);
    }
    http::response<http::string_body> response = parser.release();
    HttpResult result;
    result.status = response.result_int();
    result.headers = copy_headers(response.base());
    result.body = std::move(response.body());
    if (!response.keep_alive()) impl.drop_connection();
    return result;
  }
}

Result<unsigned> HttpClient::stream_events(std::string_view target, const Headers& headers,
                                           const FrameHandler& on_frame, std::chrono::milliseconds idle_timeout,
                                           std::string* error_body, const StreamHooks& hooks) {
  Impl& impl = *impl_;
  if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
  const std::chrono::milliseconds connect_timeout = impl.options.timeout;
  auto stream = std::make_unique<beast::tcp_stream>(impl.io);
  impl.active_stream = stream.get();
  struct Unregister {
    Impl& impl;
    ~Unregister() { impl.active_stream = nullptr; }
  } unregister{impl};
  // cancel_stream() may have run between the check above and the
  // registration: its posted cancel found no stream. After this check, a
  // cancel reaches every operation, connecting included.
  if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
  const auto cancelled_or = [&](std::string_view what, beast::error_code error, std::chrono::milliseconds timeout) {
    if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
    return impl.failure(what, error, timeout);
  };
  if (Status status = impl.connect(*stream, std::chrono::steady_clock::now() + connect_timeout, connect_timeout);
      !status.ok()) {
    if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
    return status;
  }

  http::request<http::string_body> request = impl.make_request("GET", target, {}, headers);
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::cache_control, "no-cache");
  stream->expires_after(connect_timeout);
  beast::error_code ec = impl.run([&](auto handler) { http::async_write(*stream, request, std::move(handler)); });
  if (ec) return cancelled_or("sending a subscription request to", ec, connect_timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);  // a live stream has no end
  parser.header_limit(kMaxResponseHeader);
  ec = impl.run([&](auto handler) { http::async_read_header(*stream, buffer, parser, std::move(handler)); });
  if (ec) return cancelled_or("reading the subscription response from", ec, connect_timeout);

  const unsigned status = parser.get().result_int();
  const auto content_type = parser.get()[http::field::content_type];
  const bool is_stream = status == 200 && content_type.starts_with("text/event-stream");
  if (hooks.on_head) hooks.on_head(status);
  std::string error_text;
  SseParser sse(on_frame);
  char chunk[16 * 1024];
  while (!parser.is_done()) {
    if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
    // Nothing waiting in the socket: the read below may block.
    if (is_stream && hooks.on_pause) {
      beast::error_code ignored;
      if (stream->socket().available(ignored) == 0) hooks.on_pause();
    }
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    stream->expires_after(is_stream ? idle_timeout : connect_timeout);
    ec = impl.run([&](auto handler) { http::async_read_some(*stream, buffer, parser, std::move(handler)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      if (impl.stream_cancelled.load()) return Status::closed("event stream cancelled");
      break;  // the server ended the stream
    }
    if (ec) return cancelled_or("reading the event stream from", ec, is_stream ? idle_timeout : connect_timeout);
    const std::size_t received = sizeof(chunk) - parser.get().body().size;
    if (!is_stream) {
      error_text.append(chunk, received);
      continue;
    }
    auto go_on = sse.feed(std::string_view(chunk, received));
    if (!go_on.ok()) return go_on.status();
    if (!*go_on) break;
  }
  beast::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (!is_stream && error_body != nullptr) *error_body = std::move(error_text);
  return status;
}

void HttpClient::cancel_stream() {
  impl_->stream_cancelled.store(true);
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->active_stream != nullptr) impl->active_stream->cancel();
  });
}

const std::string& HttpClient::host() const { return impl_->host; }

std::uint16_t HttpClient::port() const { return impl_->port; }

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' || byte == '_' || byte == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

}  // namespace evsrc::client
