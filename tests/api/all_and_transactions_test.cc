// $all reads and multi-stream transactions through the API.
#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

std::vector<std::uint64_t> positions_of(const Json& page) {
  std::vector<std::uint64_t> positions;
  for (const Json& event : page["events"]) positions.push_back(event["position"]);
  return positions;
}

TEST_P(ApiTest, ReadAllPagesForwardAndBackward) {
  seed("user-1", 2, "Registered");
  seed("order-1", 2, "Placed");
  seed("user-2", 1, "Registered");
  std::vector<std::uint64_t> all;
  {
    AllReadOptions options;
    Result<AllPage> page = store().read_all(options);
    ASSERT_TRUE(page.ok());
    for (const RecordedEvent& event : page.value().events) all.push_back(event.position);
  }
  ASSERT_EQ(all.size(), 5u);

  Response page = get("/v1/all?limit=2");
  ASSERT_EQ(page.status, 200u) << page.body;
  EXPECT_EQ(positions_of(page.json), (std::vector<std::uint64_t>{all[0], all[1]}));
  EXPECT_EQ(page.json["next"], all[1] + 1);
  page = get("/v1/all?limit=2&from=" + std::to_string(page.json["next"].get<std::uint64_t>()));
  EXPECT_EQ(positions_of(page.json), (std::vector<std::uint64_t>{all[2], all[3]}));
  page = get("/v1/all?limit=2&from=" + std::to_string(page.json["next"].get<std::uint64_t>()));
  EXPECT_EQ(positions_of(page.json), (std::vector<std::uint64_t>{all[4]}));
  EXPECT_TRUE(page.json["next"].is_null());
  // from is inclusive.
  page = get("/v1/all?from=" + std::to_string(all[3]));
  EXPECT_EQ(positions_of(page.json), (std::vector<std::uint64_t>{all[3], all[4]}));

  page = get("/v1/all?direction=backward&limit=3");
  EXPECT_EQ(positions_of(page.json), (std::vector<std::uint64_t>{all[4], all[3], all[2]}));
  EXPECT_EQ(page.json["next"], all[2] - 1);
  EXPECT_EQ(page.json["events"][0]["stream"], "user-2");
}

TEST_P(ApiTest, ReadAllFilters) {
  seed("user-1", 2, "Registered");
  seed("order-1", 2, "Placed");
  seed("user-2", 1, "Renamed");
  Response page = get("/v1/all?prefix=user-");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.json["events"].size(), 3u);
  page = get("/v1/all?type=Placed");
  ASSERT_EQ(page.json["events"].size(), 2u);
  EXPECT_EQ(page.json["events"][0]["stream"], "order-1");
  page = get("/v1/all?prefix=user-&type=Renamed");
  ASSERT_EQ(page.json["events"].size(), 1u);
  EXPECT_EQ(page.json["events"][0]["stream"], "user-2");
  page = get("/v1/all?category=order");
  EXPECT_EQ(page.json["events"].size(), 2u);
  page = get("/v1/all?prefix=nobody");
  EXPECT_EQ(page.json["events"].size(), 0u);
  EXPECT_TRUE(page.json["next"].is_null());
  EXPECT_EQ(metrics_->read_events.load(), 8u);
}

TEST_P(ApiTest, ReadAllOnAnEmptyStore) {
  const Response page = get("/v1/all");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.json, Json::parse(R"({"events":[],"next":null})"));
}

