// The server's transport: Boost.Beast HTTP/1.1 sessions (plain or TLS) over
// Boost.Asio, handing parsed requests to the Api on worker threads and writing
// its replies; live subscriptions as chunked text/event-stream bodies.
//
// Threads: `io_threads` run the io_context (accept, read, write); every
// session's handlers run on its own strand. Api::handle_async runs on a
// worker pool, reads and subscriptions on one, writes on another, so that
// neither can take every thread from the other; a write is answered from the
// store's completion and holds no worker while it waits for its commit. A
// subscription waiting for commits holds no thread: CommitNotifier wakes it.
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/server.h"
#include "server/api.h"
#include "server/api_keys.h"
#include "server/commit_notifier.h"
#include "server/descriptors.h"
#include "server/http_message.h"
#include "server/http_request_conversion.h"
#include "server/server_metrics.h"

namespace evsrc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using server::Api;
using server::HttpRequest;
using server::HttpResponse;
using server::Reply;

namespace {

constexpr std::string_view kServerName = "evsrcd";
// Socket send buffer asked for a subscription. A subscriber whose unsent
// bytes in the kernel (SIOCOUTQNSD: not yet sent, as opposed to in flight)
// stay above min(64 KiB, buffer / 8) for sse_send_timeout is not reading: it
// is dropped with a final error event.
constexpr int kSseSendBufferBytes = 512 * 1024;
constexpr std::chrono::milliseconds kSseStallCheck{5};  // a reading client drains within ms
// What the first read of a request (waiting with the idle timeout) asks for.
constexpr std::size_t kFirstReadBytes = 8192;
// How often the key file is looked at for revoked keys (live subscriptions
// end within about this, plus one check on a worker).
constexpr std::chrono::milliseconds kKeyWatchInterval{250};

// Splits "HOST:PORT" / "[V6]:PORT".
Result<std::pair<std::string, std::uint16_t>> split_listen(std::string_view listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::invalid_argument("--listen must be HOST:PORT, got '" + std::string(listen) + "'");
  }
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return Status::invalid_argument("bad port in --listen '" + std::string(listen) + "'");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return Status::invalid_argument("bad port in --listen '" + std::string(listen) + "'");
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace

// ---- shared state ------------------------------------------------------------------

class ConnectionBase;

// Everything the sessions share; Server::Impl is this.
struct ServerCore {
  ServerCore(EventStore& store_in, ServerOptions options_in)
      : store(store_in),
        options(std::move(options_in)),
        workers(options.worker_threads),
        writers(options.worker_threads),
        acceptor(ioc) {}

  EventStore& store;
  ServerOptions options;
  server::ServerMetrics metrics;
  std::unique_ptr<server::ApiKeyFile> keys;
  std::unique_ptr<Api> api;
  std::unique_ptr<server::CommitNotifier> notifier;
  std::optional<ssl::context> tls;
  bool auth_required = false;

  asio::io_context ioc;
  // Reads and subscriptions run on `workers`, every other request on
  // `writers`: readers, however many and however slow, never hold up writes.
  asio::thread_pool workers;
  asio::thread_pool writers;
  tcp::acceptor acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  std::uint16_t port = 0;
  std::string host;

  std::atomic<bool> stopping{false};
  std::mutex connections_mutex;
  std::list<std::weak_ptr<ConnectionBase>> connections;

  std::mutex stop_mutex;
  std::condition_variable stopped_cv;
  bool stop_started = false;
  bool stopped = false;

  // Connections served at once: options.max_connections capped below the
  // descriptor limit at start (descriptors.h).
  std::size_t max_connections = 0;
  std::uint64_t descriptor_limit = UINT64_MAX;  // RLIMIT_NOFILE at start
  std::optional<asio::steady_timer> key_watch;
  std::uint64_t key_generation = 0;

