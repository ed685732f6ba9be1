// ApiKeyFile: key creation, hashing, authentication, revocation, reload and
// damaged files.
#include "server/api_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace evsrc::server {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("evsrc-auth-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string bearer(const std::string& key) { return "Bearer " + key; }

std::string id_of(const std::string& key) { return key.substr(4, 12); }
std::string secret_of(const std::string& key) { return key.substr(17); }

class ApiKeysTest : public ::testing::Test {
 protected:
  std::string path() const { return (dir_.path() / "api-keys.json").string(); }

  std::string add(ApiKeyFile& keys, Role role, std::vector<std::string> prefixes = {}, std::string name = "test") {
    auto key = keys.add(std::move(name), role, std::move(prefixes));
    EXPECT_TRUE(key.ok()) << key.status().to_string();
    return key.ok() ? *key : std::string();
  }

  TempDir dir_;
};

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Roles, NamesRoundTripAndNest) {
  for (Role role : {Role::reader, Role::writer, Role::admin}) EXPECT_EQ(parse_role(role_name(role)), role);
  EXPECT_EQ(role_name(Role::admin), "admin");
  EXPECT_EQ(role_name(Role::writer), "writer");
  EXPECT_EQ(role_name(Role::reader), "reader");
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role(""));
  EXPECT_FALSE(parse_role("root"));

  const Principal reader{"id", Role::reader, {}};
  const Principal writer{"id", Role::writer, {}};
  const Principal admin{"id", Role::admin, {}};
  EXPECT_TRUE(reader.may(Role::reader));
  EXPECT_FALSE(reader.may(Role::writer));
  EXPECT_FALSE(reader.may(Role::admin));
  EXPECT_TRUE(writer.may(Role::writer));
  EXPECT_FALSE(writer.may(Role::admin));
  EXPECT_TRUE(admin.may(Role::admin));
  EXPECT_TRUE(Principal{}.may(Role::admin)) << "auth off: everything";
}

TEST(Principal, PrefixPermissions) {
  const Principal everything{"id", Role::writer, {}};
  EXPECT_TRUE(everything.may_access_stream("order-1"));
  EXPECT_TRUE(everything.may_access_prefix(""));

  const Principal orders{"id", Role::writer, {"order-", "invoice-"}};
  EXPECT_TRUE(orders.may_access_stream("order-1"));
  EXPECT_TRUE(orders.may_access_stream("invoice-7"));
  EXPECT_TRUE(orders.may_access_stream("order-"));
  EXPECT_FALSE(orders.may_access_stream("order"));
  EXPECT_FALSE(orders.may_access_stream("user-1"));
  EXPECT_FALSE(orders.may_access_stream(""));
  EXPECT_FALSE(orders.may_access_stream("xorder-1"));

  EXPECT_TRUE(orders.may_access_prefix("order-"));
  EXPECT_TRUE(orders.may_access_prefix("order-12"));
  EXPECT_FALSE(orders.may_access_prefix("order")) << "would match 'orderly'";
  EXPECT_FALSE(orders.may_access_prefix("")) << "the whole of $all";
  EXPECT_FALSE(orders.may_access_prefix("user-"));
}

TEST_F(ApiKeysTest, MissingFileIsAnEmptyKeySet) {
  ApiKeyFile keys(path());
  ASSERT_TRUE(keys.load().ok());
  EXPECT_TRUE(keys.empty());
  EXPECT_TRUE(keys.list().empty());
  EXPECT_FALSE(std::filesystem::exists(path())) << "loading creates nothing";
}

