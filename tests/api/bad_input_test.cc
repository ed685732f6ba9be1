// Bad requests: each answers its status and stable code, and writes nothing.
#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

struct BadRequest {
  std::string method;
  std::string target;
  std::string body;
  Headers headers;
  unsigned status;
  std::string error;
};

void PrintTo(const BadRequest& request, std::ostream* out) {
  *out << request.method << " " << request.target << " " << request.body.substr(0, 200);
}

std::vector<BadRequest> bad_requests() {
  const std::string event = R"({"type":"T","data":1})";
  std::vector<BadRequest> cases = {
      // Malformed or non-UTF-8 JSON.
      {"POST", "/v1/streams/s", "[{\"type\":\"T\",\"data\":1}", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[] []", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[{\"type\":\"T\",\"data\":1,}]", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[{\"type\":\"T\",\"data\":\"\xff\xfe\"}]", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[{\"type\":\"T\xc3\",\"data\":1}]", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[{\"type\":\"T\",\"data\":{\"k\xed\xa0\x80\":1}}]", {}, 400, "bad_request"},
      {"POST", "/v1/streams/s", "[{\"type\":\"T\",\"data\":1} /* comment */]", {}, 400, "bad_request"},
      {"POST",
       "/v1/streams/s",
       "[{\"type\":\"T\",\"data\":" + std::string(600, '[') + std::string(600, ']') + "}]",
       {},
       400,
       "bad_request"},
      {"PUT", "/v1/streams/s/metadata", "{\"maxCount\":", {}, 400, "bad_request"},
      {"POST", "/v1/transactions", "{\"parts\":[", {}, 400, "bad_request"},
      // Events.
      {"POST", "/v1/streams/s", "42", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", "[42]", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"data":1}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"","data":1}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":7,"data":1}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", "[{\"type\":\"" + std::string(256, 't') + "\",\"data\":1}]", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T"}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T","data":1,"metadata":[1]}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T","data":1,"metadata":"text"}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T","data":1,"id":"not-a-uuid"}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T","data":1,"id":42}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", R"([{"type":"T","data":1,"colour":"red"}])", {}, 400, "invalid_event"},
      {"POST", "/v1/streams/s", "[" + event + R"(,{"type":"T"}])", {}, 400, "invalid_event"},
      {"POST",
       "/v1/streams/s",
       R"([{"type":"T","data":1,"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301"},)"
       R"({"type":"T","data":2,"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301"}])",
       {},
       400,
       "bad_request"},
      // Stream names.
      {"POST", "/v1/streams/%24all", event, {}, 400, "invalid_stream_name"},
      {"POST", "/v1/streams/a%00b", event, {}, 400, "invalid_stream_name"},
      {"POST", "/v1/streams/%FF", event, {}, 400, "invalid_stream_name"},
      {"POST", "/v1/streams/" + std::string(1025, 'n'), event, {}, 400, "invalid_stream_name"},
      {"GET", "/v1/streams/%24all", "", {}, 400, "invalid_stream_name"},
      {"DELETE", "/v1/streams/%24all", "", {}, 400, "invalid_stream_name"},
      {"PUT", "/v1/streams/%24x/metadata", "{}", {}, 400, "invalid_stream_name"},
      {"GET", "/v1/subscriptions/streams/%24x", "", {}, 400, "invalid_stream_name"},
      {"POST", "/v1/streams/a%zzb", event, {}, 400, "bad_request"},
      // Expectations.
      {"POST", "/v1/streams/s", event, {{"Expected-Revision", "maybe"}}, 400, "invalid_expected_revision"},
      {"POST", "/v1/streams/s", event, {{"Expected-Revision", "-1"}}, 400, "invalid_expected_revision"},
      {"POST", "/v1/streams/s", event, {{"Expected-Revision", ""}}, 400, "invalid_expected_revision"},
      {"POST", "/v1/streams/s", event, {{"If-Match", "\"abc\""}}, 400, "invalid_expected_revision"},
      {"POST", "/v1/streams/s", event, {{"If-Match", "\"1\", \"2\""}}, 400, "invalid_expected_revision"},
      {"POST", "/v1/streams/s", event, {{"If-None-Match", "\"3\""}}, 400, "invalid_expected_revision"},
      {"POST",
       "/v1/streams/s",
       event,
       {{"If-Match", "\"0\""}, {"Expected-Revision", "0"}},
       400,
       "invalid_expected_revision"},
      {"DELETE", "/v1/streams/s", "", {{"Expected-Revision", "soon"}}, 400, "invalid_expected_revision"},
      // Query parameters.
      {"GET", "/v1/streams/s?limit=0", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?limit=10001", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?limit=ten", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?limit=-5", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?from=-1", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?from=1.5", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?from=99999999999999999999999", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams/s?direction=sideways", "", {}, 400, "bad_request"},
      {"GET", "/v1/all?limit=100000", "", {}, 400, "bad_request"},
      {"GET", "/v1/all?from=x", "", {}, 400, "bad_request"},
      {"GET", "/v1/all?direction=up", "", {}, 400, "bad_request"},
      {"GET", "/v1/streams?limit=0", "", {}, 400, "bad_request"},
      {"GET", "/v1/subscriptions/all?from=soon", "", {}, 400, "bad_request"},
      {"GET", "/v1/subscriptions/all", "", {{"Last-Event-ID", "abc"}}, 400, "bad_request"},
      {"GET", "/v1/subscriptions/streams/s?from=-2", "", {}, 400, "bad_request"},
      {"DELETE", "/v1/streams/s?hard=yes", "", {}, 400, "bad_request"},
      // Unknown paths and methods.
      {"GET", "/v2/streams/s", "", {}, 404, "not_found"},
      {"GET", "/v1/nothing", "", {}, 404, "not_found"},
      {"GET", "/v1/streams/s/0/extra", "", {}, 404, "not_found"},
      {"POST", "/v1/streams/s/0/extra", event, {}, 404, "not_found"},
      {"GET", "/", "", {}, 404, "not_found"},
      {"PUT", "/v1/streams/s", event, {}, 405, "method_not_allowed"},
      {"PATCH", "/v1/streams/s", event, {}, 405, "method_not_allowed"},
      {"POST", "/v1/all", event, {}, 405, "method_not_allowed"},
      {"GET", "/v1/transactions", "", {}, 405, "method_not_allowed"},
      {"POST", "/v1/streams/s/metadata", "{}", {}, 405, "method_not_allowed"},
      {"DELETE", "/v1/streams/s/0", "", {}, 405, "method_not_allowed"},
      {"POST", "/health", "", {}, 405, "method_not_allowed"},
  };
  return cases;
}

TEST_P(ApiTest, BadRequestsAnswerTheirCodeAndWriteNothing) {
  seed("s", 2);
  seed("other", 1);
  const std::string before = fingerprint();
  for (const BadRequest& bad : bad_requests()) {
    const Response response = call(bad.method, bad.target, bad.body, bad.headers);
    EXPECT_EQ(response.status, bad.status) << ::testing::PrintToString(bad) << " -> " << response.body;
    EXPECT_EQ(response.error(), bad.error) << ::testing::PrintToString(bad) << " -> " << response.body;
    EXPECT_FALSE(response.json["message"].get<std::string>().empty()) << ::testing::PrintToString(bad);
    EXPECT_EQ(response.header("Content-Type"), "application/json");
    EXPECT_EQ(fingerprint(), before) << ::testing::PrintToString(bad);
  }
  EXPECT_EQ(metrics_->appends.load(), 0u);
}

TEST_P(ApiTest, WrongMethodListsTheAllowedOnes) {
  Response response = call("PUT", "/v1/streams/s", "[]");
  EXPECT_EQ(response.status, 405u);
  EXPECT_EQ(response.header("Allow"), "GET, POST, DELETE");
  response = call("DELETE", "/v1/streams/s/metadata");
  EXPECT_EQ(response.header("Allow"), "GET, PUT");
  response = call("GET", "/v1/transactions");
  EXPECT_EQ(response.header("Allow"), "POST");
}

TEST_P(ApiTest, OversizedEventsAre413AndWriteNothing) {
  ApiContext context;
  context.limits.max_event_bytes = 1000;
  rebuild_api(context);
  seed("s", 1);
  const std::string before = fingerprint();
  const std::string big_data = "\"" + std::string(1001, 'x') + "\"";
  Response response = post("/v1/streams/s", R"([{"type":"T","data":"small"},{"type":"T","data":)" + big_data + "}]");
  EXPECT_EQ(response.status, 413u) << response.body;
  EXPECT_EQ(response.error(), "too_large");
  EXPECT_EQ(response.json["event"], 1);
  // data + metadata together count.
  const std::string half = "\"" + std::string(600, 'x') + "\"";
  response = post("/v1/streams/s", R"({"type":"T","data":)" + half + R"(,"metadata":{"m":)" + half + "}}");
  EXPECT_EQ(response.status, 413u) << response.body;
  response = post("/v1/transactions", R"({"parts":[{"stream":"s","events":[{"type":"T","data":)" + big_data + "}]}]}");
  EXPECT_EQ(response.status, 413u) << response.body;
  EXPECT_EQ(response.json["part"], 0);
  EXPECT_EQ(fingerprint(), before);
  // At the limit is fine.
  response = post("/v1/streams/s", R"({"type":"T","data":")" + std::string(1000, 'x') + "\"}");
  EXPECT_EQ(response.status, 201u) << response.body;
}

}  // namespace
}  // namespace evsrc_api_test