TEST_P(ApiTest, TransactionCommitsEveryPart) {
  seed("account-1", 1);
  const Json body = {
      {"parts",
       {{{"stream", "account-1"}, {"expected", 0}, {"events", {{{"type", "Debited"}, {"data", {{"n", 5}}}}}}},
        {{"stream", "account-2"},
         {"expected", "no-stream"},
         {"events", {{{"type", "Credited"}, {"data", 5}}, {{"type", "Noted"}, {"data", "x"}}}}},
        {{"stream", "limits"}, {"expected", "no-stream"}}}}};
  const Response response = post("/v1/transactions", text(body));
  ASSERT_EQ(response.status, 201u) << response.body;
  const Json& parts = response.json["parts"];
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]["stream"], "account-1");
  EXPECT_EQ(parts[0]["firstRevision"], 1);
  EXPECT_EQ(parts[0]["lastRevision"], 1);
  EXPECT_EQ(parts[1]["firstRevision"], 0);
  EXPECT_EQ(parts[1]["lastRevision"], 1);
  EXPECT_TRUE(parts[2]["firstRevision"].is_null());  // a condition on an absent stream
  EXPECT_TRUE(parts[2]["lastRevision"].is_null());
  EXPECT_EQ(response.json["position"], parts[1]["position"]);
  EXPECT_EQ(get("/v1/streams/account-2").json["events"].size(), 2u);
  EXPECT_EQ(metrics_->appended_events.load(), 3u);

  // Idempotent retry of the whole transaction.
  const Response first =
      post("/v1/transactions", R"({"parts":[{"stream":"t","events":[{"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301",)"
                               R"("type":"T","data":1}]}]})");
  ASSERT_EQ(first.status, 201u) << first.body;
  const std::string before = fingerprint();
  const Response again =
      post("/v1/transactions", R"({"parts":[{"stream":"t","events":[{"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301",)"
                               R"("type":"T","data":1}]}]})");
  EXPECT_EQ(again.status, 201u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, TransactionOfConditionsOnlyWritesNothing) {
  seed("a", 2);
  const std::string before = fingerprint();
  const Response response =
      post("/v1/transactions", R"({"parts":[{"stream":"a","expected":"1"},{"stream":"b","expected":"no-stream"}]})");
  EXPECT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.json["parts"][0]["lastRevision"], 1);
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiTest, FailingTransactionNamesThePartAndWritesNothing) {
  seed("a", 1);
  seed("b", 3);
  const std::string before = fingerprint();
  Response response = post("/v1/transactions", R"({"parts":[
      {"stream":"a","expected":0,"events":[{"type":"T","data":1}]},
      {"stream":"b","expected":1,"events":[{"type":"T","data":2}]}]})");
  EXPECT_EQ(response.status, 409u) << response.body;
  EXPECT_EQ(response.error(), "wrong_expected_revision");
  EXPECT_EQ(response.json["part"], 1);
  EXPECT_EQ(response.json["stream"], "b");
  EXPECT_EQ(response.json["actual"], 2);
  EXPECT_EQ(response.header("ETag"), "\"2\"");
  EXPECT_EQ(fingerprint(), before);

  // A lone failing part is named too (the store only numbers parts when
  // there are several).
  response = post("/v1/transactions", R"({"parts":[{"stream":"b","expected":0,"events":[{"type":"T","data":2}]}]})");
  EXPECT_EQ(response.status, 409u) << response.body;
  EXPECT_EQ(response.json["part"], 0);
  EXPECT_EQ(response.json["stream"], "b");
  EXPECT_EQ(fingerprint(), before);

  response = post("/v1/transactions", R"({"parts":[
      {"stream":"a","events":[{"type":"T","data":1}]},
      {"stream":"c","expected":"exists"}]})");
  EXPECT_EQ(response.status, 409u) << response.body;
  EXPECT_EQ(response.json["part"], 1);
  EXPECT_TRUE(response.json["actual"].is_null());
  EXPECT_EQ(fingerprint(), before);

  ASSERT_TRUE(store().tombstone_stream("b", ExpectedRevision::any()).ok());
  const std::string tombstoned = fingerprint();
  response = post("/v1/transactions", R"({"parts":[
      {"stream":"a","events":[{"type":"T","data":1}]},
      {"stream":"b","events":[{"type":"T","data":1}]}]})");
  EXPECT_EQ(response.status, 410u) << response.body;
  EXPECT_EQ(response.error(), "stream_deleted");
  EXPECT_EQ(response.json["part"], 1);
  EXPECT_EQ(fingerprint(), tombstoned);
}

TEST_P(ApiTest, BadTransactionsAreRejectedBeforeAnythingIsWritten) {
  seed("a", 1);
  const std::string before = fingerprint();
  struct Case {
    const char* body;
    unsigned status;
    const char* error;
    int part;  // -1: no "part" member
  };
  const Case cases[] = {
      {R"({"parts":[]})", 400, "bad_request", -1},
      {R"({})", 400, "bad_request", -1},
      {R"([])", 400, "bad_request", -1},
      {R"({"parts":[],"extra":1})", 400, "bad_request", -1},
      {R"({"parts":{}})", 400, "bad_request", -1},
      {R"({"parts":[{"stream":"a","events":[{"type":"T","data":1}]},{"stream":"$bad"}]})", 400, "invalid_stream_name",
       1},
      {R"({"parts":[{"stream":"a","events":[{"type":"T","data":1}]},{"expected":"any"}]})", 400, "invalid_stream_name",
       1},
      {R"({"parts":[{"stream":"a","events":[{"type":"T","data":1}]},{"stream":"b","expected":"later"}]})", 400,
       "invalid_expected_revision", 1},
      {R"({"parts":[{"stream":"a","expected":-1}]})", 400, "invalid_expected_revision", 0},
      {R"({"parts":[{"stream":"a","events":[{"type":"T","data":1}]},{"stream":"b","events":[{"data":1}]}]})", 400,
       "invalid_event", 1},
      {R"({"parts":[{"stream":"a","events":{"type":"T","data":1}}]})", 400, "invalid_event", 0},
      {R"({"parts":[{"stream":"a","events":[{"type":"T","data":1}]},{"stream":"a","events":[{"type":"T","data":1}]}]})",
       400, "bad_request", 1},
      {R"({"parts":[{"stream":"a","colour":"red"}]})", 400, "bad_request", 0},
      {R"({"parts":[7]})", 400, "bad_request", 0},
  };
  for (const Case& c : cases) {
    const Response response = post("/v1/transactions", c.body);
    EXPECT_EQ(response.status, c.status) << c.body << " -> " << response.body;
    EXPECT_EQ(response.error(), c.error) << c.body << " -> " << response.body;
    if (c.part >= 0) {
      EXPECT_EQ(response.json["part"], c.part) << c.body << " -> " << response.body;
    } else {
      EXPECT_FALSE(response.json.contains("part")) << c.body << " -> " << response.body;
    }
  }
  EXPECT_EQ(fingerprint(), before);
}

}  // namespace
}  // namespace evsrc_api_test