TEST_F(ApiKeysTest, AddCreatesAKeyInTheDocumentedFormat) {
  ApiKeyFile keys(path());
  ASSERT_TRUE(keys.load().ok());
  const std::string key = add(keys, Role::writer, {"order-"}, "billing");
  EXPECT_TRUE(std::regex_match(key, std::regex("evk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}"))) << key;

  ASSERT_EQ(keys.list().size(), 1u);
  EXPECT_FALSE(keys.empty());
  const ApiKeyRecord record = keys.list()[0];
  EXPECT_EQ(record.id, id_of(key));
  EXPECT_EQ(record.name, "billing");
  EXPECT_EQ(record.role, Role::writer);
  EXPECT_EQ(record.prefixes, std::vector<std::string>{"order-"});
  EXPECT_EQ(record.secret_sha256, sha256_hex(secret_of(key)));
  EXPECT_TRUE(std::regex_match(record.created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << record.created_at;

  // Another instance reads the same.
  ApiKeyFile reread(path());
  ASSERT_TRUE(reread.load().ok());
  ASSERT_EQ(reread.list().size(), 1u);
  EXPECT_EQ(reread.list()[0].secret_sha256, record.secret_sha256);
  EXPECT_EQ(reread.list()[0].prefixes, record.prefixes);
}

TEST_F(ApiKeysTest, KeysAreDistinct) {
  ApiKeyFile keys(path());
  std::set<std::string> ids;
  std::set<std::string> secrets;
  for (int i = 0; i < 20; ++i) {
    const std::string key = add(keys, Role::reader);
    ids.insert(id_of(key));
    secrets.insert(secret_of(key));
  }
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(secrets.size(), 20u);
  EXPECT_EQ(keys.list().size(), 20u);
}

TEST_F(ApiKeysTest, FileHoldsNoSecretAndIsPrivate) {
  ApiKeyFile keys(path());
  const std::string key = add(keys, Role::admin);
  const std::string text = read_text(path());
  EXPECT_EQ(text.find(secret_of(key)), std::string::npos);
  EXPECT_EQ(text.find(key), std::string::npos);
  EXPECT_NE(text.find(sha256_hex(secret_of(key))), std::string::npos);
  EXPECT_NE(text.find(id_of(key)), std::string::npos);

  struct stat info {};
  ASSERT_EQ(::stat(path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  // A second save keeps the mode and leaves no temp file behind.
  add(keys, Role::reader);
  ASSERT_EQ(::stat(path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "api-keys.json" || name == "api-keys.json.lock") << name;
  }
}

TEST_F(ApiKeysTest, EmptyPrefixIsRejectedAndDuplicatesDropped) {
  ApiKeyFile keys(path());
  auto key = keys.add("x", Role::reader, {"a-", ""});
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), ErrorCode::invalid_argument);
  EXPECT_TRUE(keys.list().empty());
  EXPECT_FALSE(std::filesystem::exists(path()));

  add(keys, Role::reader, {"a-", "b-", "a-"});
  EXPECT_EQ(keys.list()[0].prefixes, (std::vector<std::string>{"a-", "b-"}));
}

TEST_F(ApiKeysTest, AuthenticateTheRightKeyOnly) {
  ApiKeyFile keys(path());
  const std::string writer = add(keys, Role::writer, {"order-"});
  const std::string reader = add(keys, Role::reader);

  auto principal = keys.authenticate(bearer(writer));
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->key_id, id_of(writer));
  EXPECT_EQ(principal->role, Role::writer);
  EXPECT_EQ(principal->prefixes, std::vector<std::string>{"order-"});
  EXPECT_TRUE(principal->may_access_stream("order-1"));
  EXPECT_FALSE(principal->may_access_stream("user-1"));

  principal = keys.authenticate(bearer(reader));
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->role, Role::reader);
  EXPECT_TRUE(principal->prefixes.empty());

  // The scheme is case-insensitive; blanks around the token are allowed.
  EXPECT_TRUE(keys.authenticate("bearer " + writer));
  EXPECT_TRUE(keys.authenticate("BEARER\t" + writer + "  "));
}

