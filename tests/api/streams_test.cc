// Appends, stream reads, expectations, ETags, deletes, metadata and stream
// listings through the API.
#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

constexpr char kId1[] = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr char kId2[] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

Json two_events() {
  return Json::array({{{"id", kId1}, {"type", "OrderPlaced"}, {"data", {{"total", 12}}}, {"metadata", {{"by", "ann"}}}},
                      {{"id", kId2}, {"type", "OrderPaid"}, {"data", {{"amount", 12.5}}}}});
}

TEST_P(ApiTest, AppendAnswersCreatedWithRevisionsAndETag) {
  const Response response = post("/v1/streams/order-1", text(two_events()));
  ASSERT_EQ(response.status, 201u) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_EQ(response.json["stream"], "order-1");
  EXPECT_EQ(response.json["firstRevision"], 0);
  EXPECT_EQ(response.json["lastRevision"], 1);
  EXPECT_TRUE(response.json["position"].is_number_unsigned());
  EXPECT_EQ(response.header("ETag"), "\"1\"");

  StreamReadOptions options;
  Result<StreamPage> page = store().read_stream("order-1", options);
  ASSERT_TRUE(page.ok());
  const std::vector<RecordedEvent>& events = page.value().events;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id.to_string(), kId1);
  EXPECT_EQ(events[0].type, "OrderPlaced");
  EXPECT_EQ(events[0].data, R"({"total":12})");
  EXPECT_EQ(events[0].metadata, R"({"by":"ann"})");
  EXPECT_EQ(events[1].data, R"({"amount":12.5})");
  EXPECT_EQ(events[1].metadata, "");
  EXPECT_EQ(response.json["position"], events[1].position);
}

TEST_P(ApiTest, AppendAcceptsOneEventObject) {
  const Response response = post("/v1/streams/one", R"({"type":"Happened","data":{"x":1}})");
  ASSERT_EQ(response.status, 201u) << response.body;
  EXPECT_EQ(response.json["firstRevision"], 0);
  EXPECT_EQ(response.json["lastRevision"], 0);
  EXPECT_EQ(response.header("ETag"), "\"0\"");
}

TEST_P(ApiTest, EmptyBatchOnlyChecksTheExpectation) {
  seed("s", 2);
  const std::string before = fingerprint();
  Response response = post("/v1/streams/s", "[]", {{"If-Match", "\"1\""}});
  EXPECT_EQ(response.status, 200u) << response.body;
  EXPECT_FALSE(response.has_header("ETag"));
  response = post("/v1/streams/s", "[]", {{"If-Match", "\"0\""}});
  EXPECT_EQ(response.status, 409u) << response.body;
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, ReadStreamReturnsRecordedEventsAsTheCliPrintsThem) {
  ASSERT_EQ(post("/v1/streams/order-1", text(two_events())).status, 201u);
  const Response response = get("/v1/streams/order-1");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.header("ETag"), "\"1\"");
  ASSERT_EQ(response.json["events"].size(), 2u);
  EXPECT_TRUE(response.json["next"].is_null());
  const Json& first = response.json["events"][0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : first.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "stream", "revision", "position", "type", "data", "metadata",
                                            "recordedAt"}));
  EXPECT_EQ(first["id"], kId1);
  EXPECT_EQ(first["stream"], "order-1");
  EXPECT_EQ(first["revision"], 0);
  EXPECT_EQ(first["type"], "OrderPlaced");
  EXPECT_EQ(first["data"], Json({{"total", 12}}));
  EXPECT_EQ(first["metadata"], Json({{"by", "ann"}}));
  const std::string recorded_at = first["recordedAt"];
  EXPECT_EQ(recorded_at.size(), std::string("2026-11-29T08:34:08.123456Z").size()) << recorded_at;
  EXPECT_EQ(recorded_at.back(), 'Z');
  EXPECT_EQ(response.json["events"][1]["metadata"], "");  // no metadata: an empty string, as the CLI prints
}

