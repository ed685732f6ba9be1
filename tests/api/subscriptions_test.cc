// Server-Sent Events feeds: catch-up, live, Last-Event-ID, filters, streams
// that do not exist yet.
#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

std::vector<std::string> ids_of(const std::vector<SseFrame>& frames) {
  std::vector<std::string> ids;
  for (const SseFrame& frame : frames) ids.push_back(frame.id);
  return ids;
}

std::vector<std::string> positions_of(EventStore& store, const EventFilter& filter = {}) {
  std::vector<std::string> positions;
  AllReadOptions options;
  options.filter = filter;
  Result<AllPage> page = store.read_all(options);
  EXPECT_TRUE(page.ok());
  if (!page.ok()) return positions;
  for (const RecordedEvent& event : page.value().events) positions.push_back(std::to_string(event.position));
  return positions;
}

TEST_P(ApiTest, AllSubscriptionCatchesUpThenFollows) {
  seed("user-1", 2, "Registered");
  seed("order-1", 3, "Placed");
  Response response = get("/v1/subscriptions/all");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(response.header("Cache-Control"), "no-cache");
  ASSERT_NE(response.feed, nullptr);

  std::vector<SseFrame> frames = drain(*response.feed, 2);
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(ids_of(frames), positions_of(store()));
  EXPECT_EQ(frames[0].event, "Registered");
  EXPECT_EQ(frames[4].event, "Placed");
  // data: the recorded event exactly as GET /v1/all shows it.
  const Response all = get("/v1/all");
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(Json::parse(frames[i].data), all.json["events"][i]);
    EXPECT_EQ(frames[i].data.find('\n'), std::string::npos);
  }

  // Caught up: nothing, without waiting; then the next commits.
  std::string out;
  Result<std::size_t> read = response.feed->read_next(out, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, 0u);
  EXPECT_TRUE(out.empty());
  seed("user-2", 2, "Registered");
  frames = drain(*response.feed);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(Json::parse(frames[1].data)["stream"], "user-2");
  const std::vector<std::string> positions = positions_of(store());
  ASSERT_EQ(positions.size(), 7u);
  EXPECT_EQ(ids_of(frames), std::vector<std::string>(positions.begin() + 5, positions.end()));
}

TEST_P(ApiTest, AllSubscriptionResumesAfterLastEventId) {
  seed("s", 6);
  const std::vector<std::string> positions = positions_of(store());
  Response response = get("/v1/subscriptions/all?from=0", {{"Last-Event-ID", positions[2]}});
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(ids_of(drain(*response.feed)), std::vector<std::string>(positions.begin() + 3, positions.end()));

  response = get("/v1/subscriptions/all?from=" + positions[4]);  // inclusive
  EXPECT_EQ(ids_of(drain(*response.feed)), std::vector<std::string>(positions.begin() + 4, positions.end()));

  response = get("/v1/subscriptions/all?from=end");
  ASSERT_EQ(response.status, 200u);
  EXPECT_TRUE(drain(*response.feed).empty());
  seed("s", 1);
  EXPECT_EQ(drain(*response.feed).size(), 1u);
}

TEST_P(ApiTest, AllSubscriptionFilters) {
  seed("user-1", 2, "Registered");
  seed("order-1", 3, "Placed");
  seed("user-2", 1, "Renamed");
  Response by_prefix = get("/v1/subscriptions/all?prefix=user-");
  ASSERT_EQ(by_prefix.status, 200u);
  EXPECT_EQ(ids_of(drain(*by_prefix.feed, 1)), positions_of(store(), EventFilter{"user-", "", ""}));
  Response by_type = get("/v1/subscriptions/all?type=Placed");
  EXPECT_EQ(ids_of(drain(*by_type.feed, 2)), positions_of(store(), EventFilter{"", "", "Placed"}));
  Response by_category = get("/v1/subscriptions/all?category=user&type=Renamed");
  const std::vector<SseFrame> renamed = drain(*by_category.feed);
  ASSERT_EQ(renamed.size(), 1u);
  EXPECT_EQ(renamed[0].event, "Renamed");

  // Later commits: matching ones only, never twice, even after long runs
  // of events that do not match.
  seed("order-2", 50, "Placed");
  seed("user-3", 1, "Registered");
  seed("order-3", 20, "Placed");
  seed("user-3", 1, "Registered");
  const std::vector<SseFrame> more = drain(*by_prefix.feed, 1);
  ASSERT_EQ(more.size(), 2u);
  EXPECT_EQ(Json::parse(more[0].data)["revision"], 0);
  EXPECT_EQ(Json::parse(more[1].data)["revision"], 1);
  EXPECT_TRUE(drain(*by_prefix.feed).empty());
}