TEST_F(ApiKeysTest, WrongUnknownAndMalformedKeysAreRejected) {
  ApiKeyFile keys(path());
  const std::string key = add(keys, Role::admin);
  const std::string id = id_of(key);
  std::string wrong_secret = key;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  std::string unknown_id = key;
  unknown_id[4] = unknown_id[4] == '0' ? '1' : '0';
  const std::string other_keys_secret = "evk_" + id + "_" + secret_of(add(keys, Role::reader));

  EXPECT_FALSE(keys.authenticate(std::nullopt));
  for (const std::string& header : {
           std::string(""), std::string("Bearer"), std::string("Bearer "),
           key,                                                     // no scheme
           "Basic " + key,                                          // wrong scheme
           "Bearer" + key,                                          // no blank after the scheme
           bearer(wrong_secret),                                    // right id, wrong secret
           bearer(unknown_id),                                      // unknown id
           bearer(other_keys_secret),                               // a valid secret of another key
           bearer(key.substr(0, key.size() - 1)),                   // truncated
           bearer(key + "A"),                                       // too long
           bearer(key + " extra"),                                  // two tokens
           bearer("evk_" + id),                                     // id only
           bearer("xyz_" + key.substr(4)),                          // wrong prefix
           bearer("evk_" + std::string(12, 'G') + key.substr(16)),  // id not hex
           bearer("evk_" + id + "-" + secret_of(key)),              // wrong separator
           bearer(key.substr(0, 17) + "+" + key.substr(18)),        // not base64url
           bearer(sha256_hex(secret_of(key))),                      // the stored hash itself
       }) {
    EXPECT_FALSE(keys.authenticate(header)) << header;
  }
  EXPECT_TRUE(keys.authenticate(bearer(key)));
}

TEST_F(ApiKeysTest, RevokedKeysStopWorking) {
  ApiKeyFile keys(path());
  const std::string first = add(keys, Role::admin);
  const std::string second = add(keys, Role::reader);
  ASSERT_TRUE(keys.revoke(id_of(first)).ok());
  EXPECT_FALSE(keys.authenticate(bearer(first)));
  EXPECT_TRUE(keys.authenticate(bearer(second)));
  ASSERT_EQ(keys.list().size(), 1u);
  EXPECT_EQ(keys.list()[0].id, id_of(second));

  const Status again = keys.revoke(id_of(first));
  EXPECT_EQ(again.code(), ErrorCode::not_found);
  EXPECT_NE(again.message().find(id_of(first)), std::string::npos);

  ApiKeyFile reread(path());
  ASSERT_TRUE(reread.load().ok());
  EXPECT_EQ(reread.list().size(), 1u);
  EXPECT_FALSE(reread.authenticate(bearer(first)));
  EXPECT_TRUE(reread.authenticate(bearer(second)));
}

TEST_F(ApiKeysTest, RevokeOnAMissingFileIsNotFound) {
  ApiKeyFile keys(path());
  EXPECT_EQ(keys.revoke("0123456789ab").code(), ErrorCode::not_found);
  ApiKeyFile no_directory((dir_.path() / "absent" / "api-keys.json").string());
  EXPECT_EQ(no_directory.revoke("0123456789ab").code(), ErrorCode::not_found);
}

TEST_F(ApiKeysTest, ServerSeesKeysAddedAndRevokedByAnotherInstance) {
  ApiKeyFile server(path(), 0s);
  ASSERT_TRUE(server.load().ok());
  ApiKeyFile cli(path());

  const std::string key = add(cli, Role::writer);
  const auto principal = server.authenticate(bearer(key));
  ASSERT_TRUE(principal) << "added key not picked up";
  EXPECT_EQ(principal->role, Role::writer);
  EXPECT_EQ(server.list().size(), 1u);

  ASSERT_TRUE(cli.revoke(id_of(key)).ok());
  EXPECT_FALSE(server.authenticate(bearer(key))) << "revoked key still accepted";
  EXPECT_TRUE(server.empty());

  // Several changes in quick succession (within one mtime tick) are all seen.
  const std::string a = add(cli, Role::reader);
  EXPECT_TRUE(server.authenticate(bearer(a)));
  const std::string b = add(cli, Role::reader);
  ASSERT_TRUE(cli.revoke(id_of(a)).ok());
  EXPECT_FALSE(server.authenticate(bearer(a)));
  EXPECT_TRUE(server.authenticate(bearer(b)));
}

