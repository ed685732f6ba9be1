// The API suite: Api::handle() driven directly (no sockets) over a fresh
// memory: or file: store per test. TEST_P(ApiTest, ...) runs once per backend.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"
#include "server/api.h"
#include "server/api_keys.h"
#include "server/http_message.h"
#include "server/server_metrics.h"

namespace evsrc_api_test {

using namespace evsrc;          // NOLINT(google-build-using-namespace): test-only shorthand
using namespace evsrc::server;  // NOLINT(google-build-using-namespace)
using Json = nlohmann::ordered_json;
using Headers = std::vector<std::pair<std::string, std::string>>;

// What the API answered, with the body parsed when it is JSON.
struct Response {
  unsigned status = 0;
  HttpHeaders headers;
  std::string body;
  Json json;  // discarded when the body is not JSON
  std::unique_ptr<SseFeed> feed;

  std::string header(std::string_view name) const { return std::string(headers.get(name).value_or("")); }
  bool has_header(std::string_view name) const { return headers.get(name).has_value(); }
  // The "error" code of an error body ("" when absent).
  std::string error() const;
};

// gtest prints a Response as its status and body.
void PrintTo(const Response& response, std::ostream* out);

// One SSE frame as the feed wrote it.
struct SseFrame {
  std::string id;
  std::string event;
  std::string data;
};
std::vector<SseFrame> parse_sse_frames(std::string_view text);

class ApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;

  EventStore& store() { return *store_; }
  // Makes a new Api over the store (e.g. with keys); the context gets the
  // store, the metrics and `projections` filled in.
  void rebuild_api(ApiContext context);

  Response call(std::string method, std::string target, std::string body = {}, const Headers& headers = {});
  Response get(std::string target, const Headers& headers = {}) { return call("GET", std::move(target), {}, headers); }
  Response post(std::string target, std::string body, const Headers& headers = {}) {
    return call("POST", std::move(target), std::move(body), headers);
  }

  // Appends `count` events {"n":i} of type `type` through the store.
  AppendResult seed(const std::string& stream, std::size_t count, const std::string& type = "Seeded");

  // Everything observable about the store's content, as text: equal before
  // and after a request means the request wrote nothing.
  std::string fingerprint();

  // Reads the whole SSE feed until caught up.
  std::vector<SseFrame> drain(SseFeed& feed, std::size_t batch = 3);

  std::string directory_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::vector<ProjectionStatus> projections_;  // what the API reports as projections
  std::unique_ptr<Api> api_;
};

// A JSON body text from a JSON value.
inline std::string text(const Json& value) { return value.dump(); }

}  // namespace evsrc_api_test
