// API keys: 401 without a valid key, 403 without the role or the stream
// prefix, nothing written either way.
#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

class ApiAuthTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    keys_ = std::make_unique<ApiKeyFile>(directory_ + "/api-keys.json");
    ASSERT_TRUE(keys_->load().ok());
    admin_ = add("admin", Role::admin, {});
    writer_ = add("writer", Role::writer, {});
    reader_ = add("reader", Role::reader, {});
    user_writer_ = add("user writer", Role::writer, {"user-"});
    user_reader_ = add("user reader", Role::reader, {"user-"});
    ApiContext context;
    context.keys = keys_.get();
    rebuild_api(context);
  }

  std::string add(std::string name, Role role, std::vector<std::string> prefixes) {
    Result<std::string> key = keys_->add(std::move(name), role, std::move(prefixes));
    EXPECT_TRUE(key.ok()) << key.status().to_string();
    return key.ok() ? *key : "";
  }

  static Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  std::unique_ptr<ApiKeyFile> keys_;
  std::string admin_, writer_, reader_, user_writer_, user_reader_;
};

const char kEvent[] = R"({"type":"T","data":1})";

TEST_P(ApiAuthTest, RequestsWithoutAValidKeyAre401) {
  seed("s", 1);
  const std::string before = fingerprint();
  for (const Headers& headers :
       {Headers{}, bearer("evk_000000000000_" + std::string(43, 'A')), Headers{{"Authorization", "Basic abc"}},
        Headers{{"Authorization", "Bearer"}}, Headers{{"Authorization", admin_}}}) {
    for (const auto& [method, target] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/streams/s"},
                                                          {"POST", "/v1/streams/s"},
                                                          {"GET", "/v1/all"},
                                                          {"GET", "/metrics"},
                                                          {"GET", "/v1/stats"},
                                                          {"GET", "/v1/subscriptions/all"},
                                                          {"DELETE", "/v1/streams/s?hard=true"},
                                                          {"POST", "/v1/transactions"},
                                                          {"GET", "/v1/projections"}}) {
      const Response response = call(method, target, kEvent, headers);
      EXPECT_EQ(response.status, 401u) << method << " " << target;
      EXPECT_EQ(response.error(), "unauthenticated");
      EXPECT_EQ(response.header("WWW-Authenticate").rfind("Bearer", 0), 0u);
      EXPECT_EQ(response.feed, nullptr);
    }
  }
  EXPECT_EQ(fingerprint(), before);
}

TEST_P(ApiAuthTest, HealthAndConsoleNeedNoKey) {
  EXPECT_EQ(get("/health").status, 200u);
  EXPECT_EQ(get("/console").status, 302u);
  EXPECT_EQ(get("/console/").status, 200u);
  EXPECT_EQ(get("/metrics").status, 401u);
  EXPECT_EQ(get("/metrics", bearer(reader_)).status, 200u);
}

TEST_P(ApiAuthTest, RolesNest) {
  seed("s", 1);
  // reader: every GET, no write.
  EXPECT_EQ(get("/v1/streams/s", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/all", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/streams", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/streams/s/metadata", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/stats", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/projections", bearer(reader_)).status, 200u);
  EXPECT_EQ(get("/v1/subscriptions/all", bearer(reader_)).status, 200u);
  const std::string before = fingerprint();
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/v1/streams/s"},
                                                        {"DELETE", "/v1/streams/s"},
                                                        {"PUT", "/v1/streams/s/metadata"},
                                                        {"POST", "/v1/transactions"}}) {
    const Response response = call(method, target, "{}", bearer(reader_));
    EXPECT_EQ(response.status, 403u) << method << " " << target << " " << response.body;
    EXPECT_EQ(response.error(), "forbidden");
  }
  // writer: appends, transactions, metadata, soft delete; no tombstone.
  Response response = call("DELETE", "/v1/streams/s?hard=true", {}, bearer(writer_));
  EXPECT_EQ(response.status, 403u);
  EXPECT_EQ(fingerprint(), before);
  EXPECT_EQ(post("/v1/streams/s", kEvent, bearer(writer_)).status, 201u);
  EXPECT_EQ(post("/v1/transactions", R"({"parts":[{"stream":"t","events":[{"type":"T","data":1}]}]})", bearer(writer_))
                .status,
            201u);
  EXPECT_EQ(call("PUT", "/v1/streams/s/metadata", "{}", bearer(writer_)).status, 200u);
  EXPECT_EQ(call("DELETE", "/v1/streams/t", {}, bearer(writer_)).status, 204u);
  // admin: tombstones too.
  EXPECT_EQ(call("DELETE", "/v1/streams/s?hard=true", {}, bearer(admin_)).status, 204u);
  EXPECT_EQ(post("/v1/streams/s", kEvent, bearer(admin_)).status, 410u);
}

