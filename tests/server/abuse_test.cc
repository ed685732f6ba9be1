// The transport under abuse: readers that hold every read worker do not hold
// up writes; an append waiting for its commit holds no worker; a live
// subscription whose key is revoked ends within a second.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/fault_injection_env.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"
#include "evsrc/server.h"
#include "server/api_keys.h"
#include "server/descriptors.h"
#include "server/server_fixture.h"

namespace evsrc::server_test {
namespace {

using namespace std::chrono_literals;

constexpr char kOneEvent[] = R"({"type":"Created","data":{"n":1}})";

// A memory store whose read_all waits until released: a reader as slow as
// one scanning a huge log.
class SlowReadsStore final : public EventStore {
 public:
  SlowReadsStore() : inner_(std::move(open_store("memory:")).value()) {}

  // Blocks until `count` reads are waiting.
  bool wait_for_readers(int count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    {
      std::unique_lock lock(mutex_);
      ++waiting_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    return inner_->read_all(options);
  }

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> events) override {
    return inner_->append(stream, expected, events);
  }
  Result<TransactionResult> commit(std::span<const TransactionPart> parts) override { return inner_->commit(parts); }
  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    return inner_->read_stream(stream, options);
  }
  Result<StreamInfo> stream_info(std::string_view stream) override { return inner_->stream_info(stream); }
  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override {
    return inner_->set_stream_metadata(stream, metadata);
  }
  Status delete_stream(std::string_view stream, ExpectedRevision expected) override {
    return inner_->delete_stream(stream, expected);
  }
  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override {
    return inner_->tombstone_stream(stream, expected);
  }
  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override {
    return inner_->list_streams(prefix, after, limit);
  }
  Result<StoreStats> stats() override { return inner_->stats(); }
  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override {
    return inner_->wait_for_commit(after, timeout);
  }
  SnapshotStore& snapshots() override { return inner_->snapshots(); }
  Status close() override { return inner_->close(); }

 private:
  std::unique_ptr<EventStore> inner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

TEST(ServerAbuse, ReadsHoldingEveryReadWorkerDoNotHoldUpAppends) {
  SlowReadsStore store;
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.worker_threads = 2;
  auto started = Server::start(store, options);
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  std::unique_ptr<Server> server = std::move(started).value();

  // More slow reads than there are workers.
  std::vector<std::unique_ptr<RawConnection>> readers;
  for (int i = 0; i < 4; ++i) {
    readers.push_back(std::make_unique<RawConnection>(server->port()));
    ASSERT_TRUE(readers.back()->send(http_request("GET", "/v1/all?limit=10")));
  }
  ASSERT_TRUE(store.wait_for_readers(2, 5s));

  RawConnection writer(server->port());
  ASSERT_TRUE(writer.send(http_request("POST", "/v1/streams/w-1", kOneEvent)));
  const std::optional<RawResponse> appended = writer.read_response(3s);
  store.release();
  ASSERT_TRUE(appended) << "the append waited behind the reads";
  EXPECT_EQ(appended->status, 201u) << appended->body;
  for (auto& reader : readers) {
    const std::optional<RawResponse> read = reader->read_response(5s);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, 200u);
  }
  server->stop();
}

// An append waiting for its group commit holds no thread: with one writer
// worker and the log's sync stuck, the worker still answers other writes.
TEST(ServerAbuse, AnAppendWaitingForItsCommitHoldsNoWorker) {
  std::unique_ptr<Env> memory = new_memory_env();
  FaultInjectionEnv env(memory.get());
  StoreOptions store_options;
  store_options.env = &env;
  auto opened = open_store("file:/store", store_options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(opened).value();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.worker_threads = 1;
  auto started = Server::start(*store, options);
  ASSERT_TRUE(started.ok()) << started.status().to_string();
  std::unique_ptr<Server> server = std::move(started).value();

  // The next sync of the log blocks until released.
  std::mutex mutex;
  std::condition_variable cv;
  bool held = false;
  bool released = false;
  env.set_observer([&](EnvOp op, const std::string& path) {
    if (op != EnvOp::sync || path.find("/log/") == std::string::npos) return;
    std::unique_lock lock(mutex);
    if (held) return;
    held = true;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  });
  const auto release = [&] {
    std::lock_guard lock(mutex);
    released = true;
    cv.notify_all();
  };

  RawConnection stuck(server->port());
  ASSERT_TRUE(stuck.send(http_request("POST", "/v1/streams/a-1", kOneEvent)));
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return held; }));
  }
  // A write the store refuses before its pipeline needs the same worker.
  RawConnection other(server->port());
  ASSERT_TRUE(other.send(http_request("POST", "/v1/streams/b-1", "not json")));
  const std::optional<RawResponse> refused = other.read_response(3s);
  release();
  ASSERT_TRUE(refused) << "the only writer worker was waiting for the stuck commit";
  EXPECT_EQ(refused->status, 400u);
  const std::optional<RawResponse> appended = stuck.read_response(10s);
  ASSERT_TRUE(appended);
  EXPECT_EQ(appended->status, 201u) << appended->body;
  server->stop();
  env.set_observer({});
  ASSERT_TRUE(store->close().ok());
}

