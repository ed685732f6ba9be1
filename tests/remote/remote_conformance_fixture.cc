// The conformance suite (tests/conformance/*_test.cc, built into this binary
// but for snapshot_test.cc) run through the remote store: each test's store
// is a file: store served by an in-process evsrc::Server on a free loopback
// port, and the test talks to it only through open_remote_store(), so every
// call crosses the HTTP API v1 and comes back as the same ErrorCode.
//
// reopen(options) stops the server, reopens the store with `options` (the
// limits tests need them) and serves it again. Snapshots are left out: the
// remote store keeps them in the client's process (remote_store.h), which
// the memory: backend's run of the suite already covers.
//
// The helpers are those of tests/conformance/store_fixture.cc, which cannot
// be linked here: it also defines the fixture for the local backends.
#include <stdlib.h>

#include <filesystem>

#include "conformance/store_fixture.h"
#include "evsrc/remote_store.h"
#include "evsrc/server.h"

namespace evsrc_test {
namespace {

// The store behind the server of the running test (tests run one at a time).
std::unique_ptr<EventStore> served_store;
std::unique_ptr<Server> server;

::testing::AssertionResult serve(const std::string& uri, const StoreOptions& options) {
  Result<std::unique_ptr<EventStore>> opened = open_store(uri, options);
  if (!opened.ok()) return ::testing::AssertionFailure() << "open_store: " << opened.status().to_string();
  served_store = std::move(opened).value();
  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.worker_threads = 16;
  Result<std::unique_ptr<Server>> started = Server::start(*served_store, server_options);
  if (!started.ok()) return ::testing::AssertionFailure() << "Server::start: " << started.status().to_string();
  server = std::move(started).value();
  return ::testing::AssertionSuccess();
}

void stop_serving() {
  if (server) server->stop();
  server.reset();
  if (served_store) {
    EXPECT_OK(served_store->close());
  }
  served_store.reset();
}

}  // namespace

void StoreConformance::SetUp() {
  char pattern[] = "/tmp/evsrc-remote-conformance-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  directory_ = pattern;
  ASSERT_TRUE(serve(uri(), {}));
  Result<std::unique_ptr<EventStore>> opened = open_remote_store(server->url());
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}

void StoreConformance::TearDown() {
  if (store_) (void)store_->close();
  store_.reset();
  stop_serving();
  if (!directory_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(directory_, error);
  }
}

// The URI of the served store (the test itself sees only the server's URL).
std::string StoreConformance::uri() const { return "file:" + directory_ + "/store"; }

void StoreConformance::reopen(const StoreOptions& options) {
  ASSERT_NE(store_, nullptr);
  ASSERT_OK(store_->close());
  reopen_after_close(options);
}

void StoreConformance::reopen_after_close(const StoreOptions& options) {
  store_.reset();
  stop_serving();
  ASSERT_TRUE(serve(uri(), options));
  Result<std::unique_ptr<EventStore>> opened = open_remote_store(server->url());
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}


INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::Values(Backend{"remote", true}),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace evsrc_test