TEST_P(ApiTest, StreamSubscriptionWaitsForTheStreamThenFollowsIt) {
  Response response = get("/v1/subscriptions/streams/later");
  ASSERT_EQ(response.status, 200u) << response.body;
  ASSERT_NE(response.feed, nullptr);
  std::string out;
  Result<std::size_t> read = response.feed->read_next(out, 10);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(*read, 0u);

  seed("other", 2);
  seed("later", 3, "Happened");
  std::vector<SseFrame> frames = drain(*response.feed, 2);
  EXPECT_EQ(ids_of(frames), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(frames[0].event, "Happened");
  EXPECT_EQ(Json::parse(frames[2].data)["revision"], 2);
  EXPECT_EQ(Json::parse(frames[2].data)["stream"], "later");
  seed("later", 1);
  frames = drain(*response.feed);
  EXPECT_EQ(ids_of(frames), (std::vector<std::string>{"3"}));
}

TEST_P(ApiTest, StreamSubscriptionResumesAfterLastEventId) {
  seed("s", 5);
  Response response = get("/v1/subscriptions/streams/s?from=1", {{"Last-Event-ID", "2"}});
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(ids_of(drain(*response.feed)), (std::vector<std::string>{"3", "4"}));
  response = get("/v1/subscriptions/streams/s?from=1");
  EXPECT_EQ(ids_of(drain(*response.feed)), (std::vector<std::string>{"1", "2", "3", "4"}));
  response = get("/v1/subscriptions/streams/s?from=end");
  EXPECT_TRUE(drain(*response.feed).empty());
  seed("s", 1);
  EXPECT_EQ(ids_of(drain(*response.feed)), (std::vector<std::string>{"5"}));
}

TEST_P(ApiTest, StreamSubscriptionEndsWhenTheStreamIsTombstoned) {
  seed("s", 1);
  Response response = get("/v1/subscriptions/streams/s");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(drain(*response.feed).size(), 1u);
  ASSERT_TRUE(store().tombstone_stream("s", ExpectedRevision::any()).ok());
  std::string out;
  const Result<std::size_t> read = response.feed->read_next(out, 10);
  EXPECT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::stream_deleted);
}

TEST_P(ApiTest, EventTypesCannotBreakFrames) {
  std::vector<EventData> events(1);
  events[0].type = "Evil\ndata: {}\r\nid: 99";
  events[0].data = "{}";
  ASSERT_TRUE(store().append("s", ExpectedRevision::any(), events).ok());
  Response response = get("/v1/subscriptions/streams/s");
  std::string out;
  ASSERT_TRUE(response.feed->read_next(out, 10).ok());
  const std::vector<SseFrame> frames = parse_sse_frames(out);
  ASSERT_EQ(frames.size(), 1u) << out;
  EXPECT_EQ(frames[0].id, "0");
  EXPECT_EQ(frames[0].event, "Evil data: {}  id: 99");
  EXPECT_EQ(Json::parse(frames[0].data)["type"], events[0].type);
}

TEST_P(ApiTest, FeedsReportStoreErrors) {
  seed("s", 1);
  Response all = get("/v1/subscriptions/all");
  Response stream = get("/v1/subscriptions/streams/s");
  ASSERT_TRUE(store().close().ok());
  std::string out;
  EXPECT_FALSE(all.feed->read_next(out, 10).ok());
  EXPECT_FALSE(stream.feed->read_next(out, 10).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace evsrc_api_test