TEST(ServerAbuse, RevokedKeyEndsItsLiveSubscriptionWithinASecond) {
  ServerOptions options;
  options.require_auth = true;
  RunningServer running(options);
  server::ApiKeyFile keys((running.directory() / "api-keys.json").string());
  ASSERT_TRUE(keys.load().ok());
  Result<std::string> key = keys.add("subscriber", server::Role::reader, {});
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  const std::string auth = "Authorization: Bearer " + *key + "\r\n";
  // The server sees the new key at its next look at the file.
  for (int i = 0; i < 50 && round_trip(running.port(), "GET", "/v1/all", {}, auth).status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
  }

  RawConnection subscriber(running.port());
  ASSERT_TRUE(subscriber.send(http_request("GET", "/v1/subscriptions/all?from=0", {}, auth)));
  std::string seen = subscriber.read_some_for(700ms);
  ASSERT_NE(seen.find("200 OK"), std::string::npos) << seen;
  ASSERT_NE(seen.find("text/event-stream"), std::string::npos) << seen;

  // As `evsrc keys revoke` does, from another process's view of the file.
  server::ApiKeyFile cli((running.directory() / "api-keys.json").string());
  ASSERT_TRUE(cli.load().ok());
  ASSERT_TRUE(cli.revoke(key->substr(4, 12)).ok());
  const auto revoked = std::chrono::steady_clock::now();
  seen = subscriber.read_some_for(1s);
  const auto waited = std::chrono::steady_clock::now() - revoked;
  EXPECT_NE(seen.find("event: error"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\"error\":\"unauthenticated\""), std::string::npos) << seen;
  EXPECT_LT(waited, 1s) << "the subscription went on after its key was revoked";
  EXPECT_NE(seen.find("\r\n0\r\n\r\n"), std::string::npos) << "the stream did not end: " << seen;

  // A new request with the key is refused too.
  EXPECT_EQ(round_trip(running.port(), "GET", "/v1/all", {}, auth).status, 401u);
}

// The store opens files after the server started (new segments, index
// files; here: descriptors taken by the test) until only the reserve is
// left: a new connection would eat into it, and is refused, counted, and
// reported by /health, even though far fewer connections than the cap
// computed at start are open. Once descriptors are free again, connections
// are served.
TEST(ServerAbuse, ConnectionsThatWouldEatTheStoresReserveAreRefused) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  ::close(probe);
  const std::uint64_t limit =
      std::min<std::uint64_t>(static_cast<std::uint64_t>(probe) + server::kDescriptorReserve + 200, saved.rlim_cur);
  rlimit lowered = saved;
  lowered.rlim_cur = limit;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  {
    // No request before the descriptors are taken: a connection the server
    // closes later would leave a hole below them for the next accept.
    RunningServer running;

    // Take every descriptor up to the reserve: the next one handed out is
    // the first of the reserve (the client's socket, then the server's).
    std::vector<int> taken;
    while (true) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      taken.push_back(fd);
      if (static_cast<std::uint64_t>(fd) + server::kDescriptorReserve + 2 >= limit) break;
    }
    {
      RawConnection refused(running.port());
      ASSERT_TRUE(refused.send(http_request("GET", "/health")));
      EXPECT_FALSE(refused.read_response(2s).has_value()) << "a connection inside the reserve was served";
    }
    for (const int fd : taken) ::close(fd);

    RawResponse health;
    for (int i = 0; i < 50; ++i) {
      health = round_trip(running.port(), "GET", "/health");
      if (health.status != 0) break;
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(health.status, 200u);
    EXPECT_NE(health.body.find("\"degraded\""), std::string::npos) << health.body;
    RawResponse metrics = round_trip(running.port(), "GET", "/metrics");
    EXPECT_NE(metrics.body.find("evsrc_resource_shortages_total 1"), std::string::npos) << metrics.body;
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace evsrc::server_test