TEST_P(ApiTest, DataBytesFollowTheCliConventions) {
  // In: a JSON string is the bytes; any other value its compact form, as
  // the CLI (nlohmann's dump()) writes it.
  const std::string document = R"({ "b" : [1, 2.50, -0.0, 1e300, 0.1, 123456789012345678901234567890], "a" : null })";
  const std::string body = R"([{"type":"T","data":"plain text"},{"type":"T","data":"{\"looks\": \"like json\"}"},)"
                           R"({"type":"T","data":)" +
                           document +
                           R"(},{"type":"T","data":42},)"
                           R"({"type":"T","data":"\u00e9\u0001\"\\"}])";
  const Response appended = post("/v1/streams/bytes", body);
  ASSERT_EQ(appended.status, 201u) << appended.body;
  StreamReadOptions options;
  Result<StreamPage> page = store().read_stream("bytes", options);
  ASSERT_TRUE(page.ok());
  const std::vector<RecordedEvent>& stored = page.value().events;
  ASSERT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored[0].data, "plain text");
  EXPECT_EQ(stored[1].data, "{\"looks\": \"like json\"}");
  EXPECT_EQ(stored[2].data, Json::parse(document).dump());
  EXPECT_EQ(stored[2].data, R"({"b":[1,2.5,-0.0,1e+300,0.1,1.2345678901234568e+29],"a":null})");
  EXPECT_EQ(stored[3].data, "42");
  EXPECT_EQ(stored[4].data, "\xC3\xA9\x01\"\\");

  // Out: JSON documents (other than a bare string) embedded, other bytes a string.
  std::vector<EventData> raw(4);
  raw[0].type = raw[1].type = raw[2].type = raw[3].type = "Raw";
  raw[0].data = "\"a json string\"";
  raw[1].data = "not json {";
  raw[2].data = std::string("bad \xff utf-8");
  raw[3].data = " [1, {\"x\" : true}] ";
  ASSERT_TRUE(store().append("raw", ExpectedRevision::any(), raw).ok());
  const Response response = get("/v1/streams/raw");
  ASSERT_EQ(response.status, 200u) << response.body;
  ASSERT_FALSE(response.json.is_discarded()) << "the body must stay valid UTF-8 JSON";
  EXPECT_EQ(response.json["events"][0]["data"], "\"a json string\"");
  EXPECT_EQ(response.json["events"][1]["data"], "not json {");
  EXPECT_EQ(response.json["events"][2]["data"], "bad \xEF\xBF\xBD utf-8");
  EXPECT_EQ(response.json["events"][3]["data"], Json::parse(R"([1,{"x":true}])"));
  EXPECT_NE(response.body.find(R"("data":[1,{"x":true}])"), std::string::npos) << "embedded compactly";
}

TEST_P(ApiTest, StreamPagingFollowsNext) {
  seed("paged", 5);
  Response page = get("/v1/streams/paged?limit=2");
  ASSERT_EQ(page.status, 200u) << page.body;
  ASSERT_EQ(page.json["events"].size(), 2u);
  EXPECT_EQ(page.json["events"][0]["revision"], 0);
  EXPECT_EQ(page.json["next"], 2);
  EXPECT_EQ(page.header("ETag"), "\"4\"");
  page = get("/v1/streams/paged?from=2&limit=2");
  EXPECT_EQ(page.json["events"][0]["revision"], 2);
  EXPECT_EQ(page.json["next"], 4);
  page = get("/v1/streams/paged?from=4&limit=2");
  ASSERT_EQ(page.json["events"].size(), 1u);
  EXPECT_TRUE(page.json["next"].is_null());
  page = get("/v1/streams/paged?limit=10000");
  EXPECT_EQ(page.status, 200u);

  page = get("/v1/streams/paged?direction=backward&limit=2");
  ASSERT_EQ(page.json["events"].size(), 2u);
  EXPECT_EQ(page.json["events"][0]["revision"], 4);
  EXPECT_EQ(page.json["events"][1]["revision"], 3);
  EXPECT_EQ(page.json["next"], 2);
  page = get("/v1/streams/paged?direction=backward&from=1&limit=2");
  EXPECT_EQ(page.json["events"][0]["revision"], 1);
  EXPECT_EQ(page.json["events"][1]["revision"], 0);
  EXPECT_TRUE(page.json["next"].is_null());
}

TEST_P(ApiTest, StreamPageLimitDefaultsTo100) {
  seed("long", 150);
  const Response page = get("/v1/streams/long");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.json["events"].size(), 100u);
  EXPECT_EQ(page.json["next"], 100);
}

TEST_P(ApiTest, IfNoneMatchStarRequiresANewStream) {
  const Json event = {{"type", "T"}, {"data", 1}};
  EXPECT_EQ(post("/v1/streams/new", text(event), {{"If-None-Match", "*"}}).status, 201u);
  const std::string before = fingerprint();
  const Response conflict = post("/v1/streams/new", text(event), {{"If-None-Match", "*"}});
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.error(), "wrong_expected_revision");
  EXPECT_EQ(conflict.json["actual"], 0);
  EXPECT_EQ(conflict.header("ETag"), "\"0\"");
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, IfMatchRequiresTheRevision) {
  seed("s", 2);
  const Json event = {{"type", "T"}, {"data", 1}};
  const Response ok = post("/v1/streams/s", text(event), {{"If-Match", "\"1\""}});
  EXPECT_EQ(ok.status, 201u) << ok.body;
  EXPECT_EQ(ok.header("ETag"), "\"2\"");
  const std::string before = fingerprint();
  const Response conflict = post("/v1/streams/s", text(event), {{"If-Match", "\"1\""}});
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.error(), "wrong_expected_revision");
  EXPECT_EQ(conflict.json["actual"], 2);
  EXPECT_EQ(conflict.header("ETag"), "\"2\"");
  // If-Match: * = the stream exists.
  EXPECT_EQ(post("/v1/streams/s", text(event), {{"If-Match", "*"}}).status, 201u);
  const Response absent = post("/v1/streams/absent", text(event), {{"If-Match", "*"}});
  EXPECT_EQ(absent.status, 409u);
  EXPECT_TRUE(absent.json["actual"].is_null()) << absent.body;
  EXPECT_FALSE(absent.has_header("ETag"));
  EXPECT_EQ(fingerprint().find("absent"), std::string::npos);
}

