// evsrc keys add|list|revoke.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli/cli_runner.h"

namespace evsrc::cli_test {
namespace {

class CliKeys : public ::testing::Test {
 protected:
  std::filesystem::path store_dir() const { return dir_.path() / "store"; }
  std::filesystem::path default_key_file() const { return store_dir() / "api-keys.json"; }

  // `evsrc --store file:<dir> keys args...`
  CliResult keys(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store=" + dir_.store_uri(), "keys"});
    return run_cli(args);
  }

  TempDir dir_;
};

TEST_F(CliKeys, AddListRevoke) {
  const auto added =
      keys({"add", "--role", "writer", "--prefix", "order-", "--prefix", "invoice-", "--name", "billing"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const Json key = added.json();
  EXPECT_EQ(key.size(), 5u) << key.dump();
  EXPECT_TRUE(std::regex_match(key["id"].get<std::string>(), std::regex("[0-9a-f]{12}")));
  EXPECT_EQ(key["name"], "billing");
  EXPECT_EQ(key["role"], "writer");
  EXPECT_EQ(key["prefixes"], Json::array({"order-", "invoice-"}));
  const std::string secret_key = key["key"].get<std::string>();
  EXPECT_TRUE(std::regex_match(secret_key, std::regex("evk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}"))) << secret_key;
  EXPECT_EQ(secret_key.substr(4, 12), key["id"]);

  // The default key file is in the store directory, private, and holds no secret.
  ASSERT_TRUE(std::filesystem::exists(default_key_file()));
  struct stat info {};
  ASSERT_EQ(::stat(default_key_file().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(default_key_file()).find(secret_key.substr(17)), std::string::npos);

  const auto admin = keys({"add", "--role", "admin"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  EXPECT_EQ(admin.json()["name"], "");
  EXPECT_EQ(admin.json()["prefixes"], Json::array());

  auto listed = keys({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto lines = listed.json_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], key["id"]);
  EXPECT_EQ(lines[0]["name"], "billing");
  EXPECT_EQ(lines[0]["role"], "writer");
  EXPECT_EQ(lines[0]["prefixes"], key["prefixes"]);
  EXPECT_TRUE(lines[0]["createdAt"].is_string());
  EXPECT_EQ(lines[1]["role"], "admin");
  for (const Json& line : lines) {
    EXPECT_FALSE(line.contains("key"));
    EXPECT_FALSE(line.contains("secretSha256"));
  }
  EXPECT_EQ(listed.out.find(secret_key.substr(17)), std::string::npos);

  const auto revoked = keys({"revoke", key["id"].get<std::string>()});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(revoked.json(), (Json{{"revoked", key["id"]}}));

  listed = keys({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  lines = listed.json_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["role"], "admin");
}

TEST_F(CliKeys, DoesNotOpenTheStore) {
  ASSERT_EQ(keys({"add", "--role", "reader"}).exit_code, 0);
  ASSERT_EQ(keys({"list"}).exit_code, 0);
  for (const auto& entry : std::filesystem::directory_iterator(store_dir())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "api-keys.json" || name == "api-keys.json.lock") << "store file created: " << name;
  }
}

TEST_F(CliKeys, ListWithoutAKeyFileIsEmpty) {
  const auto listed = keys({"list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(listed.out.empty());
}

TEST_F(CliKeys, RevokeUnknownIdIsNotFound) {
  const auto result = keys({"revoke", "0123456789ab"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], "not_found");
  EXPECT_TRUE(result.out.empty());
}

TEST_F(CliKeys, BadRoleIsBadInput) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"add", "--role", "root"},
                                             {"add", "--role", "Admin"},
                                             {"add"},
                                             {"add", "--role", "reader", "--prefix", ""}}) {
    const auto result = keys(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(result.error()["error"], "invalid_argument") << result.err;
    EXPECT_TRUE(result.out.empty());
  }
  EXPECT_FALSE(std::filesystem::exists(default_key_file()));
}

TEST_F(CliKeys, MemoryStoreNeedsAKeysFile) {
  for (const char* command : {"add", "list", "revoke"}) {
    std::vector<std::string> args = {"--store", "memory:", "keys", command};
    if (std::string(command) == "add") args.insert(args.end(), {"--role", "admin"});
    if (std::string(command) == "revoke") args.push_back("0123456789ab");
    const auto result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << command << ": " << result.err;
    EXPECT_EQ(result.error()["error"], "invalid_argument");
    EXPECT_NE(result.error()["message"].get<std::string>().find("--keys-file"), std::string::npos) << result.err;
  }
}

TEST_F(CliKeys, ExplicitKeysFile) {
  const auto file = (dir_.path() / "elsewhere" / "keys.json").string();
  const auto added = run_cli({"--store", "memory:", "keys", "add", "--role", "reader", "--keys-file", file});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ASSERT_TRUE(std::filesystem::exists(file));
  const auto listed = run_cli({"keys", "list", "--keys-file", file, "--store", "memory:"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.json()["id"], added.json()["id"]);
}

TEST_F(CliKeys, CorruptKeyFileIsAnErrorNamingIt) {
  std::filesystem::create_directories(store_dir());
  std::ofstream(default_key_file()) << "{oops";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"list"}, {"add", "--role", "reader"}, {"revoke", "0123456789ab"}}) {
    const auto result = keys(args);
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_EQ(result.error()["error"], "corruption");
    EXPECT_NE(result.error()["message"].get<std::string>().find(default_key_file().string()), std::string::npos)
        << result.err;
  }
  EXPECT_EQ(read_file(default_key_file()), "{oops");
}

TEST_F(CliKeys, HelpDocumentsEveryOption) {
  const auto main_help = run_cli({"--help"});
  EXPECT_NE(main_help.out.find("keys"), std::string::npos);
  const auto keys_help = run_cli({"keys", "--help"});
  EXPECT_EQ(keys_help.exit_code, 0);
  for (const char* command : {"add", "list", "revoke"}) {
    EXPECT_NE(keys_help.out.find(command), std::string::npos) << command;
  }
  const auto add_help = run_cli({"keys", "add", "--help"});
  EXPECT_EQ(add_help.exit_code, 0);
  for (const char* option : {"--role", "--prefix", "--name", "--keys-file", "--store", "admin", "writer", "reader"}) {
    EXPECT_NE(add_help.out.find(option), std::string::npos) << option << ": " << add_help.out;
  }
  for (const char* command : {"list", "revoke"}) {
    const auto help = run_cli({"keys", command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("--keys-file"), std::string::npos) << command << ": " << help.out;
  }
}

TEST_F(CliKeys, KeysWithoutASubCommandIsBadInput) {
  const auto result = keys({});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error()["error"], "invalid_argument");
}

}  // namespace
}  // namespace evsrc::cli_test