TEST_F(ApiKeysTest, FileIsLookedAtOnlyOncePerInterval) {
  ApiKeyFile server(path(), 1h);
  ASSERT_TRUE(server.load().ok());
  ApiKeyFile cli(path());
  const std::string key = add(cli, Role::reader);
  EXPECT_FALSE(server.authenticate(bearer(key))) << "checked again before the interval passed";

  // Once the interval has passed, the next call looks again.
  ApiKeyFile short_interval(path(), 300ms);
  ASSERT_TRUE(short_interval.load().ok());
  const std::string later = add(cli, Role::reader);
  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(short_interval.authenticate(bearer(later)));
}

TEST_F(ApiKeysTest, ServerWithoutLoadReadsTheFileOnFirstUse) {
  ApiKeyFile cli(path());
  const std::string key = add(cli, Role::reader);
  ApiKeyFile server(path());
  EXPECT_TRUE(server.authenticate(bearer(key)));
}

TEST_F(ApiKeysTest, CorruptFileIsReportedWithItsPath) {
  for (const std::string& text : {
           std::string("{not json"),
           std::string("[]"),
           std::string(R"({"keys":[]})"),
           std::string(R"({"version":2,"keys":[]})"),
           std::string(R"({"version":1})"),
           std::string(R"({"version":1,"keys":[1]})"),
           std::string(R"({"version":1,"keys":[{"id":"0123456789ab","name":"","role":"root","prefixes":[],)"
                       R"("secretSha256":")" +
                       sha256_hex("x") + R"(","createdAt":""}]})"),
           std::string(R"({"version":1,"keys":[{"id":"0123456789ab","name":"","role":"admin","prefixes":[],)"
                       R"("secretSha256":"abc","createdAt":""}]})"),
           std::string(R"({"version":1,"keys":[{"id":"xyz","name":"","role":"admin","prefixes":[],)"
                       R"("secretSha256":")" +
                       sha256_hex("x") + R"(","createdAt":""}]})"),
           std::string(R"({"version":1,"keys":[{"id":"0123456789ab","name":"","role":"admin","prefixes":[""],)"
                       R"("secretSha256":")" +
                       sha256_hex("x") + R"(","createdAt":""}]})"),
           std::string(R"({"version":1,"keys":[{"id":"0123456789ab","name":"","role":"admin",)"
                       R"("secretSha256":")" +
                       sha256_hex("x") + R"(","createdAt":""}]})"),
           std::string(R"({"version":1,"keys":[)"
                       R"({"id":"0123456789ab","name":"","role":"admin","prefixes":[],"secretSha256":")" +
                       sha256_hex("x") +
                       R"(","createdAt":""},)"
                       R"({"id":"0123456789ab","name":"","role":"admin","prefixes":[],"secretSha256":")" +
                       sha256_hex("y") + R"(","createdAt":""}]})"),
           std::string("\xff\xfe"),
       }) {
    write_text(path(), text);
    ApiKeyFile keys(path());
    const Status status = keys.load();
    EXPECT_EQ(status.code(), ErrorCode::corruption) << text;
    EXPECT_NE(status.message().find(path()), std::string::npos) << status.message();
    EXPECT_TRUE(keys.empty());
  }
}