TEST_P(ApiTest, ExpectedRevisionHeaderTakesEveryForm) {
  const Json event = {{"type", "T"}, {"data", 1}};
  const auto expect = [&](const std::string& value) {
    return post("/v1/streams/e", text(event), {{"Expected-Revision", value}});
  };
  EXPECT_EQ(expect("exists").status, 409u);
  const Response absent = expect("0");
  EXPECT_EQ(absent.status, 409u);
  EXPECT_TRUE(absent.json["actual"].is_null());
  EXPECT_EQ(expect("no-stream").status, 201u);
  EXPECT_EQ(expect("no-stream").status, 409u);
  EXPECT_EQ(expect("exists").status, 201u);
  EXPECT_EQ(expect("1").status, 201u);
  EXPECT_EQ(expect("any").status, 201u);
  const Response stale = expect("1");
  EXPECT_EQ(stale.status, 409u);
  EXPECT_EQ(stale.json["actual"], 3);
  EXPECT_EQ(stale.header("ETag"), "\"3\"");
  EXPECT_EQ(metrics_->append_conflicts.load(), 4u);
}

TEST_P(ApiTest, IdempotentRetryAnswersTheSameBody) {
  const Response first = post("/v1/streams/retry", text(two_events()), {{"If-None-Match", "*"}});
  ASSERT_EQ(first.status, 201u) << first.body;
  seed("other", 1);
  const std::string before = fingerprint();
  const Response again = post("/v1/streams/retry", text(two_events()), {{"If-None-Match", "*"}});
  EXPECT_EQ(again.status, 201u) << again.body;
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("ETag"), first.header("ETag"));
  EXPECT_EQ(fingerprint(), before);

  Json changed = two_events();
  changed[1]["data"] = {{"amount", 13}};
  const Response conflict = post("/v1/streams/retry", text(changed));
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.error(), "idempotency_conflict");
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, ReadOneEvent) {
  seed("s", 3);
  Response response = get("/v1/streams/s/1");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.json["revision"], 1);
  EXPECT_EQ(response.json["stream"], "s");
  EXPECT_EQ(response.json["data"], Json({{"n", 1}}));
  EXPECT_EQ(response.header("ETag"), "\"2\"");
  response = get("/v1/streams/s/3");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.error(), "event_not_found");
  response = get("/v1/streams/nope/0");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.error(), "stream_not_found");
  response = get("/v1/streams/s/one");
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.error(), "bad_request");
}

TEST_P(ApiTest, ReadingAnAbsentStreamIs404) {
  const Response response = get("/v1/streams/nobody");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.error(), "stream_not_found");
  EXPECT_FALSE(response.json["message"].get<std::string>().empty());
}

TEST_P(ApiTest, EncodedStreamNamesAreDecoded) {
  ASSERT_EQ(post("/v1/streams/tenant%2F42%20x", R"({"type":"T","data":1})").status, 201u);
  EXPECT_TRUE(store().stream_info("tenant/42 x").ok());
  const Response response = get("/v1/streams/tenant%2F42%20x");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.json["events"][0]["stream"], "tenant/42 x");
}

TEST_P(ApiTest, SoftDeleteHidesTheStreamUntilItIsWrittenAgain) {
  seed("gone", 2);
  EXPECT_EQ(call("DELETE", "/v1/streams/nope").status, 404u);
  std::string before = fingerprint();
  Response response = call("DELETE", "/v1/streams/gone", {}, {{"If-Match", "\"0\""}});
  EXPECT_EQ(response.status, 409u);
  EXPECT_EQ(response.json["actual"], 1);
  EXPECT_EQ(fingerprint(), before);

  response = call("DELETE", "/v1/streams/gone", {}, {{"Expected-Revision", "1"}});
  EXPECT_EQ(response.status, 204u) << response.body;
  EXPECT_TRUE(response.body.empty());
  EXPECT_EQ(get("/v1/streams/gone").status, 404u);
  response = post("/v1/streams/gone", R"({"type":"T","data":1})", {{"If-None-Match", "*"}});
  EXPECT_EQ(response.status, 201u) << response.body;
  EXPECT_EQ(response.json["firstRevision"], 2);
  const Response page = get("/v1/streams/gone");
  ASSERT_EQ(page.json["events"].size(), 1u);
  EXPECT_EQ(page.json["events"][0]["revision"], 2);
}

