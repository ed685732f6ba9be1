// Health, metrics, statistics, projections and the console.
#include <algorithm>
#include <cstdlib>

#include "api/api_fixture.h"
#include "server/api_metrics.h"
#include "server/console_assets.h"

namespace evsrc_api_test {
namespace {

bool contains_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

ProjectionStatus projection_status(std::string name, ProjectionState state, std::optional<Position> position) {
  ProjectionStatus status;
  status.name = std::move(name);
  status.version = 2;
  status.state = state;
  status.position = position;
  status.lag_positions = 7;
  status.lag_seconds = 1.5;
  status.events_applied = 40;
  if (state == ProjectionState::failed) status.error = "sink: disk full";
  return status;
}

TEST_P(ApiTest, HealthAnswersWhileTheStoreIsOpen) {
  Response response = get("/health");
  EXPECT_EQ(response.status, 200u);
  EXPECT_EQ(response.json, Json::parse(R"({"status":"ok"})"));
  ASSERT_TRUE(store().close().ok());
  response = get("/health");
  EXPECT_EQ(response.status, 503u);
  EXPECT_EQ(response.error(), "unavailable");
  // Other requests on a closed store: 503 too.
  response = get("/v1/streams/s");
  EXPECT_EQ(response.status, 503u) << response.body;
  EXPECT_EQ(response.error(), "unavailable");
}

TEST_P(ApiTest, MetricsArePrometheusText) {
  projections_ = {projection_status("users", ProjectionState::caught_up, 41)};
  ASSERT_EQ(post("/v1/streams/m", R"([{"type":"T","data":{"a":1}},{"type":"T","data":"xy"}])").status, 201u);
  ASSERT_EQ(post("/v1/streams/m", "[]", {{"If-Match", "\"0\""}}).status, 409u);
  ASSERT_EQ(get("/v1/streams/m").status, 200u);
  const Response response = get("/metrics");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& body = response.body;
  EXPECT_TRUE(contains_line(body, "# TYPE evsrc_appends_total counter")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_appends_total 1")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_appended_events_total 2")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_appended_bytes_total 9")) << body;  // {"a":1} + xy
  EXPECT_TRUE(contains_line(body, "evsrc_append_conflicts_total 1")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_read_events_total 2")) << body;
  // The transport counts requests and responses; the Api leaves them alone.
  EXPECT_TRUE(contains_line(body, "evsrc_http_requests_total 0")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_http_responses_total{class=\"4xx\"} 0")) << body;
  EXPECT_TRUE(contains_line(body, "# TYPE evsrc_append_latency_seconds histogram")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_append_latency_seconds_bucket{le=\"+Inf\"} 2")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_append_latency_seconds_count 2")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_read_latency_seconds_count 1")) << body;
  EXPECT_NE(body.find("evsrc_append_latency_seconds_bucket{le=\"0.0001\"} "), std::string::npos) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_store_events 2")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_store_streams 1")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_subscriptions_open 0")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_projection_lag_positions{projection=\"users\"} 7")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_projection_lag_seconds{projection=\"users\"} 1.5")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_projection_position{projection=\"users\"} 41")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_projection_state{projection=\"users\",state=\"caught_up\"} 1")) << body;
  EXPECT_TRUE(contains_line(body, "evsrc_projection_state{projection=\"users\",state=\"failed\"} 0")) << body;
  // Every sample line is "name[{labels}] value".
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t end = body.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the exposition ends with a newline";
    const std::string line = body.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    const std::size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    EXPECT_TRUE(line.starts_with("evsrc_")) << line;
    char* parsed_end = nullptr;
    const std::string value = line.substr(space + 1);
    std::strtod(value.c_str(), &parsed_end);
    EXPECT_EQ(*parsed_end, '\0') << line;
  }
}