  void accept();
  // Every kKeyWatchInterval: reloads a changed key file and tells the
  // connections (subscriptions end within a second of a revoke).
  void watch_keys();
  template <class Stream>
  void launch(Stream stream);
  void forget_expired_connections();
};

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

// What stop() needs from any session, plain or TLS.
class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;
  // Called on stop(): an idle connection closes now; one with a request in
  // flight closes after answering it; a subscription ends.
  virtual void on_server_stop() = 0;
  // Called when the API keys may have changed: a live subscription checks
  // that its key may still read what it reads.
  virtual void on_keys_changed() = 0;
};

// ---- one connection ------------------------------------------------------------------

template <class Stream>
class Session final : public ConnectionBase {
 public:
  Session(ServerCore& server, Stream stream) : server_(server), stream_(std::move(stream)) {
    server_.metrics.connections_open.fetch_add(1, std::memory_order_relaxed);
    server_.metrics.connections_total.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() override {
    server_.metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
    if (sse_) server_.metrics.subscriptions_open.fetch_sub(1, std::memory_order_relaxed);
  }

  auto executor() { return stream_.get_executor(); }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read_request();
    } else {
      lowest().expires_after(server_.options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = shared()](beast::error_code ec) {
        if (ec) return self->close();
        self->read_request();
      });
    }
  }

  void on_keys_changed() override {
    asio::post(stream_.get_executor(), [self = shared()] {
      if (self->state_ != State::streaming || !self->idle_) return;  // a busy pump checks before its next batch
      auto home = asio::prefer(self->stream_.get_executor(), asio::execution::outstanding_work.tracked);
      asio::post(self->server_.workers, [self, home] {
        auto refusal = self->sse_->check_access();
        if (!refusal) return;
        asio::post(home, [self, refusal = std::move(*refusal)] {
          if (!self->idle_ || self->state_ != State::streaming) return;  // the pump's own check ends it
          self->idle_ = false;
          if (self->heartbeat_) self->heartbeat_->cancel();
          self->end_stream(refusal.code, refusal.message);
        });
      });
    });
  }

  void on_server_stop() override {
    asio::post(stream_.get_executor(), [self = shared()] {
      self->stop_requested_ = true;
      if (self->state_ == State::reading) self->close();
      // Writing: the write's completion sees stop_requested_ and closes.
      // Handling: the reply is written with "Connection: close".
      // Subscription waiting: the notifier's stop() wakes it; it then ends.
    });
  }

 private:
  enum class State { reading, handling, writing, streaming, closed };

  std::shared_ptr<Session> shared() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // -- requests

  void read_request() {
    if (stop_requested_ || server_.stopping.load()) return close();
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    // A pipelined request has begun already.
    if (buffer_.size() > 0) return read_header();
    // A keep-alive connection may stay idle this long before its next request.
    lowest().expires_after(server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes), [self = shared()](beast::error_code ec, std::size_t n) {
      if (ec) return self->on_read_error(ec);
      self->buffer_.commit(n);
      self->read_header();
    });
  }

  // From its first byte on, a request is not idle: all of it (headers and
  // body) must come within request_timeout, so a client dribbling its
  // headers (slowloris) is cut off as soon as one sending its body slowly.
  void read_header() {
    lowest().expires_after(server_.options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_, [self = shared()](beast::error_code ec, std::size_t) {
      self->on_header(ec);
    });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      const auto length = parser_->content_length();
      if (length && *length > server_.options.max_body_bytes) return on_read_error(http::error::body_limit);
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      return http::async_write(stream_, *interim, [self = shared(), interim](beast::error_code write_ec, std::size_t) {
        if (write_ec) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = shared()](beast::error_code read_ec, std::size_t) {
      self->on_request(read_ec);
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      return close();
    }
    // A request we refuse to read further: answer, then close (what is left
    // of it on the wire cannot be resynchronised).
    keep_alive_ = false;
    unread_request_ = true;
    if (ec == http::error::body_limit) {
      return write_response(server::error_response(413, "too_large", "request body exceeds the server's limit of " +
                                                                        std::to_string(server_.options.max_body_bytes) +
                                                                        " bytes"));
    }
    if (ec == http::error::header_limit) {
      return write_response(server::error_response(431, "headers_too_large", "request headers exceed the limit of " +
                                                                                 std::to_string(server_.options.max_header_bytes) +
                                                                                 " bytes"));
    }
    write_response(server::error_response(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }

  void on_request(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    server_.metrics.requests.fetch_add(1, std::memory_order_relaxed);
    if (server_.stopping.load()) {
      keep_alive_ = false;
      return write_response(server::error_response(503, "unavailable", "the server is shutting down"));
    }
    auto request = std::make_shared<HttpRequest>(server::to_http_request(std::move(message)));
    beast::error_code peer_ec;
    const auto peer = lowest().socket().remote_endpoint(peer_ec);
    if (!peer_ec) request->peer = peer.address().to_string() + ":" + std::to_string(peer.port());

    state_ = State::handling;
    // No read deadline while the Api works (an append waits for its fsync).
    lowest().expires_never();
    // The tracked executor keeps the io_context running while the worker or
    // the store's pipeline has the request, so a graceful stop still answers
    // it. A write leaves the worker as soon as the store has it queued; its
    // completion posts the answer back here.
    auto home = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    const bool read_only = request->method == "GET" || request->method == "HEAD";
    asio::thread_pool& pool = read_only ? server_.workers : server_.writers;
    asio::post(pool, [self = shared(), request, home] {
      auto answer = [self, home](Reply reply) {
        auto owned = std::make_shared<Reply>(std::move(reply));
        asio::post(home, [self, owned] { self->on_reply(std::move(*owned)); });
      };
      // Never throws: an unexpected exception is answered 500 inside.
      self->server_.api->handle_async(*request, std::move(answer));
    });
  }

  void on_reply(Reply reply) {
    if (reply.sse) return start_stream(std::move(reply));
    write_response(std::move(reply.response));
  }

  void write_response(HttpResponse response) {
    const unsigned status = response.status;
    if (status >= 500) server_.metrics.responses_5xx.fetch_add(1, std::memory_order_relaxed);
    else if (status >= 400) server_.metrics.responses_4xx.fetch_add(1, std::memory_order_relaxed);
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(11);
    message->result(status);
    message->set(http::field::server, kServerName);
    for (const auto& [name, value] : response.headers.fields()) message->insert(name, value);
    message->body() = std::move(response.body);
    if (stop_requested_ || server_.stopping.load()) keep_alive_ = false;
    message->keep_alive(keep_alive_);
    message->prepare_payload();
    state_ = State::writing;
    lowest().expires_after(server_.options.request_timeout);
    const bool unread_request = unread_request_;
    http::async_write(stream_, *message, [self = shared(), message, unread_request](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      if (unread_request) return self->linger_close();
      if (!self->keep_alive_) return self->close();
      self->read_request();
    });
  }

  // -- subscriptions (text/event-stream, chunked)

  void start_stream(Reply reply) {
    sse_ = std::move(reply.sse);
    server_.metrics.subscriptions_open.fetch_add(1, std::memory_order_relaxed);
    server_.metrics.subscriptions_total.fetch_add(1, std::memory_order_relaxed);
    state_ = State::streaming;
    keep_alive_ = false;  // the stream ends with the connection
    beast::error_code ignored;
    lowest().socket().set_option(asio::socket_base::send_buffer_size(kSseSendBufferBytes), ignored);
    // The kernel may grant less (net.core.wmem_max): size the stall threshold
    // and the slices by what it granted.
    asio::socket_base::send_buffer_size granted;
    lowest().socket().get_option(granted, ignored);
    const std::size_t buffer = ignored ? 64 * 1024 : static_cast<std::size_t>(std::max(granted.value(), 16 * 1024));
    // Unsent bytes (not counting those in flight) only pile up when the
    // client's window is closed; small slices keep the kernel's buffer, whose
    // accounting includes per-segment overhead, far from full, so the final
    // error event always fits.
    stalled_bytes_ = static_cast<int>(std::min<std::size_t>(64 * 1024, buffer / 8));
    slice_bytes_ = std::min<std::size_t>(16 * 1024, buffer / 16);
    lowest().socket().set_option(tcp::no_delay(true), ignored);

    auto head = std::make_shared<http::response<http::empty_body>>();
    head->version(11);
    head->result(reply.response.status);
    head->set(http::field::server, kServerName);
    for (const auto& [name, value] : reply.response.headers.fields()) head->insert(name, value);
    head->chunked(true);
    head->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*head);
    lowest().expires_after(server_.options.sse_send_timeout);
    http::async_write_header(stream_, *serializer,
                             [self = shared(), head, serializer](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               // An initial comment lets clients see the stream is open.
                               self->write_chunk(": evsrc subscription\n\n", [self] { self->pump(); });
                             });
  }

  // Reads the next batch on a worker; writes it, or waits for a commit.
  void pump() {
    if (stop_requested_ || server_.stopping.load()) return end_stream("server_shutdown", "the server is shutting down");
    if (pending_offset_ < pending_.size()) return write_pending();
    if (stalled()) return;
    const std::uint64_t generation = server_.notifier->generation();
    auto home = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    asio::post(server_.workers, [self = shared(), generation, home] {
      auto frames = std::make_shared<std::string>();
      Result<std::size_t> count = std::size_t{0};
      std::optional<server::SseFeed::Refusal> refusal;
      try {
        refusal = self->sse_->check_access();
        if (!refusal) count = self->sse_->read_next(*frames, self->server_.options.sse_batch_events);
      } catch (const std::exception& e) {
        count = Status(ErrorCode::io_error, std::string("unexpected failure: ") + e.what());
      }
      asio::post(home, [self, frames, generation, refusal = std::move(refusal), status = count.status(),
                        n = count.ok() ? count.value() : 0] {
        if (refusal) return self->end_stream(refusal->code, refusal->message);
        if (!status.ok()) return self->end_stream(server::http_error_for(status).code, status.message());
        if (n > 0) {
          self->server_.metrics.subscription_events.fetch_add(n, std::memory_order_relaxed);
          self->pending_ = std::move(*frames);
          self->pending_offset_ = 0;
          return self->write_pending();
        }
        if (self->sse_->behind()) return self->pump();
        self->wait_for_commit(generation);
      });
    });
  }

  // Writes the next slice of the batch: whole frames, about slice_bytes_,
  // so a stalled client is noticed between slices while the socket buffer
  // still has room for the final error event.
  void write_pending() {
    if (stalled()) return;
    std::size_t end = pending_.size();
    if (end - pending_offset_ > slice_bytes_) {
      const std::size_t limit = pending_offset_ + slice_bytes_;
      std::size_t cut = pending_.rfind("\n\n", limit);
      if (cut == std::string::npos || cut < pending_offset_) cut = pending_.find("\n\n", limit);
      if (cut != std::string::npos) end = cut + 2;
    }
    std::string slice = pending_.substr(pending_offset_, end - pending_offset_);
    pending_offset_ = end;
    if (pending_offset_ == pending_.size()) {
      pending_.clear();
      pending_offset_ = 0;
    }
    write_chunk(std::move(slice), [self = shared()] { self->pump(); });
  }

  // Waits for a commit after `generation` or the heartbeat, whichever comes
  // first. A session keeps at most one callback registered with the notifier
  // (a heartbeat does not register another), so an idle store does not pile
  // them up.
  void wait_for_commit(std::uint64_t generation) {
    idle_ = true;
    heartbeat_.emplace(stream_.get_executor());
    heartbeat_->expires_after(server_.options.sse_heartbeat);
    heartbeat_->async_wait([self = shared()](beast::error_code ec) {
      if (ec || !self->idle_ || self->state_ == State::closed) return;
      self->idle_ = false;
      self->write_chunk(": heartbeat\n\n", [self] { self->pump(); });
    });
    if (notifier_pending_) return;
    notifier_pending_ = true;
    server_.notifier->when_after(generation, [weak = std::weak_ptr<ConnectionBase>(shared_from_this())] {
      auto base = weak.lock();
      if (!base) return;
      auto self = std::static_pointer_cast<Session>(base);
      asio::post(self->stream_.get_executor(), [self] {
        self->notifier_pending_ = false;
        if (!self->idle_ || self->state_ == State::closed) return;
        self->idle_ = false;
        if (self->heartbeat_) self->heartbeat_->cancel();
        self->pump();
      });
    });
  }

  // True (and handles it) when the client has stopped reading: the kernel
  // still holds more than stalled_bytes_ unsent. Checks again shortly;
  // past sse_send_timeout the subscriber is dropped.
  bool stalled() {
    int unsent = 0;
    if (::ioctl(lowest().socket().native_handle(), SIOCOUTQNSD, &unsent) != 0 || unsent < stalled_bytes_) {
      stall_started_.reset();
      return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!stall_started_) stall_started_ = now;
    if (now - *stall_started_ >= server_.options.sse_send_timeout) {
      server_.metrics.subscriptions_dropped.fetch_add(1, std::memory_order_relaxed);
      end_stream("slow_consumer", "the subscriber did not read for " +
                                      std::to_string(server_.options.sse_send_timeout.count()) +
                                      " ms; resume from the last event id");
      return true;
    }
    stall_timer_.emplace(stream_.get_executor());
    stall_timer_->expires_after(kSseStallCheck);
    stall_timer_->async_wait([self = shared()](beast::error_code ec) {
      if (!ec) self->pump();
    });
    return true;
  }

  template <class Then>
  void write_chunk(std::string data, Then then) {
    auto owned = std::make_shared<std::string>(std::move(data));
    // A write that cannot complete in this time means the client stopped
    // reading with the kernel buffer not yet full: close (stalled() catches
    // the usual case earlier, with a final event).
    lowest().expires_after(server_.options.sse_send_timeout * 2);
    asio::async_write(stream_, http::make_chunk(asio::buffer(*owned)),
                      [self = shared(), owned, then](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        then();
                      });
  }

  // Sends a final `event: error` frame and the last chunk, then closes.
  void end_stream(std::string_view code, std::string_view message) {
    if (ending_) return;
    ending_ = true;
    std::string frame = ": end of subscription\nevent: error\ndata: {\"error\":\"";
    frame.append(code).append("\",\"message\":\"");
    for (char c : message) {
      if (c == '"' || c == '\\') frame.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) frame.push_back(c);
    }
    frame.append("\"}\n\n");
    auto owned = std::make_shared<std::string>(std::move(frame));
    lowest().expires_after(std::chrono::seconds(2));
    asio::async_write(stream_, http::make_chunk(asio::buffer(*owned)),
                      [self = shared(), owned](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        asio::async_write(self->stream_, http::make_chunk_last(),
                                          [self](beast::error_code, std::size_t) { self->close(); });
                      });
  }

  // Closes after an error answer while the client may still be sending the
  // request: shut down our side, then read and discard for a moment, so the
  // kernel does not reset the connection (which could destroy the answer
  // before the client reads it).
  void linger_close() {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(std::chrono::seconds(1));
    drain();
  }

  void drain() {
    auto sink = std::make_shared<std::array<char, 16384>>();
    lowest().async_read_some(asio::buffer(*sink), [self = shared(), sink](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    idle_ = false;
    if (heartbeat_) heartbeat_->cancel();
    if (stall_timer_) stall_timer_->cancel();
    beast::error_code ignored;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      // No TLS close_notify round trip: it could wait on a silent peer.
    }
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  ServerCore& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  State state_ = State::reading;
  bool keep_alive_ = true;
  bool stop_requested_ = false;
  bool ending_ = false;
  bool unread_request_ = false;  // an error answer cut the request short
  std::unique_ptr<server::SseFeed> sse_;
  std::string pending_;  // frames of the current batch not yet written
  std::size_t pending_offset_ = 0;
  int stalled_bytes_ = 64 * 1024;
  std::size_t slice_bytes_ = 32 * 1024;
  bool idle_ = false;              // waiting for a commit or the heartbeat
  bool notifier_pending_ = false;  // a CommitNotifier callback is registered
  std::optional<asio::steady_timer> heartbeat_;
  std::optional<asio::steady_timer> stall_timer_;
  std::optional<std::chrono::steady_clock::time_point> stall_started_;
};

// ---- accepting -------------------------------------------------------------------------

void ServerCore::forget_expired_connections() {
  connections.remove_if([](const std::weak_ptr<ConnectionBase>& weak) { return weak.expired(); });
}

template <class Stream>
void ServerCore::launch(Stream stream) {
  auto session = std::make_shared<Session<Stream>>(*this, std::move(stream));
  {
    std::lock_guard lock(connections_mutex);
    if (connections.size() % 256 == 0) forget_expired_connections();
    connections.push_back(session);
  }
  // On the session's strand, so stop()'s on_server_stop() cannot interleave.
  asio::dispatch(session->executor(), [session] { session->start(); });
}

void ServerCore::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping.load() || !acceptor.is_open()) return;
    if (!ec) {
      if (metrics.connections_open.load(std::memory_order_relaxed) >= max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else if (server::eats_into_reserve(socket.native_handle(), descriptor_limit)) {
        // The store's reserve: refused like an EMFILE, and said so.
        metrics.note_shortage();
        beast::error_code ignored;
        socket.close(ignored);
      } else if (tls) {
        launch(beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls));
      } else {
        launch(beast::tcp_stream(std::move(socket)));
      }
    } else {
      // Out of file descriptors, buffers, memory...: back off instead of
      // spinning, and let /health say so.
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE) metrics.note_shortage();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    accept();
  });
}

