// docs/api/openapi.yaml and the router agree: every path and method listed
// there is routed, every other method of a listed path is 405, and paths
// not listed are 404.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "api/api_fixture.h"

namespace evsrc_api_test {
namespace {

// The path -> methods map of the document's `paths:` section. The file is
// block-style YAML: paths at indent 2, their operations at indent 4.
std::map<std::string, std::set<std::string>> openapi_operations() {
  std::ifstream file(std::string(EVSRC_SOURCE_DIR) + "/docs/api/openapi.yaml");
  EXPECT_TRUE(file.good()) << "cannot open docs/api/openapi.yaml";
  std::map<std::string, std::set<std::string>> operations;
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  bool in_paths = false;
  std::string path;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') {
      in_paths = line == "paths:";
      continue;
    }
    if (!in_paths) continue;
    if (line.starts_with("  /") && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      operations[path];
    } else if (line.starts_with("    ") && line[4] != ' ' && line.back() == ':') {
      const std::string key = line.substr(4, line.size() - 5);
      if (kMethods.contains(key)) {
        std::string method = key;
        std::transform(method.begin(), method.end(), method.begin(), [](char c) { return c - 'a' + 'A'; });
        operations[path].insert(method);
      }
    }
  }
  return operations;
}

std::string concrete(std::string path, const std::string& stream = "doc-stream") {
  const std::map<std::string, std::string> values = {
      {"{stream}", stream}, {"{revision}", "0"}, {"{name}", "users"}, {"{asset}", "index.html"}};
  for (const auto& [parameter, value] : values) {
    for (std::size_t at = path.find(parameter); at != std::string::npos; at = path.find(parameter)) {
      path.replace(at, parameter.size(), value);
    }
  }
  return path;
}

std::string body_for(const std::string& method, const std::string& path) {
  if (path == "/v1/transactions") return R"({"parts":[{"stream":"doc-other","events":[{"type":"T","data":1}]}]})";
  if (method == "POST") return R"({"type":"T","data":1})";
  if (method == "PUT") return "{}";
  return "";
}

TEST_P(ApiTest, EveryDocumentedOperationIsRouted) {
  ProjectionStatus users;
  users.name = "users";
  projections_ = {users};
  const auto operations = openapi_operations();
  ASSERT_GE(operations.size(), 14u);
  std::size_t checked = 0;
  for (const auto& [path, methods] : operations) {
    EXPECT_FALSE(methods.empty()) << path;
    for (const std::string& method : methods) {
      // A fresh stream each time: a DELETE must not hide the next GET's stream.
      const std::string stream = "doc-stream-" + std::to_string(checked);
      seed(stream, 2);
      const Response response = call(method, concrete(path, stream), body_for(method, path));
      EXPECT_NE(response.status, 405u) << method << " " << path << " -> " << response.body;
      EXPECT_FALSE(response.status == 404 && response.error() == "not_found")
          << method << " " << path << " -> " << response.body;
      EXPECT_LT(response.status, 400u) << method << " " << path << " -> " << response.body;
      ++checked;
    }
  }
  EXPECT_GE(checked, 19u);
}

TEST_P(ApiTest, UndocumentedMethodsAre405WithTheDocumentedAllow) {
  seed("doc-stream", 1);
  for (const auto& [path, methods] : openapi_operations()) {
    for (const std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
      if (methods.contains(method)) continue;
      const Response response = call(method, concrete(path), body_for(method, path));
      EXPECT_EQ(response.status, 405u) << method << " " << path << " -> " << response.body;
      std::set<std::string> allowed;
      std::stringstream allow(response.header("Allow"));
      for (std::string token; std::getline(allow, token, ',');) {
        token.erase(0, token.find_first_not_of(' '));
        allowed.insert(token);
      }
      EXPECT_EQ(allowed, methods) << method << " " << path;
    }
  }
}

TEST_P(ApiTest, UndocumentedPathsAre404) {
  for (const char* path : {"/", "/v1", "/v2/all", "/v1/everything", "/v1/streams/a/0/extra", "/v1/streams/a/metadata/x",
                           "/v1/subscriptions", "/v1/subscriptions/streams", "/v1/subscriptions/all/x",
                           "/v1/subscriptions/streams/a/b", "/v1/projections/a/b", "/healthz", "/health/x",
                           "/metrics/x", "/v1/all/x", "/v1/transactions/1", "/v1/stats/x", "/consoles"}) {
    for (const char* method : {"GET", "POST"}) {
      const Response response = call(method, path, "{}");
      EXPECT_EQ(response.status, 404u) << method << " " << path << " -> " << response.body;
      EXPECT_EQ(response.error(), "not_found") << method << " " << path;
    }
  }
}

}  // namespace
}  // namespace evsrc_api_test
