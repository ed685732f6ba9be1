// evsrcd: the event store server (HTTP/JSON API v1, live subscriptions,
// API keys, metrics, web console) over a store opened by URI.
//
// Prints "evsrcd listening on <url>" as its first line once it accepts
// connections, then where the console is and a curl example. SIGTERM/SIGINT:
// stop accepting, answer the requests in flight (appends included), end the
// subscriptions, close the store; exit 0 when all of that succeeded.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "evsrc/event_store.h"
#include "evsrc/server.h"
#include "evsrcd/builtin_projections.h"
#include "server/descriptors.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitBadInput = 2;

int fail(int code, const std::string& message) {
  std::cerr << "evsrcd: " << message << std::endl;
  return code;
}

// The data directory of a file: store, where the key file lives by default.
std::string data_directory(const std::string& store_uri) {
  constexpr std::string_view kFile = "file:";
  if (store_uri.rfind(kFile, 0) == 0) return store_uri.substr(kFile.size());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_uri = "file:./evsrc-data";
  evsrc::ServerOptions options;
  std::int64_t idle_timeout_ms = options.idle_timeout.count();
  std::int64_t request_timeout_ms = options.request_timeout.count();
  std::int64_t heartbeat_ms = options.sse_heartbeat.count();
  std::int64_t send_timeout_ms = options.sse_send_timeout.count();
  bool no_projections = false;

  CLI::App app{
      "evsrcd: the evsrc event store server.\n"
      "Serves the HTTP/JSON API v1 (docs/api/openapi.yaml), live subscriptions as Server-Sent Events,\n"
      "Prometheus metrics at /metrics, health at /health and the web console at /console/.\n"
      "Every option can also be set in the --config file (TOML/INI: `listen = \"0.0.0.0:2113\"`).",
      "evsrcd"};
  app.set_config("--config", "", "Read options from this TOML/INI file (command-line flags win)");
  app.add_option("--store", store_uri,
                 "Store URI: file:<directory> (the embedded engine), memory:, postgres://user@host/db?schema=NAME or "
                 "dynamodb://REGION/TABLE_PREFIX[?endpoint=URL]")
      ->capture_default_str();
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0 picks a free port)")
      ->capture_default_str();
  app.add_flag("--insecure", options.insecure,
               "Serve without authentication even on a non-loopback address (explicit opt-out)");
  app.add_flag("--require-auth", options.require_auth,
               "Require an API key (Authorization: Bearer <key>) also on loopback");
  app.add_option("--keys-file", options.keys_file,
                 "API key file (managed with `evsrc keys`); default <dir>/api-keys.json for a file: store");
  app.add_option("--tls-cert", options.tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  app.add_option("--io-threads", options.io_threads, "Threads running the sockets")->capture_default_str();
  app.add_option("--workers", options.worker_threads,
                 "Threads running store calls, per pool: one pool for reads and subscriptions, one for writes "
                 "(a durable append blocks one until its group is synced)")
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections, "Connections served at once; more are closed")
      ->capture_default_str();
  app.add_option("--max-header-bytes", options.max_header_bytes, "Request line + headers limit (more: 431)")
      ->capture_default_str();
  app.add_option("--max-body-bytes", options.max_body_bytes, "Request body limit (more: 413)")->capture_default_str();
  app.add_option("--max-event-bytes", options.max_event_bytes, "One event's data + metadata limit (more: 413)")
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_timeout_ms, "Close a keep-alive connection idle this long")
      ->capture_default_str();
  app.add_option("--request-timeout-ms", request_timeout_ms,
                 "Close a connection that takes longer than this to send a request or read a response")
      ->capture_default_str();
  app.add_option("--sse-heartbeat-ms", heartbeat_ms, "Heartbeat comment on an idle subscription every ...")
      ->capture_default_str();
  app.add_option("--sse-send-timeout-ms", send_timeout_ms,
                 "Drop a subscriber that has not read for this long (with a final error event)")
      ->capture_default_str();
  app.add_flag("--no-projections", no_projections, "Do not run the built-in projections");
  CLI11_PARSE(app, argc, argv);

  options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  options.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  options.sse_heartbeat = std::chrono::milliseconds(heartbeat_ms);
  options.sse_send_timeout = std::chrono::milliseconds(send_timeout_ms);
  if (idle_timeout_ms <= 0 || request_timeout_ms <= 0 || heartbeat_ms <= 0 || send_timeout_ms <= 0) {
    return fail(kExitBadInput, "timeouts must be positive");
  }
  const std::string directory = data_directory(store_uri);
  if (options.keys_file.empty() && !directory.empty()) {
    options.keys_file = (std::filesystem::path(directory) / "api-keys.json").string();
  }

  // Signals are taken by sigwait() below; block them before any thread starts
  // so none of the server's threads receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // Every connection and every segment of the store holds a descriptor: take
  // all the system allows (the server then keeps a reserve for the store).
  (void)evsrc::server::raise_descriptor_limit();

  auto store = evsrc::open_store(store_uri);
  if (!store.ok()) return fail(kExitError, "cannot open " + store_uri + ": " + store.status().to_string());

  std::unique_ptr<evsrc::evsrcd::BuiltinProjections> projections;
  evsrc::Server::ProjectionStatusSource served;
  if (!no_projections) {
    auto started = evsrc::evsrcd::BuiltinProjections::start(*store.value(), directory);
    if (!started.ok()) {
      (void)store.value()->close();
      return fail(kExitError, "cannot start the built-in projections: " + started.status().to_string());
    }
    projections = std::move(started).value();
    served = projections->status_source();
  }

  auto server = evsrc::Server::start(*store.value(), options, served);
  if (!server.ok()) {
    projections.reset();
    (void)store.value()->close();
    const int code = server.status().code() == evsrc::ErrorCode::invalid_argument ? kExitBadInput : kExitError;
    return fail(code, server.status().message());
  }
  const std::string url = server.value()->url();
  std::printf("evsrcd listening on %s\n", url.c_str());
  std::printf("store: %s; authentication %s\n", store_uri.c_str(),
              server.value()->auth_required() ? ("required (keys in " + options.keys_file + ")").c_str() : "off");
  std::printf("console: %s/console/\n", url.c_str());
  std::printf("try: curl -s -X POST %s/v1/streams/user-1 -H 'Content-Type: application/json' "
              "-d '{\"type\":\"UserCreated\",\"data\":{\"name\":\"Ada\"}}'\n",
              url.c_str());
  std::printf("     curl -s %s/v1/streams/user-1\n", url.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "evsrcd: %s received, shutting down\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  server.value()->stop();
  projections.reset();
  const evsrc::Status closed = store.value()->close();
  if (!closed.ok()) return fail(kExitError, "closing the store failed: " + closed.to_string());
  std::fprintf(stderr, "evsrcd: stopped cleanly\n");
  return kExitOk;
}