void ServerCore::watch_keys() {
  if (stopping.load()) return;
  key_watch->expires_after(kKeyWatchInterval);
  key_watch->async_wait([this](beast::error_code ec) {
    if (ec || stopping.load()) return;
    // The file is looked at on a worker (a stat, sometimes a read).
    asio::post(workers, [this] {
      const std::uint64_t generation = keys->reload_now();
      if (generation != key_generation) {
        key_generation = generation;
        std::lock_guard lock(connections_mutex);
        for (auto& weak : connections) {
          if (auto connection = weak.lock()) connection->on_keys_changed();
        }
      }
      asio::post(key_watch->get_executor(), [this] { watch_keys(); });
    });
  });
}

// ---- Server ------------------------------------------------------------------------------

Server::Server() = default;

Server::~Server() {
  if (impl_) stop();
}

Result<std::unique_ptr<Server>> Server::start(EventStore& store, ServerOptions options,
                                              ProjectionStatusSource projections) {
  if (options.io_threads == 0 || options.worker_threads == 0) {
    return Status::invalid_argument("io_threads and worker_threads must be at least 1");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::invalid_argument("--tls-cert and --tls-key go together");
  }
  auto listen = split_listen(options.listen);
  if (!listen.ok()) return listen.status();

  std::unique_ptr<Server> server(new Server());
  server->impl_ = std::make_unique<Impl>(store, std::move(options));
  Impl& impl = *server->impl_;

  beast::error_code ec;
  tcp::resolver resolver(impl.ioc);
  const auto endpoints = resolver.resolve(listen.value().first, std::to_string(listen.value().second),
                                          tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Status(ErrorCode::invalid_argument, "cannot resolve '" + listen.value().first + "': " + ec.message());
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  const bool loopback = endpoint.address().is_loopback();
  impl.auth_required = impl.options.require_auth || (!loopback && !impl.options.insecure);
  if (impl.auth_required) {
    if (impl.options.keys_file.empty()) {
      return Status::invalid_argument(
          "authentication is required (listening on " + endpoint.address().to_string() +
          ", not loopback) but there is no key file: give --keys-file or a file: store, or pass --insecure");
    }
    impl.keys = std::make_unique<server::ApiKeyFile>(impl.options.keys_file);
    if (Status status = impl.keys->load(); !status.ok()) return status;
  }

  if (!impl.options.tls_cert.empty()) {
    impl.tls.emplace(ssl::context::tls_server);
    impl.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    impl.tls->use_certificate_chain_file(impl.options.tls_cert, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot load TLS certificate " + impl.options.tls_cert + ": " + ec.message());
    impl.tls->use_private_key_file(impl.options.tls_key, ssl::context::pem, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot load TLS key " + impl.options.tls_key + ": " + ec.message());
  }

  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(ErrorCode::io_error, "cannot listen on " + impl.options.listen + ": " + ec.message());
  }
  impl.port = impl.acceptor.local_endpoint().port();
  impl.host = endpoint.address().to_string();
  if (endpoint.address().is_v6()) impl.host = "[" + impl.host + "]";

  server::ApiContext context;
  context.store = &store;
  context.keys = impl.keys.get();
  context.metrics = &impl.metrics;
  context.projections = std::move(projections);
  context.limits.max_event_bytes = impl.options.max_event_bytes;
  impl.api = std::make_unique<Api>(std::move(context));
  impl.notifier = std::make_unique<server::CommitNotifier>(store);

  // Connections must not take the descriptors the store needs for its next
  // segment: keep kDescriptorReserve free beside what is open now.
  impl.max_connections = impl.options.max_connections;
  if (const std::optional<server::DescriptorUse> use = server::descriptor_use()) {
    impl.descriptor_limit = use->limit;
    impl.max_connections = server::connection_cap(impl.options.max_connections, *use);
    if (impl.max_connections < impl.options.max_connections) {
      std::fprintf(stderr,
                   "evsrcd: serving at most %zu connections (not %zu): %llu of %llu file descriptors are open "
                   "and %llu stay reserved for the store; raise the limit (ulimit -n) for more\n",
                   impl.max_connections, impl.options.max_connections, static_cast<unsigned long long>(use->open),
                   static_cast<unsigned long long>(use->limit),
                   static_cast<unsigned long long>(server::kDescriptorReserve));
    }
  }

  impl.work.emplace(impl.ioc.get_executor());
  impl.accept();
  if (impl.keys) {
    impl.key_generation = impl.keys->generation();
    impl.key_watch.emplace(asio::make_strand(impl.ioc));
    impl.watch_keys();
  }
  for (unsigned i = 0; i < impl.options.io_threads; ++i) {
    impl.io_threads.emplace_back([&impl] { impl.ioc.run(); });
  }
  return server;
}

std::uint16_t Server::port() const { return impl_->port; }

std::string Server::url() const {
  return std::string(impl_->tls ? "https://" : "http://") + impl_->host + ":" + std::to_string(impl_->port);
}

bool Server::auth_required() const { return impl_->auth_required; }

void Server::stop() {
  Impl& impl = *impl_;
  {
    std::unique_lock lock(impl.stop_mutex);
    if (impl.stop_started) {
      impl.stopped_cv.wait(lock, [&] { return impl.stopped; });
      return;
    }
    impl.stop_started = true;
  }
  impl.stopping.store(true);
  if (!impl.notifier) {  // start() failed before serving: nothing runs
    std::lock_guard lock(impl.stop_mutex);
    impl.stopped = true;
    return;
  }
  asio::post(impl.acceptor.get_executor(), [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
  });
  if (impl.key_watch) {
    asio::post(impl.key_watch->get_executor(), [&impl] { impl.key_watch->cancel(); });
  }
  // Ends live subscriptions: their pumps see `stopping` when woken.
  impl.notifier->stop();
  {
    std::lock_guard lock(impl.connections_mutex);
    for (auto& weak : impl.connections) {
      if (auto connection = weak.lock()) connection->on_server_stop();
    }
    impl.connections.clear();
  }
  // Requests in flight finish on the workers (an append is answered), then
  // their connections close; io_context::run returns when nothing is left.
  impl.work.reset();
  for (auto& thread : impl.io_threads) thread.join();
  impl.io_threads.clear();
  impl.workers.join();
  impl.writers.join();
  {
    std::lock_guard lock(impl.stop_mutex);
    impl.stopped = true;
  }
  impl.stopped_cv.notify_all();
}

void Server::wait() {
  Impl& impl = *impl_;
  std::unique_lock lock(impl.stop_mutex);
  impl.stopped_cv.wait(lock, [&] { return impl.stopped; });
}

}  // namespace evsrc
