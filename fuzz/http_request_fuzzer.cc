// Fuzz target http_request: raw bytes as they arrive on one connection of
// evsrcd. Boost.Beast's request_parser reads them with the server's limits
// (ServerOptions defaults: header and body limits), each request is turned
// into a server::HttpRequest by to_http_request (the transport's own
// conversion, src/server/http_request_conversion.h) and answered by
// server::Api over a fresh in-memory store (api_fuzz_support.h: keys of every
// role, so seeds with "Authorization: Bearer <key>" reach the handlers).
// Pipelined requests are handled in order until one is incomplete, malformed
// (the transport answers 400/413/431 and closes) or asks to close.
//
// Asserts (abort on violation), per request: Api::handle does not throw; the
// status is 200..599 and not 5xx; an error body is a JSON object with
// "error" and "message" strings; a JSON success body parses; an event stream
// yields JSON data lines. No crash, hang or sanitizer report.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string_view>

#include "api_fuzz_support.h"
#include "evsrc/server.h"
#include "server/http_request_conversion.h"

namespace {

namespace http = boost::beast::http;

// Most requests handled from one input (a connection could send more).
constexpr int kMaxRequests = 32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const evsrc::ServerOptions limits;
  evsrc::fuzz::FuzzApi api;
  for (int handled = 0; handled < kMaxRequests && !rest.empty(); ++handled) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec || used == 0) break;
    }
    // Incomplete: the connection would wait for more, then time out.
    // Malformed or over a limit: the transport answers without the Api and closes.
    if (ec || !parser.is_done()) return 0;
    http::request<http::string_body> message = parser.release();
    const bool keep_alive = message.keep_alive();
    const evsrc::server::HttpRequest request = evsrc::server::to_http_request(std::move(message));
    evsrc::server::Reply reply;
    try {
      reply = api.api().handle(request);
    } catch (const std::exception& e) {
      evsrc::fuzz::fail(std::string("Api::handle threw: ") + e.what());
    }
    evsrc::fuzz::check_reply(reply, request.method, request.target);
    if (!keep_alive) return 0;
  }
  return 0;
}