TEST_P(ApiAuthTest, PrefixKeysOnlyTouchTheirStreams) {
  seed("user-1", 1);
  seed("order-1", 1);
  const std::string before = fingerprint();
  EXPECT_EQ(post("/v1/streams/order-1", kEvent, bearer(user_writer_)).status, 403u);
  EXPECT_EQ(get("/v1/streams/order-1", bearer(user_reader_)).status, 403u);
  EXPECT_EQ(get("/v1/streams/order-1/0", bearer(user_reader_)).status, 403u);
  EXPECT_EQ(get("/v1/streams/order-1/metadata", bearer(user_reader_)).status, 403u);
  EXPECT_EQ(call("DELETE", "/v1/streams/order-1", {}, bearer(user_writer_)).status, 403u);
  EXPECT_EQ(get("/v1/subscriptions/streams/order-1", bearer(user_reader_)).status, 403u);
  Response response = post("/v1/transactions",
                           R"({"parts":[{"stream":"user-1","events":[{"type":"T","data":1}]},)"
                           R"({"stream":"order-1","events":[{"type":"T","data":1}]}]})",
                           bearer(user_writer_));
  EXPECT_EQ(response.status, 403u) << response.body;
  EXPECT_EQ(response.json["part"], 1);
  EXPECT_EQ(fingerprint(), before);

  EXPECT_EQ(post("/v1/streams/user-2", kEvent, bearer(user_writer_)).status, 201u);
  EXPECT_EQ(get("/v1/streams/user-1", bearer(user_reader_)).status, 200u);
  EXPECT_EQ(get("/v1/subscriptions/streams/user-1", bearer(user_reader_)).status, 200u);

  // $all, its subscription and stream lists: only with a prefix the key may read.
  for (const std::string path : {"/v1/all", "/v1/subscriptions/all", "/v1/streams"}) {
    EXPECT_EQ(get(path, bearer(user_reader_)).status, 403u) << path;
    EXPECT_EQ(get(path + "?prefix=us", bearer(user_reader_)).status, 403u) << path;
    EXPECT_EQ(get(path + "?prefix=order-", bearer(user_reader_)).status, 403u) << path;
    EXPECT_EQ(get(path + "?prefix=user-", bearer(user_reader_)).status, 200u) << path;
    EXPECT_EQ(get(path + "?prefix=user-1", bearer(user_reader_)).status, 200u) << path;
    EXPECT_EQ(get(path, bearer(reader_)).status, 200u) << path;
  }
  response = get("/v1/all?prefix=user-", bearer(user_reader_));
  for (const Json& event : response.json["events"])
    EXPECT_TRUE(event["stream"].get<std::string>().starts_with("user-"));
}

TEST_P(ApiAuthTest, RevokedKeysStopWorking) {
  EXPECT_EQ(get("/v1/all", bearer(reader_)).status, 200u);
  const std::string id = reader_.substr(4, 12);
  ASSERT_TRUE(keys_->revoke(id).ok());
  EXPECT_EQ(get("/v1/all", bearer(reader_)).status, 401u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiAuthTest, ::testing::Values("memory", "file"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace evsrc_api_test
