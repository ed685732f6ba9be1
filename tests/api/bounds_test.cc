// Bounded work and memory per request, whatever the stored data: a read
// page and an SSE batch stop at a byte budget measured on their JSON (events
// whose bytes escape to 6 times their size included); a filtered $all read
// or subscription examines a bounded number of positions per call; a live
// subscription ends when its key is revoked; /health tells when the store
// refuses writes or resources run short.
#include <algorithm>
#include <memory>
#include <mutex>

#include "api/api_fixture.h"
#include "engine/fault_injection_env.h"
#include "evsrc/env.h"

namespace evsrc_api_test {
namespace {

// Budgets of the API (api_reads.cc, api_subscriptions.cc), and the most one
// event of 1,000,000 control bytes adds past them (each byte is "\u0001").
constexpr std::size_t kPageBudgetBytes = 8 << 20;
constexpr std::size_t kBatchBudgetBytes = 1 << 20;
constexpr std::size_t kControlBytes = 1'000'000;
constexpr std::size_t kOneEscapedEvent = 6 * kControlBytes + 1024;

void seed_escaped(EventStore& store, const std::string& stream, int count) {
  for (int i = 0; i < count; ++i) {
    EventData event;
    event.id = Uuid::random();
    event.type = "Big";
    event.data = std::string(kControlBytes, '\x01');
    std::vector<EventData> events{std::move(event)};
    Result<AppendResult> result = store.append(stream, ExpectedRevision::any(), events);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
  }
}

// 16 events whose JSON is 6 MB each: `limit=64` used to answer all of them
// at once (96 MB); a page stops once past the budget and says where to go on.
TEST_P(ApiTest, PageOfEscapedEventsStaysWithinItsByteBudget) {
  seed_escaped(store(), "big", 16);
  std::string target = "/v1/streams/big?limit=64";
  std::size_t events = 0;
  int pages = 0;
  while (true) {
    Response response = get(target);
    ASSERT_EQ(response.status, 200u) << response.body.substr(0, 200);
    EXPECT_LE(response.body.size(), kPageBudgetBytes + kOneEscapedEvent);
    ASSERT_TRUE(response.json.is_object());
    for (const Json& event : response.json["events"]) {
      EXPECT_EQ(event["revision"].get<std::size_t>(), events);
      EXPECT_EQ(event["data"].get<std::string>().size(), kControlBytes);
      ++events;
    }
    ++pages;
    ASSERT_LE(pages, 16);
    if (response.json["next"].is_null()) break;
    target = "/v1/streams/big?limit=64&from=" + std::to_string(response.json["next"].get<std::uint64_t>());
  }
  EXPECT_EQ(events, 16u);
  EXPECT_GE(pages, 8);

  // The same through $all, backwards.
  Response all = get("/v1/all?limit=64&direction=backward");
  ASSERT_EQ(all.status, 200u);
  EXPECT_LE(all.body.size(), kPageBudgetBytes + kOneEscapedEvent);
  ASSERT_FALSE(all.json["next"].is_null());
  EXPECT_LT(all.json["events"].size(), 16u);
}

// A subscriber holds one batch: it stops once past its budget too.
TEST_P(ApiTest, SseBatchOfEscapedEventsStaysWithinItsByteBudget) {
  seed_escaped(store(), "big", 6);
  Response response = get("/v1/subscriptions/streams/big?from=0");
  ASSERT_EQ(response.status, 200u);
  ASSERT_TRUE(response.feed);
  std::size_t events = 0;
  for (int round = 0; round < 20; ++round) {
    std::string out;
    Result<std::size_t> read = response.feed->read_next(out, 64);
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    if (*read == 0) break;
    EXPECT_LE(out.size(), kBatchBudgetBytes + kOneEscapedEvent);
    const std::vector<SseFrame> frames = parse_sse_frames(out);
    for (const SseFrame& frame : frames) {
      if (frame.id.empty()) continue;
      EXPECT_EQ(frame.id, std::to_string(events));
      ++events;
    }
  }
  EXPECT_EQ(events, 6u);
}

// More than a page's scan budget of events that do not match: a filtered
// page used to scan the whole log on a worker; it now stops with `next` set.
class ApiScanTest : public ApiTest {
 protected:
  static constexpr std::size_t kUnmatched = 300'000;  // more than one scan budget (2^18)

