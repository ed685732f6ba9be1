// The authentication and authorization matrix over the wire: every operation
// of docs/api/openapi.yaml x every kind of caller (no key, malformed key,
// wrong secret, a valid key of each role, with and without stream prefixes)
// x a stream inside and outside the key's prefixes -> the status the
// documented rules give. Denied requests write nothing.
//
// Constant-time key comparison (ApiKeyFile::authenticate, api_keys.cc), read
// for early exits that depend on the secret:
//  - bearer_token() and parse_key() look at the header's shape: the scheme,
//    the length (every key has the same length), the "evk_" prefix, the id
//    (public) and whether the presented secret is base64url. The last check
//    stops at the first character outside the alphabet, but that is a property
//    of the caller's own input, not of any stored secret.
//  - The presented secret is hashed (SHA-256 of a fixed-length input), then
//    the key is found by id (find_if stops on the id, which is public).
//  - The hashes are compared with CRYPTO_memcmp over all 64 hex digits: no
//    early exit. Comparing hashes rather than secrets also means that even a
//    leaky comparison would reveal bits of SHA-256(guess), not of the secret.
// So nothing the server does before answering depends on the stored secret
// except through CRYPTO_memcmp. No test here measures time; the unit test
// below checks that a secret differing from a valid one in any single
// character (the last one included) is refused.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "evsrc/server.h"
#include "security/security_support.h"
#include "server/api_keys.h"
#include "server/server_fixture.h"

namespace evsrc::security_test {
namespace {

using namespace std::chrono_literals;
using server::ApiKeyFile;
using server::Role;
using server_test::http_request;
using server_test::RawConnection;
using server_test::RawResponse;
using server_test::TempDirectory;

// ---- the documented rules ----------------------------------------------------------------

// What an operation needs (docs/api/openapi.yaml, "Authentication";
// src/server/api_keys.h): nothing for /health and the console; otherwise a
// valid key whose role is at least `needs`.
enum class Needs { nothing, reader, writer, admin };

// How stream prefixes of a key apply (a key without prefixes may touch every
// stream):
//  store_wide:    figures that may name any stream (stats, metrics,
//                 projections): a key with prefixes is refused;
//  stream:        the operation names one stream: it must start with one of
//                 the key's prefixes;
//  prefix_filter: $all reads, $all subscriptions and stream lists: the
//                 `prefix` parameter must start with one of the key's prefixes;
//  none:          no key needed at all.
enum class Scope { none, store_wide, stream, prefix_filter };

struct Operation {
  std::string method;
  std::string path;   // as in openapi.yaml's `paths:`
  std::string query;  // added to the request ("hard=true")
  Needs needs;
  Scope scope;
  unsigned allowed;        // the status when allowed (the request is otherwise valid)
  bool streaming = false;  // a text/event-stream answer
};

const std::vector<Operation>& operations() {
  static const std::vector<Operation> table = {
      {"GET", "/health", "", Needs::nothing, Scope::none, 200},
      {"GET", "/console", "", Needs::nothing, Scope::none, 302},
      {"GET", "/console/", "", Needs::nothing, Scope::none, 200},
      {"GET", "/console/{asset}", "", Needs::nothing, Scope::none, 200},
      {"GET", "/metrics", "", Needs::reader, Scope::store_wide, 200},
      {"GET", "/v1/stats", "", Needs::reader, Scope::store_wide, 200},
      {"GET", "/v1/projections", "", Needs::reader, Scope::store_wide, 200},
      {"GET", "/v1/projections/{name}", "", Needs::reader, Scope::store_wide, 200},
      {"GET", "/v1/streams", "", Needs::reader, Scope::prefix_filter, 200},
      {"GET", "/v1/all", "", Needs::reader, Scope::prefix_filter, 200},
      {"GET", "/v1/subscriptions/all", "", Needs::reader, Scope::prefix_filter, 200, true},
      {"GET", "/v1/streams/{stream}", "", Needs::reader, Scope::stream, 200},
      {"GET", "/v1/streams/{stream}/{revision}", "", Needs::reader, Scope::stream, 200},
      {"GET", "/v1/streams/{stream}/metadata", "", Needs::reader, Scope::stream, 200},
      {"GET", "/v1/subscriptions/streams/{stream}", "", Needs::reader, Scope::stream, 200, true},
      {"POST", "/v1/streams/{stream}", "", Needs::writer, Scope::stream, 201},
      {"PUT", "/v1/streams/{stream}/metadata", "", Needs::writer, Scope::stream, 200},
      {"DELETE", "/v1/streams/{stream}", "", Needs::writer, Scope::stream, 204},
      {"POST", "/v1/transactions", "", Needs::writer, Scope::stream, 201},
      {"DELETE", "/v1/streams/{stream}", "hard=true", Needs::admin, Scope::stream, 204},
  };
  return table;
}

enum class Credential { none, malformed, wrong_secret, valid };

struct Caller {
  std::string name;
  Credential credential;
  Role role = Role::reader;           // of a valid key (and of the key a wrong secret imitates)
  std::vector<std::string> prefixes;  // of a valid key
  std::string authorization;          // the header's value; empty: no header
};

constexpr std::string_view kAllowedPrefix = "sec-";

bool role_suffices(Role role, Needs needs) {
  switch (needs) {
    case Needs::nothing:
      return true;
    case Needs::reader:
      return true;
    case Needs::writer:
      return role >= Role::writer;
    case Needs::admin:
      return role >= Role::admin;
  }
  return false;
}

// The rule table, once: the status `caller` gets for `operation` on a stream
// (or a prefix filter) inside or outside kAllowedPrefix.
unsigned expected_status(const Operation& operation, const Caller& caller, bool inside_prefix) {
  if (operation.needs == Needs::nothing) return operation.allowed;
  if (caller.credential != Credential::valid) return 401;
  if (!role_suffices(caller.role, operation.needs)) return 403;
  if (!caller.prefixes.empty()) {
    switch (operation.scope) {
      case Scope::store_wide:
        return 403;
      case Scope::stream:
      case Scope::prefix_filter:
        if (!inside_prefix) return 403;
        break;
      case Scope::none:
        break;
    }
  }
  return operation.allowed;
}

// ---- the documented operations ---------------------------------------------------------------

// The (path, method) pairs of openapi.yaml's `paths:` (block YAML: paths at
// indent 2, operations at indent 4).
std::set<std::pair<std::string, std::string>> documented_operations() {
  std::ifstream file(std::string(EVSRC_SOURCE_DIR) + "/docs/api/openapi.yaml");
  EXPECT_TRUE(file.good()) << "cannot open docs/api/openapi.yaml";
  static const std::set<std::string> kMethods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};
  std::set<std::pair<std::string, std::string>> found;
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
    } else if (line.starts_with("    ") && line.size() > 5 && line[4] != ' ' && line.back() == ':') {
      std::string method = line.substr(4, line.size() - 5);
      if (!kMethods.contains(method)) continue;
      for (char& c : method) c = static_cast<char>(c - 'a' + 'A');
      found.emplace(path, method);
    }
  }
  return found;
}

