// The remote store and its HTTP client against an in-process server, on
// what the conformance suite does not reach: connections the server closes,
// subscribers the server drops for being slow, names that need escaping,
// the server's own limits, URLs.
#include "evsrc/remote_store.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "client/http_client.h"
#include "conformance/store_fixture.h"
#include "evsrc/server.h"

namespace evsrc_test {
namespace {

using client::HttpClient;
using std::chrono::milliseconds;

// A memory: store served on a free loopback port.
class ServedStore {
 public:
  explicit ServedStore(ServerOptions options = {}) {
    auto opened = open_store("memory:");
    EXPECT_TRUE(IsOk(opened));
    if (!opened.ok()) return;
    store_ = std::move(opened).value();
    options.listen = "127.0.0.1:0";
    options.worker_threads = 8;
    auto started = Server::start(*store_, options);
    EXPECT_TRUE(IsOk(started));
    if (started.ok()) server_ = std::move(started).value();
  }
  ~ServedStore() {
    if (server_) server_->stop();
    if (store_) {
      EXPECT_TRUE(IsOk(store_->close()));
    }
  }
  bool ok() const { return server_ != nullptr; }
  std::string url() const { return server_->url(); }
  EventStore& local() { return *store_; }

  // A counter of the server's GET /v1/stats.
  std::uint64_t server_stat(const std::string& name) {
    auto client = HttpClient::create(url());
    if (!client.ok()) return 0;
    auto response = (*client)->request("GET", "/v1/stats");
    if (!response.ok() || response->status != 200) return 0;
    const nlohmann::json stats = nlohmann::json::parse(response->body, nullptr, false);
    return stats.is_object() && stats.contains(name) ? stats[name].get<std::uint64_t>() : 0;
  }

 private:
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
};

std::unique_ptr<EventStore> open_remote(const std::string& url) {
  auto opened = open_remote_store(url);
  EXPECT_TRUE(IsOk(opened));
  return opened.ok() ? std::move(opened).value() : nullptr;
}

TEST(HttpClient, ParsesServerUrls) {
  auto client = HttpClient::create("http://[::1]:8080/ignored/path");
  ASSERT_OK(client);
  EXPECT_EQ((*client)->host(), "::1");
  EXPECT_EQ((*client)->port(), 8080);
  client = HttpClient::create("HTTP://example.org");
  ASSERT_OK(client);
  EXPECT_EQ((*client)->host(), "example.org");
  EXPECT_EQ((*client)->port(), 80);
  for (const char* bad : {"https://example.org", "example.org:80", "http://", "http://:80", "http://h:0",
                          "http://h:65536", "http://h:8x", "http://user@h:80", "http://[::1"}) {
    EXPECT_CODE(HttpClient::create(bad), invalid_argument) << bad;
  }
  EXPECT_EQ(client::percent_encode("a-Z_0.9~/ ?#%\xC3\xA9"), "a-Z_0.9~%2F%20%3F%23%25%C3%A9");
}

TEST(HttpClient, ReconnectsWhenTheServerClosedAnIdleConnection) {
  ServerOptions options;
  options.idle_timeout = milliseconds(100);
  ServedStore served(options);
  ASSERT_TRUE(served.ok());
  auto client = HttpClient::create(served.url());
  ASSERT_OK(client);
  for (int i = 0; i < 3; ++i) {
    auto response = (*client)->request("GET", "/health");
    ASSERT_OK(response);
    EXPECT_EQ(response->status, 200u);
    // Past the idle timeout: the server closes the kept-alive connection.
    std::this_thread::sleep_for(milliseconds(400));
  }
  EXPECT_GE(served.server_stat("connectionsTotal"), 3u);
}

TEST(HttpClient, KeepsTheConnectionAlive) {
  ServedStore served;
  ASSERT_TRUE(served.ok());
  auto client = HttpClient::create(served.url());
  ASSERT_OK(client);
  const std::uint64_t before = served.server_stat("connectionsTotal");
  for (int i = 0; i < 20; ++i) {
    auto response = (*client)->request("GET", "/health");
    ASSERT_OK(response);
    EXPECT_EQ(response->status, 200u);
  }
  // One connection for the 20 requests, one for each server_stat().
  EXPECT_EQ(served.server_stat("connectionsTotal"), before + 2);
}

TEST(HttpClient, EventStreamErrorsAndCancel) {
  ServedStore served;
  ASSERT_TRUE(served.ok());
  auto client = HttpClient::create(served.url());
  ASSERT_OK(client);
  std::string body;
  const auto never = [](std::string_view, std::string_view, std::string_view) { return true; };
  auto status = (*client)->stream_events("/v1/subscriptions/streams/%24bad", {}, never, milliseconds(5000), &body);
  ASSERT_OK(status);
  EXPECT_EQ(*status, 400u);
  EXPECT_NE(body.find("invalid_stream_name"), std::string::npos) << body;

  // cancel_stream() ends an idle stream from another thread.
  HttpClient& streaming = **client;
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(200));
    streaming.cancel_stream();
  });
  auto cancelled = streaming.stream_events("/v1/subscriptions/all", {}, never, milliseconds(60'000));
  canceller.join();
  EXPECT_CODE(cancelled, closed);
}

TEST(RemoteStore, SlowSubscriberDroppedByTheServerResumesWithoutGapOrDuplicate) {
  ServerOptions options;
  options.sse_send_timeout = milliseconds(300);
  ServedStore served(options);
  ASSERT_TRUE(served.ok());
  std::unique_ptr<EventStore> remote = open_remote(served.url());
  ASSERT_NE(remote, nullptr);
  AllSubscriptionOptions subscription_options;
  subscription_options.batch_size = 100;
  auto subscription = remote->subscribe_all(subscription_options);
  ASSERT_OK(subscription);

  // Far more than socket buffers and the client's queue hold, while nobody
  // pulls: the server drops the subscriber after sse_send_timeout.
  constexpr int kBatches = 40;
  constexpr int kBatchEvents = 1000;
  const std::string data = "{\"pad\":\"" + std::string(1000, 'x') + "\"}";
  for (int i = 0; i < kBatches; ++i) {
    std::vector<EventData> events(kBatchEvents, make_event("Big", data));
    for (EventData& event : events) event.id = Uuid::random();
    ASSERT_OK(served.local().append("big-" + std::to_string(i % 4), ExpectedRevision::any(), events));
  }
  std::this_thread::sleep_for(milliseconds(1500));

  std::vector<RecordedEvent> events;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);  // liveness guard
  while (std::chrono::steady_clock::now() < deadline && events.size() < kBatches * kBatchEvents) {
    auto batch = (*subscription)->next(milliseconds(200));
    ASSERT_OK(batch);
    EXPECT_LE(batch->size(), 100u);
    events.insert(events.end(), batch->begin(), batch->end());
  }
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kBatches * kBatchEvents));
  std::map<std::string, StreamRevision> next_revision;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      ASSERT_LT(events[i - 1].position, events[i].position) << i;
    }
    StreamRevision& expected = next_revision[events[i].stream];
    ASSERT_EQ(events[i].revision, expected) << events[i].stream;
    ++expected;
  }
  EXPECT_GE(served.server_stat("subscriptionsDropped"), 1u) << "the server never dropped the subscriber";
}