  void seed_unmatched_then_match() {
    for (std::size_t done = 0; done < kUnmatched; done += 5000) seed("a-1", 5000);
    seed("b-1", 1);
  }
};

TEST_P(ApiScanTest, FilteredAllReadStopsAtItsScanBudget) {
  seed_unmatched_then_match();
  Response first = get("/v1/all?prefix=b-&limit=10");
  ASSERT_EQ(first.status, 200u) << first.body.substr(0, 200);
  EXPECT_TRUE(first.json["events"].empty());
  ASSERT_FALSE(first.json["next"].is_null()) << "the whole log was scanned in one request";
  const std::uint64_t next = first.json["next"].get<std::uint64_t>();
  EXPECT_GT(next, 0u);
  EXPECT_LT(next, kUnmatched);

  // Paging on finds the match once.
  std::string target = "/v1/all?prefix=b-&limit=10&from=" + std::to_string(next);
  std::vector<std::string> found;
  for (int pages = 0; pages < 10; ++pages) {
    Response page = get(target);
    ASSERT_EQ(page.status, 200u);
    for (const Json& event : page.json["events"]) found.push_back(event["stream"].get<std::string>());
    if (page.json["next"].is_null()) break;
    target = "/v1/all?prefix=b-&limit=10&from=" + std::to_string(page.json["next"].get<std::uint64_t>());
  }
  EXPECT_EQ(found, std::vector<std::string>{"b-1"});

  // Backwards from the end the match comes first; the page then stops at
  // the budget too instead of scanning down to position 0.
  Response backward = get("/v1/all?prefix=b-&limit=10&direction=backward");
  ASSERT_EQ(backward.status, 200u);
  ASSERT_EQ(backward.json["events"].size(), 1u);
  EXPECT_FALSE(backward.json["next"].is_null());
}

TEST_P(ApiScanTest, FilteredSubscriptionCatchesUpInBoundedSteps) {
  seed_unmatched_then_match();
  Response response = get("/v1/subscriptions/all?prefix=b-&from=0");
  ASSERT_EQ(response.status, 200u);
  ASSERT_TRUE(response.feed);
  std::string out;
  int calls = 0;
  int behind = 0;
  while (calls < 100) {
    Result<std::size_t> read = response.feed->read_next(out, 64);
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    ++calls;
    if (response.feed->behind()) ++behind;
    if (*read == 0 && !response.feed->behind()) break;
  }
  EXPECT_GE(behind, 1) << "one call scanned the whole log";
  const std::vector<SseFrame> frames = parse_sse_frames(out);
  std::vector<std::string> ids;
  for (const SseFrame& frame : frames) {
    if (!frame.id.empty()) ids.push_back(frame.id);
  }
  EXPECT_EQ(ids, std::vector<std::string>{std::to_string(kUnmatched)});
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiScanTest, ::testing::Values("memory", "file"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// A live subscription checks its key whenever the keys change.
TEST_P(ApiTest, SubscriptionOfARevokedKeyIsRefused) {
  ApiKeyFile keys(directory_ + "/api-keys.json");
  ASSERT_TRUE(keys.load().ok());
  Result<std::string> reader = keys.add("reader", Role::reader, {});
  Result<std::string> other = keys.add("other", Role::reader, {});
  ASSERT_TRUE(reader.ok() && other.ok());
  ApiContext context;
  context.keys = &keys;
  rebuild_api(context);
  seed("s-1", 2);
  const Headers auth = {{"Authorization", "Bearer " + *reader}};
  Response all = get("/v1/subscriptions/all?from=0", auth);
  Response one = get("/v1/subscriptions/streams/s-1?from=0", auth);
  ASSERT_EQ(all.status, 200u);
  ASSERT_EQ(one.status, 200u);
  ASSERT_TRUE(all.feed && one.feed);
  EXPECT_FALSE(all.feed->check_access());

  // Another key changes: this one is still good.
  const std::string other_id = other->substr(4, 12);
  ASSERT_TRUE(keys.revoke(other_id).ok());
  EXPECT_FALSE(all.feed->check_access());
  EXPECT_FALSE(one.feed->check_access());

  // Revoked by another process (the CLI): seen at the next look at the file.
  ApiKeyFile cli(directory_ + "/api-keys.json");
  ASSERT_TRUE(cli.load().ok());
  ASSERT_TRUE(cli.revoke(reader->substr(4, 12)).ok());
  keys.reload_now();
  for (SseFeed* feed : {all.feed.get(), one.feed.get()}) {
    const std::optional<SseFeed::Refusal> refusal = feed->check_access();
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->code, "unauthenticated");
    EXPECT_TRUE(feed->check_access());  // and stays refused
  }
}

// Health: 200 ok; 200 degraded after a request was refused for lack of
// resources; 503 failed while the store refuses writes.
class ApiHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    memory_env_ = new_memory_env();
    env_ = std::make_unique<FaultInjectionEnv>(memory_env_.get());
    StoreOptions options;
    options.env = env_.get();
    options.segment_bytes = 64 << 10;
    Result<std::unique_ptr<EventStore>> opened = open_store("file:/store", options);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    ApiContext context;
    context.store = store_.get();
    context.metrics = &metrics_;
    api_ = std::make_unique<Api>(context);
  }
  void TearDown() override {
    api_.reset();
    if (store_) (void)store_->close();
  }

  HttpResponse call(std::string method, std::string target, std::string body = {}) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    return api_->handle(request).response;
  }
  Json health() { return Json::parse(call("GET", "/health").body); }