TEST_P(ApiTest, TombstonedStreamsAreGoneForever) {
  seed("dead", 1);
  EXPECT_EQ(call("DELETE", "/v1/streams/dead?hard=maybe").status, 400u);
  Response response = call("DELETE", "/v1/streams/dead?hard=true");
  EXPECT_EQ(response.status, 204u) << response.body;
  const std::string before = fingerprint();
  response = post("/v1/streams/dead", R"({"type":"T","data":1})");
  EXPECT_EQ(response.status, 410u);
  EXPECT_EQ(response.error(), "stream_deleted");
  EXPECT_EQ(post("/v1/streams/dead", R"({"type":"T","data":1})", {{"If-None-Match", "*"}}).status, 410u);
  EXPECT_EQ(get("/v1/streams/dead").status, 410u);
  EXPECT_EQ(get("/v1/streams/dead/0").status, 410u);
  EXPECT_EQ(call("PUT", "/v1/streams/dead/metadata", R"({"maxCount":1})").status, 410u);
  EXPECT_EQ(get("/v1/subscriptions/streams/dead").status, 410u);
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, StreamMetadataRoundTrips) {
  seed("meta", 5);
  EXPECT_EQ(get("/v1/streams/nothing/metadata").status, 404u);
  Response response = get("/v1/streams/meta/metadata");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.json, Json::parse(R"({"stream":"meta","lastRevision":4,"deleted":false,"tombstoned":false,
      "maxCount":null,"maxAge":null,"truncateBefore":null,"custom":null})"));

  response = call("PUT", "/v1/streams/meta/metadata",
                  R"({"maxCount":2,"maxAge":86400,"truncateBefore":1,"custom":{"owner":"ops","n":[1,2]}})");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.json["maxCount"], 2);
  EXPECT_EQ(response.json["maxAge"], 86400);
  EXPECT_EQ(response.json["truncateBefore"], 1);
  EXPECT_EQ(response.json["custom"], Json::parse(R"({"owner":"ops","n":[1,2]})"));
  EXPECT_EQ(get("/v1/streams/meta/metadata").json, response.json);
  const Result<StreamInfo> info = store().stream_info("meta");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->metadata.max_count, 2u);
  EXPECT_EQ(info->metadata.max_age, std::chrono::seconds(86400));
  EXPECT_EQ(info->metadata.custom, R"({"owner":"ops","n":[1,2]})");

  const Response page = get("/v1/streams/meta");
  ASSERT_EQ(page.json["events"].size(), 2u);  // maxCount hides all but the newest two
  EXPECT_EQ(page.json["events"][0]["revision"], 3);

  // What GET answered may be sent back; nulls clear settings.
  Json cleared = response.json;
  cleared["maxCount"] = nullptr;
  response = call("PUT", "/v1/streams/meta/metadata", text(cleared));
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_TRUE(response.json["maxCount"].is_null());
  EXPECT_EQ(response.json["truncateBefore"], 1);

  const std::string before = fingerprint();
  for (const char* bad :
       {R"({"maxCount":-1})", R"({"maxCount":"2"})", R"({"custom":[1]})", R"({"colour":1})", "[]", "{"}) {
    response = call("PUT", "/v1/streams/meta/metadata", bad);
    EXPECT_EQ(response.status, 400u) << bad;
    EXPECT_EQ(response.error(), "bad_request") << bad;
  }
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, ListStreamsPagesByName) {
  seed("a-1", 1);
  seed("a-2", 3);
  seed("b-1", 2);
  Response response = get("/v1/streams?limit=2");
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.json, Json::parse(R"({"streams":[{"stream":"a-1","lastRevision":0},
      {"stream":"a-2","lastRevision":2}],"next":"a-2"})"));
  response = get("/v1/streams?limit=2&after=a-2");
  EXPECT_EQ(response.json, Json::parse(R"({"streams":[{"stream":"b-1","lastRevision":1}],"next":null})"));
  response = get("/v1/streams?prefix=a-");
  EXPECT_EQ(response.json["streams"].size(), 2u);
  EXPECT_TRUE(response.json["next"].is_null());
  response = get("/v1/streams?limit=3");
  EXPECT_EQ(response.json["streams"].size(), 3u);
  EXPECT_TRUE(response.json["next"].is_null());
  EXPECT_EQ(get("/v1/streams/").json, get("/v1/streams").json);
}

}  // namespace
}  // namespace evsrc_api_test