TEST(RemoteStore, StreamNamesThatNeedEscaping) {
  ServedStore served;
  ASSERT_TRUE(served.ok());
  std::unique_ptr<EventStore> remote = open_remote(served.url());
  ASSERT_NE(remote, nullptr);
  const std::vector<std::string> names = {"a/b c?d#e%f&g=h+i",
                                          "\xC3\xBCnic\xC3\xB8"
                                          "de-1",
                                          "dots-..", "plus+-1"};
  for (const std::string& name : names) {
    ASSERT_OK(remote->append(name, ExpectedRevision::no_stream(), make_events(2)));
    const std::vector<RecordedEvent> events = read_whole_stream(*remote, name);
    ASSERT_EQ(events.size(), 2u) << name;
    EXPECT_EQ(events[0].stream, name);
    EXPECT_EQ(events, read_whole_stream(served.local(), name));
    Result<StreamInfo> info = remote->stream_info(name);
    ASSERT_OK(info);
    EXPECT_EQ(info->last_revision, std::optional<StreamRevision>(1));
    auto subscription = remote->subscribe_stream(name, {});
    ASSERT_OK(subscription);
    std::vector<RecordedEvent> received;
    for (int pulls = 0; pulls < 100 && received.size() < 2; ++pulls) {
      auto batch = (*subscription)->next(milliseconds(100));
      ASSERT_OK(batch);
      received.insert(received.end(), batch->begin(), batch->end());
    }
    EXPECT_EQ(received, events);
  }
  Result<std::vector<std::string>> listed = remote->list_streams("", "", 100);
  ASSERT_OK(listed);
  EXPECT_EQ(*listed, *served.local().list_streams("", "", 100));
  // A page limit above the API's 10,000 is served in pages.
  listed = remote->list_streams("", "", 1'000'000);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), names.size());
}