  std::unique_ptr<Env> memory_env_;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::unique_ptr<EventStore> store_;
  ServerMetrics metrics_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiHealthTest, DegradedAfterAShortageAndFailedWhileWritesAreRefused) {
  EXPECT_EQ(health()["status"], "ok");

  // The next segment cannot be created: that append is refused with 503
  // unavailable (Retry-After), and the server says it is degraded.
  env_->fail_nth(EnvOp::create, 0, FaultKind::no_descriptors);
  const std::string event = R"({"type":"T","data":{"pad":")" + std::string(400, 'x') + R"("}})";
  HttpResponse refused;
  for (int i = 0; i < 400; ++i) {
    refused = call("POST", "/v1/streams/s-1", event);
    if (refused.status != 201 && refused.status != 200) break;
  }
  ASSERT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(Json::parse(refused.body)["error"], "unavailable");
  EXPECT_EQ(refused.headers.get("Retry-After"), std::optional<std::string_view>("1"));
  HttpResponse degraded = call("GET", "/health");
  EXPECT_EQ(degraded.status, 200u);
  EXPECT_EQ(Json::parse(degraded.body)["status"], "degraded") << degraded.body;
  // ... and goes on writing.
  HttpResponse retried = call("POST", "/v1/streams/s-1", event);
  EXPECT_TRUE(retried.status == 201 || retried.status == 200) << retried.body;

  // A failed sync: the store refuses every write until reopened.
  env_->fail_nth(EnvOp::sync, 0);
  HttpResponse failed_append = call("POST", "/v1/streams/s-1", event);
  EXPECT_EQ(failed_append.status, 500u) << failed_append.body;
  HttpResponse failed = call("GET", "/health");
  EXPECT_EQ(failed.status, 503u) << failed.body;
  const Json body = Json::parse(failed.body);
  EXPECT_EQ(body["status"], "failed");
  EXPECT_NE(body["reason"].get<std::string>().find("refuses writes"), std::string::npos) << failed.body;
  EXPECT_EQ(body["error"], "unavailable");
}

// A store refusing because it is closed, and /health's own `failed` reply,
// are 503s but no shortage of resources: not counted, and /health does not
// say "degraded" for them.
TEST_F(ApiHealthTest, OnlyAShortageOfResourcesCountsAsOne) {
  ASSERT_TRUE(store_->close().ok());
  HttpResponse refused = call("POST", "/v1/streams/s-1", R"({"type":"T","data":{}})");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_EQ(refused.headers.get("Retry-After"), std::optional<std::string_view>("1"));
  HttpResponse failed = call("GET", "/health");
  EXPECT_EQ(failed.status, 503u) << failed.body;
  EXPECT_EQ(metrics_.resource_shortages.load(), 0u);
  EXPECT_FALSE(metrics_.since_last_shortage_ms().has_value());
}

// A memory: store that records the `limit` of every page read (the default
// cursors read pages underneath).
class LimitRecordingStore final : public EventStore {
 public:
  LimitRecordingStore() : inner_(std::move(open_store("memory:")).value()) {}

  std::uint64_t largest_limit_since_reset() {
    std::lock_guard lock(mutex_);
    return largest_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    largest_ = 0;
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    note(options.limit);
    return inner_->read_all(options);
  }
  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    note(options.limit);
    return inner_->read_stream(stream, options);
  }
  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> events) override {
    return inner_->append(stream, expected, events);
  }
  Result<TransactionResult> commit(std::span<const TransactionPart> parts) override { return inner_->commit(parts); }
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
  void note(std::uint64_t limit) {
    std::lock_guard lock(mutex_);
    largest_ = std::max(largest_, limit);
  }
  std::unique_ptr<EventStore> inner_;
  std::mutex mutex_;
  std::uint64_t largest_ = 0;
};

// A subscriber of a store whose cursors hold owned pages reads few events at
// once while they may be of the largest size accepted. A read that found
// nothing tells nothing about the size of what comes next: it used to set
// the batch to 64 events, which then held 64 MB of 1 MB events.
TEST(ApiBatchSize, AnEmptyReadDoesNotWidenTheNextBatch) {
  LimitRecordingStore store;
  ApiContext context;
  context.store = &store;
  Api api(context);
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/subscriptions/streams/big?from=0";
  Reply reply = api.handle(request);
  ASSERT_EQ(reply.response.status, 200u) << reply.response.body;
  ASSERT_TRUE(reply.sse);
  std::string out;
  Result<std::size_t> read = reply.sse->read_next(out, 64);  // the stream does not exist yet
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(*read, 0u);
  seed_escaped(store, "big", 1);
  store.reset();
  read = reply.sse->read_next(out, 64);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(*read, 1u);
  // The default max_event_bytes (1 MiB) over the batch budget (1 MiB).
  EXPECT_EQ(store.largest_limit_since_reset(), 1u);

  // An empty read again: the next batch stays sized by what was seen (1 MB).
  read = reply.sse->read_next(out, 64);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(*read, 0u);
  seed_escaped(store, "big", 1);
  store.reset();
  read = reply.sse->read_next(out, 64);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(*read, 1u);
  EXPECT_EQ(store.largest_limit_since_reset(), 1u);
}

}  // namespace
}  // namespace evsrc_api_test
