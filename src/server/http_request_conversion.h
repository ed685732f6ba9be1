// A request parsed by Boost.Beast as the API sees it (http_message.h). Used by
// the transport (http_transport.cc) and the http_request fuzz target, so the
// fuzzer feeds the API exactly what a connection would.
//
// Internal: it includes Boost.Beast; only .cc files include it.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <utility>

#include "server/http_message.h"

namespace evsrc::server {

// Method and target as sent, every header field in order, the body moved out
// of `message`. `peer` is left empty (the transport knows the socket).
inline HttpRequest to_http_request(boost::beast::http::request<boost::beast::http::string_body>&& message) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) request.headers.add(std::string(field.name_string()), std::string(field.value()));
  request.body = std::move(message.body());
  return request;
}

}  // namespace evsrc::server