TEST(LatencyHistogram, EstimatesQuantilesFromBuckets) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.quantile(0.5), 0.0);
  for (int i = 0; i < 90; ++i) histogram.record(0.0003);  // (0.00025, 0.0005]
  for (int i = 0; i < 10; ++i) histogram.record(0.02);    // (0.01, 0.025]
  EXPECT_EQ(histogram.count(), 100u);
  const double p50 = histogram.quantile(0.5);
  EXPECT_GT(p50, 0.00025);
  EXPECT_LE(p50, 0.0005);
  const double p99 = histogram.quantile(0.99);
  EXPECT_GT(p99, 0.01);
  EXPECT_LE(p99, 0.025);
  histogram.record(100);  // beyond the last bound
  EXPECT_EQ(histogram.quantile(1.0), 10.0);
  histogram.record(-1);  // clock went backwards: counted as 0
  std::string out;
  histogram.write(out, "x_seconds", "op=\"append\"");
  EXPECT_NE(out.find("x_seconds_bucket{op=\"append\",le=\"0.0001\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{op=\"append\",le=\"0.0005\"} 91\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{op=\"append\",le=\"10\"} 101\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{op=\"append\",le=\"+Inf\"} 102\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_count{op=\"append\"} 102\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_sum{op=\"append\"} 100.227\n"), std::string::npos) << out;
}

TEST(RenderPrometheus, LeavesOutWhatItDoesNotKnow) {
  ServerMetrics metrics;
  const std::string text = render_prometheus(metrics, nullptr, {});
  EXPECT_EQ(text.find("evsrc_store_events"), std::string::npos);
  EXPECT_EQ(text.find("evsrc_projection"), std::string::npos);
  EXPECT_NE(text.find("evsrc_appends_total 0\n"), std::string::npos);
}

TEST_P(ApiTest, StatsForTheConsole) {
  ASSERT_EQ(post("/v1/streams/s", R"([{"type":"T","data":1}])").status, 201u);
  const Response response = get("/v1/stats");
  ASSERT_EQ(response.status, 200u) << response.body;
  const Json& stats = response.json;
  EXPECT_EQ(stats["events"], 1);
  EXPECT_EQ(stats["streams"], 1);
  EXPECT_TRUE(stats["bytes"].is_number_unsigned());
  EXPECT_TRUE(stats["segments"].is_number_unsigned());
  EXPECT_TRUE(stats["lastPosition"].is_number_unsigned());
  EXPECT_TRUE(stats["time"].is_string());
  EXPECT_EQ(stats["appends"], 1);
  EXPECT_EQ(stats["appendedEvents"], 1);
  EXPECT_EQ(stats["requests"], 0);  // counted by the transport
  EXPECT_EQ(stats["appendLatency"]["count"], 1);
  EXPECT_TRUE(stats["appendLatency"]["p50"].is_number());
  EXPECT_TRUE(stats["appendLatency"]["p99"].is_number());
  EXPECT_EQ(stats["readLatency"]["count"], 0);
}

TEST_P(ApiTest, ProjectionStatus) {
  Response response = get("/v1/projections");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.json, Json::parse(R"({"projections":[]})"));
  projections_ = {projection_status("users", ProjectionState::running, 12),
                  projection_status("orders", ProjectionState::failed, std::nullopt)};
  response = get("/v1/projections");
  ASSERT_EQ(response.json["projections"].size(), 2u);
  EXPECT_EQ(response.json["projections"][0], Json::parse(R"({"name":"users","version":2,"state":"running",
      "position":12,"lagPositions":7,"lagSeconds":1.5,"eventsApplied":40,"error":null})"));
  response = get("/v1/projections/orders");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.json["state"], "failed");
  EXPECT_TRUE(response.json["position"].is_null());
  EXPECT_EQ(response.json["error"], "sink: disk full");
  response = get("/v1/projections/nothing");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.error(), "projection_not_found");
}

TEST_P(ApiTest, ConsoleIsServedFromTheEmbeddedAssets) {
  Response response = get("/console");
  EXPECT_EQ(response.status, 302u);
  EXPECT_EQ(response.header("Location"), "/console/");
  const auto assets = console_assets();
  const auto index =
      std::find_if(assets.begin(), assets.end(), [](const ConsoleAsset& a) { return a.name == "index.html"; });
  ASSERT_NE(index, assets.end());
  response = get("/console/");
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(response.body, index->bytes);
  for (const ConsoleAsset& asset : assets) {
    response = get("/console/" + std::string(asset.name));
    EXPECT_EQ(response.status, 200u) << asset.name;
    EXPECT_EQ(response.header("Content-Type"), asset.content_type);
    EXPECT_EQ(response.body, asset.bytes);
  }
  response = get("/console/missing.js");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.error(), "not_found");
  EXPECT_EQ(call("POST", "/console/").status, 405u);
}

}  // namespace
}  // namespace evsrc_api_test