TEST(AuthzTable, CoversEveryDocumentedOperation) {
  const auto documented = documented_operations();
  ASSERT_GE(documented.size(), 19u);
  std::set<std::pair<std::string, std::string>> tabled;
  for (const Operation& operation : operations()) tabled.emplace(operation.path, operation.method);
  for (const auto& [path, method] : documented) {
    EXPECT_TRUE(tabled.contains({path, method})) << method << " " << path << " is documented but not in the matrix";
  }
  for (const auto& [path, method] : tabled) {
    EXPECT_TRUE(documented.contains({path, method})) << method << " " << path << " is in the matrix, not documented";
  }
}

// ---- the matrix over the wire ------------------------------------------------------------------

class AuthzMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_file_ = (directory_.path() / "api-keys.json").string();
    ApiKeyFile keys(keys_file_);
    const auto add = [&](const std::string& name, Role role, std::vector<std::string> prefixes) {
      Result<std::string> key = keys.add(name, role, prefixes);
      EXPECT_TRUE(key.ok()) << key.status().to_string();
      const std::string text = key.ok() ? key.value() : "";
      callers_.push_back({name, Credential::valid, role, prefixes, "Bearer " + text});
      return text;
    };
    const std::string allowed_prefix(kAllowedPrefix);
    add("reader", Role::reader, {});
    add("writer", Role::writer, {});
    const std::string admin = add("admin", Role::admin, {});
    add("prefixed reader", Role::reader, {allowed_prefix});
    add("prefixed writer", Role::writer, {allowed_prefix});
    add("prefixed admin", Role::admin, {allowed_prefix, "unused-"});
    ASSERT_FALSE(HasFailure());

    std::string wrong_secret = admin;
    wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
    std::string unknown_id = admin;
    unknown_id[4] = unknown_id[4] == '0' ? '1' : '0';
    callers_.push_back({"no key", Credential::none, Role::reader, {}, ""});
    callers_.push_back({"not a key", Credential::malformed, Role::reader, {}, "Bearer not-a-key"});
    callers_.push_back({"key without scheme", Credential::malformed, Role::admin, {}, admin});
    callers_.push_back({"basic scheme", Credential::malformed, Role::admin, {}, "Basic " + admin});
    callers_.push_back({"truncated key", Credential::malformed, Role::admin, {}, "Bearer " + admin.substr(0, 40)});
    callers_.push_back(
        {"admin id, wrong last secret byte", Credential::wrong_secret, Role::admin, {}, "Bearer " + wrong_secret});
    callers_.push_back(
        {"unknown id, admin's secret", Credential::wrong_secret, Role::admin, {}, "Bearer " + unknown_id});

    auto store = open_store("memory:");
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.require_auth = true;
    options.keys_file = keys_file_;
    options.worker_threads = 4;
    auto server = Server::start(*store_, options, [] {
      ProjectionStatus users;
      users.name = "users";
      users.state = ProjectionState::running;
      return std::vector<ProjectionStatus>{users};
    });
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (store_) (void)store_->close();
  }

  void seed(const std::string& stream) {
    std::vector<EventData> events(2);
    for (EventData& event : events) {
      event.id = Uuid::random();
      event.type = "Seeded";
      event.data = "{}";
    }
    ASSERT_TRUE(store_->append(stream, ExpectedRevision::any(), events).ok());
  }

  TempDirectory directory_;
  std::string keys_file_;
  std::vector<Caller> callers_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
};