TEST_F(ApiKeysTest, WellFormedHandWrittenFileLoads) {
  write_text(path(), R"({"version":1,"keys":[{"id":"0123456789ab","name":"ops","role":"reader","prefixes":["a-"],)"
                     R"("secretSha256":")" +
                         sha256_hex(std::string(43, 'A')) +
                         R"(","createdAt":"2024-01-01T00:00:00Z","comment":"extra fields are ignored"}]})");
  ApiKeyFile keys(path());
  ASSERT_TRUE(keys.load().ok());
  const auto principal = keys.authenticate(bearer("evk_0123456789ab_" + std::string(43, 'A')));
  ASSERT_TRUE(principal);
  EXPECT_EQ(principal->role, Role::reader);
  EXPECT_EQ(principal->prefixes, std::vector<std::string>{"a-"});
}

TEST_F(ApiKeysTest, UnreadableFileIsAnIoError) {
  std::filesystem::create_directories(path());  // a directory where the file should be
  ApiKeyFile keys(path());
  const Status status = keys.load();
  EXPECT_EQ(status.code(), ErrorCode::io_error);
  EXPECT_NE(status.message().find(path()), std::string::npos) << status.message();
}

TEST_F(ApiKeysTest, DamagedFileKeepsTheLastGoodKeysAndNeverFailsOpen) {
  ApiKeyFile server(path(), 0s);
  ApiKeyFile cli(path());
  const std::string key = add(cli, Role::reader);
  ASSERT_TRUE(server.load().ok());

  write_text(path(), "{\"version\":1,\"keys\":[");  // e.g. a bad hand edit
  EXPECT_TRUE(server.authenticate(bearer(key))) << "last good keys dropped";
  EXPECT_FALSE(server.authenticate(bearer("evk_0123456789ab_" + std::string(43, 'A'))));
  EXPECT_EQ(server.load().code(), ErrorCode::corruption);
  EXPECT_EQ(server.list().size(), 1u) << "a failed load keeps the keys";
  EXPECT_TRUE(server.authenticate(bearer(key)));

  // add and revoke refuse to overwrite it (the keys in it would be lost).
  EXPECT_EQ(cli.add("x", Role::admin, {}).status().code(), ErrorCode::corruption);
  EXPECT_EQ(cli.revoke(id_of(key)).code(), ErrorCode::corruption);
  EXPECT_EQ(read_text(path()), "{\"version\":1,\"keys\":[");

  // Once repaired, the file is picked up again.
  write_text(path(), R"({"version":1,"keys":[]})");
  EXPECT_FALSE(server.authenticate(bearer(key)));
  EXPECT_TRUE(server.empty());
}

TEST_F(ApiKeysTest, DeletedFileRevokesEveryKey) {
  ApiKeyFile server(path(), 0s);
  ApiKeyFile cli(path());
  const std::string key = add(cli, Role::admin);
  EXPECT_TRUE(server.authenticate(bearer(key)));
  std::filesystem::remove(path());
  EXPECT_FALSE(server.authenticate(bearer(key)));
}

TEST_F(ApiKeysTest, ConcurrentAddsFromSeveralInstancesAreAllKept) {
  constexpr int kThreads = 4;
  constexpr int kKeysPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> created(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ApiKeyFile own(path());  // like separate `evsrc keys add` processes
      for (int i = 0; i < kKeysPerThread; ++i) {
        auto key = own.add("t" + std::to_string(t), Role::reader, {});
        if (key.ok()) created[t].push_back(*key);
      }
    });
  }
  ApiKeyFile server(path(), 0s);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) (void)server.authenticate(bearer("evk_0123456789ab_" + std::string(43, 'A')));
  });
  for (auto& thread : threads) thread.join();
  done = true;
  reader.join();

  ApiKeyFile keys(path());
  ASSERT_TRUE(keys.load().ok());
  EXPECT_EQ(keys.list().size(), static_cast<std::size_t>(kThreads * kKeysPerThread));
  for (const auto& keys_of_thread : created) {
    ASSERT_EQ(keys_of_thread.size(), static_cast<std::size_t>(kKeysPerThread));
    for (const std::string& key : keys_of_thread) EXPECT_TRUE(server.authenticate(bearer(key))) << key;
  }
}

}  // namespace
}  // namespace evsrc::server