TEST(RemoteStore, DataBytesRoundTrip) {
  ServedStore served;
  ASSERT_TRUE(served.ok());
  std::unique_ptr<EventStore> remote = open_remote(served.url());
  ASSERT_NE(remote, nullptr);
  // Compact JSON, JSON with spaces, a JSON string, text, empty, numbers.
  const std::vector<std::string> datas = {"{\"a\":[1,2.5,{\"b\":null}],\"c\":\"\xC3\xA9\"}",
                                          R"({ "a" : 1 })",
                                          R"("quoted")",
                                          "plain text",
                                          "",
                                          "12",
                                          "1.0",
                                          "-0",
                                          "true",
                                          "[]"};
  std::vector<EventData> events;
  for (const std::string& data : datas) events.push_back(make_event("Bytes", data));
  ASSERT_OK(remote->append("bytes-1", ExpectedRevision::any(), events));
  const std::vector<RecordedEvent> local = read_whole_stream(served.local(), "bytes-1");
  ASSERT_EQ(local.size(), datas.size());
  for (std::size_t i = 0; i < datas.size(); ++i) EXPECT_EQ(local[i].data, datas[i]) << "stored " << datas[i];
  // Read back: JSON (but a bare string) comes back compact, anything else
  // byte for byte; so what was stored compact reads back unchanged.
  const auto compact = [](const std::string& bytes) {
    const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(bytes, nullptr, false);
    return parsed.is_discarded() || parsed.is_string() ? bytes : parsed.dump();
  };
  const std::vector<RecordedEvent> read = read_whole_stream(*remote, "bytes-1");
  ASSERT_EQ(read.size(), datas.size());
  for (std::size_t i = 0; i < datas.size(); ++i) EXPECT_EQ(read[i].data, compact(datas[i])) << datas[i];
  EXPECT_EQ(read[0].data, datas[0]);
  EXPECT_EQ(read[1].data, R"({"a":1})");
  // Bytes JSON cannot carry are refused, not altered.
  EXPECT_CODE(remote->append("bytes-1", ExpectedRevision::any(), std::vector{make_event("Bytes", "\xFF\xFE")}),
              invalid_argument);
}

TEST(RemoteStore, ServerLimitsAndErrorsMapToTheStoreCodes) {
  ServerOptions options;
  options.max_event_bytes = 1000;
  ServedStore served(options);
  ASSERT_TRUE(served.ok());
  std::unique_ptr<EventStore> remote = open_remote(served.url());
  ASSERT_NE(remote, nullptr);
  EXPECT_CODE(remote->append("big-1", ExpectedRevision::any(),
                             std::vector{make_event("Big", "\"" + std::string(2000, 'x') + "\"")}),
              too_large);
  EXPECT_CODE(remote->read_stream("big-1", {}), not_found);
  ASSERT_OK(remote->append("big-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(remote->tombstone_stream("big-1", ExpectedRevision::any()));
  EXPECT_CODE(remote->append("big-1", ExpectedRevision::any(), make_events(1)), stream_deleted);
  EXPECT_CODE(remote->read_stream("", {}), invalid_argument);
  StreamReadOptions huge;
  huge.limit = 1'000'000;  // above the API's page limit: served as a page of at most 10,000
  ASSERT_OK(remote->append("many-1", ExpectedRevision::any(), make_events(3)));
  Result<StreamPage> page = remote->read_stream("many-1", huge);
  ASSERT_OK(page);
  EXPECT_EQ(page->events.size(), 3u);
  EXPECT_EQ(page->last_revision, 2u);
}

TEST(RemoteStore, UnreachableServer) {
  EXPECT_CODE(open_remote_store("http://127.0.0.1:1"), io_error);
  EXPECT_CODE(open_remote_store("ftp://127.0.0.1:1"), invalid_argument);
  // A server that goes away: calls fail with io_error, subscriptions end
  // with io_error after their retries, close() still succeeds.
  auto served = std::make_unique<ServedStore>();
  ASSERT_TRUE(served->ok());
  std::unique_ptr<EventStore> remote = open_remote(served->url());
  ASSERT_NE(remote, nullptr);
  auto subscription = remote->subscribe_all({});
  ASSERT_OK(subscription);
  ASSERT_OK((*subscription)->next(milliseconds(10)));
  served.reset();
  EXPECT_CODE(remote->stats(), io_error);
  Result<std::vector<RecordedEvent>> batch = std::vector<RecordedEvent>();
  for (int pulls = 0; pulls < 300 && batch.ok(); ++pulls) batch = (*subscription)->next(milliseconds(100));
  EXPECT_CODE(batch, io_error);
  EXPECT_OK(remote->close());
  EXPECT_CODE(remote->stats(), closed);
}

}  // namespace
}  // namespace evsrc_test