// The request of one cell: `stream` fills {stream} (and a transaction's
// part), `prefix` the prefix filter ("" for none).
std::string request_for(const Operation& operation, const std::string& stream, const std::string& prefix,
                        const Caller& caller) {
  std::string target = operation.path;
  const std::map<std::string, std::string> values = {
      {"{stream}", stream}, {"{revision}", "0"}, {"{name}", "users"}, {"{asset}", "index.html"}};
  for (const auto& [parameter, value] : values) {
    if (const std::size_t at = target.find(parameter); at != std::string::npos)
      target.replace(at, parameter.size(), value);
  }
  std::string query = operation.query;
  if (!prefix.empty()) query += (query.empty() ? "" : "&") + std::string("prefix=") + prefix;
  if (!query.empty()) target += "?" + query;
  std::string body;
  if (operation.path == "/v1/transactions") {
    body = R"({"parts":[{"stream":")" + stream + R"(","events":[{"type":"T","data":1}]}]})";
  } else if (operation.method == "POST") {
    body = R"({"type":"T","data":1})";
  } else if (operation.method == "PUT") {
    body = R"({"maxCount":100})";
  }
  const std::string headers = caller.authorization.empty() ? "" : "Authorization: " + caller.authorization + "\r\n";
  return http_request(operation.method, target, body, headers);
}

struct Answer {
  unsigned status = 0;
  std::string error;  // JSON error code of a complete answer
  std::string www_authenticate;
};

Answer send_cell(std::uint16_t port, const std::string& request, bool streaming) {
  RawConnection connection(port);
  Answer answer;
  if (!connection.send(request)) return answer;
  if (streaming) {
    // A subscription's answer never ends: its status line is enough (an
    // error answer is complete and parsed below).
    const std::string head = connection.read_some_for(5s, 1);
    if (head.starts_with("HTTP/1.1 ") && head.size() >= 12)
      answer.status = static_cast<unsigned>(std::stoi(head.substr(9, 3)));
    const std::size_t body_at = head.find("\r\n\r\n");
    if (answer.status >= 400 && body_at != std::string::npos) {
      const auto json = nlohmann::json::parse(head.substr(body_at + 4), nullptr, false);
      if (json.is_object() && json.contains("error")) answer.error = json["error"].get<std::string>();
    }
    if (const std::size_t at = head.find("WWW-Authenticate: "); at != std::string::npos) {
      answer.www_authenticate = head.substr(at + 18, head.find("\r\n", at) - at - 18);
    }
    return answer;
  }
  const std::optional<RawResponse> response = connection.read_response(5s);
  if (!response) return answer;
  answer.status = response->status;
  answer.www_authenticate = response->header("WWW-Authenticate");
  const auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_string())
    answer.error = json["error"].get<std::string>();
  return answer;
}

