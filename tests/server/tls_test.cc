// HTTPS with a certificate and key given by flags (OpenSSL): a self-signed
// certificate made by the openssl tool, a request over TLS, and a plain HTTP
// client refused.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>

#include "server/server_fixture.h"

namespace evsrc::server_test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

TEST(ServerTls, ServesHttpsWithTheGivenCertificate) {
  TempDirectory keys;
  const std::string cert = (keys.path() / "cert.pem").string();
  const std::string key = (keys.path() / "key.pem").string();
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
                              " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "the openssl tool is needed: " << command;

  ServerOptions options;
  options.tls_cert = cert;
  options.tls_key = key;
  RunningServer running(options);
  EXPECT_EQ(running.server().url().rfind("https://", 0), 0u) << running.server().url();

  asio::io_context ioc;
  ssl::context context(ssl::context::tls_client);
  context.load_verify_file(cert);  // trust exactly this self-signed certificate
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
  beast::get_lowest_layer(stream).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), running.port()));
  stream.handshake(ssl::stream_base::client);
  http::request<http::string_body> request{http::verb::post, "/v1/streams/tls-1", 11};
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::content_type, "application/json");
  request.body() = R"({"type":"OverTls","data":{}})";
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.result_int(), 201u) << response.body();
  EXPECT_EQ(running.count_events(), 1u);

  // A plain-text client gets no HTTP answer and the server stays up.
  RawConnection plain(running.port());
  ASSERT_TRUE(plain.send(http_request("GET", "/health")));
  EXPECT_FALSE(plain.read_response(std::chrono::seconds(2)).has_value());
}

TEST(ServerTls, MissingKeyFileFailsToStart) {
  auto store = open_store("memory:");
  ASSERT_TRUE(store.ok());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_cert = "/nonexistent/cert.pem";
  options.tls_key = "/nonexistent/key.pem";
  auto server = Server::start(*store.value(), options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), ErrorCode::io_error);
}

}  // namespace
}  // namespace evsrc::server_test