TEST_F(AuthzMatrix, EveryOperationForEveryCallerAnswersTheDocumentedStatus) {
  std::map<unsigned, int> by_status;
  int cells = 0;
  for (const Operation& operation : operations()) {
    for (const Caller& caller : callers_) {
      // Stream operations: a stream inside and one outside the prefixes;
      // prefix filters: a prefix inside, one outside, and none (outside too:
      // a key with prefixes must filter).
      std::vector<std::pair<std::string, bool>> variants;  // (stream or prefix, inside)
      if (operation.scope == Scope::stream) {
        variants = {{std::string(kAllowedPrefix), true}, {"other-", false}};
      } else if (operation.scope == Scope::prefix_filter) {
        variants = {{std::string(kAllowedPrefix), true}, {"other-", false}, {"", false}};
      } else {
        variants = {{"", true}};
      }
      for (const auto& [place, inside] : variants) {
        std::string stream;
        std::string prefix;
        if (operation.scope == Scope::stream) {
          stream = place + std::to_string(cells);
          seed(stream);
        } else {
          prefix = place;
        }
        // A key without prefixes reaches both places.
        const bool reachable = inside || caller.prefixes.empty();
        const unsigned expected = expected_status(operation, caller, reachable);
        const std::string before = expected >= 400 ? store_dump(*store_) : "";
        const Answer answer = send_cell(server_->port(), request_for(operation, stream, prefix, caller),
                                        operation.streaming && expected < 400);
        const std::string cell = operation.method + " " + operation.path + (operation.query.empty() ? "" : "?") +
                                 operation.query + " as " + caller.name + (stream.empty() ? "" : " on " + stream) +
                                 (prefix.empty() ? "" : " prefix=" + prefix);
        EXPECT_EQ(answer.status, expected) << cell;
        if (expected == 401) {
          EXPECT_EQ(answer.error, "unauthenticated") << cell;
          EXPECT_EQ(answer.www_authenticate.rfind("Bearer", 0), 0u) << cell;
        }
        if (expected == 403) {
          EXPECT_EQ(answer.error, "forbidden") << cell;
        }
        if (expected >= 400) {
          EXPECT_EQ(store_dump(*store_), before) << cell << " wrote something";
        }
        ++by_status[answer.status];
        ++cells;
      }
    }
  }
  std::string summary;
  for (const auto& [status, count] : by_status) summary += " " + std::to_string(status) + "x" + std::to_string(count);
  std::printf("[ figures  ] %d cells (%zu operations x %zu callers x places):%s\n", cells, operations().size(),
              callers_.size(), summary.c_str());
  EXPECT_GT(by_status[401], 0);
  EXPECT_GT(by_status[403], 0);
}

TEST_F(AuthzMatrix, RevokedKeysAreRefusedOnEveryOperation) {
  ApiKeyFile keys(keys_file_);
  ASSERT_TRUE(keys.load().ok());
  const Caller admin = callers_[2];
  ASSERT_EQ(admin.name, "admin");
  const std::string id = admin.authorization.substr(std::string("Bearer evk_").size(), 12);
  ASSERT_TRUE(keys.revoke(id).ok());
  // The server re-reads the key file at most once a second.
  bool refused = false;
  for (int attempt = 0; attempt < 50 && !refused; ++attempt) {
    refused = send_cell(server_->port(), request_for(operations()[5], "", "", admin), false).status == 401;
    if (!refused) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(refused);
  Caller revoked = admin;
  revoked.credential = Credential::wrong_secret;
  for (const Operation& operation : operations()) {
    const std::string stream = "sec-revoked-" + operation.method;
    if (operation.scope == Scope::stream) seed(stream);
    const std::string before = store_dump(*store_);
    const Answer answer = send_cell(server_->port(), request_for(operation, stream, "sec-", revoked), false);
    EXPECT_EQ(answer.status, expected_status(operation, revoked, true)) << operation.method << " " << operation.path;
    if (operation.needs != Needs::nothing) {
      EXPECT_EQ(store_dump(*store_), before) << operation.method << " " << operation.path;
    }
  }
}

// ---- the key comparison -------------------------------------------------------------------------

TEST(KeyComparison, ASecretDifferingInAnySingleCharacterIsRefused) {
  TempDirectory directory;
  ApiKeyFile keys((directory.path() / "api-keys.json").string());
  const Result<std::string> key = keys.add("k", Role::admin, {});
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(keys.authenticate("Bearer " + *key));
  const std::size_t secret_at = std::string("evk_").size() + 12 + 1;
  ASSERT_EQ(key->size(), secret_at + 43);
  int refused = 0;
  for (std::size_t at = secret_at; at < key->size(); ++at) {
    for (char replacement : {'A', 'z', '0', '-', '_'}) {
      if ((*key)[at] == replacement) continue;
      std::string other = *key;
      other[at] = replacement;
      EXPECT_FALSE(keys.authenticate("Bearer " + other)) << "secret changed at " << at - secret_at;
      ++refused;
    }
  }
  EXPECT_GE(refused, 43 * 4);
  EXPECT_TRUE(keys.authenticate("Bearer " + *key));
}

}  // namespace
}  // namespace evsrc::security_test
