// End to end: the talk's story through the evsrc-directory binary on a file:
// store — users, unique usernames, the audit trail, time travel, revert,
// groups, deletion, bad input, and a rebuild of the read models.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "directory/directory_runner.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc::directory_test {
namespace {

constexpr int kOk = 0;
constexpr int kBadInput = 2;
constexpr int kRejected = 3;
constexpr int kNotFound = 4;

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  return keys;
}

Json user(const std::string& id, const std::string& name, const std::string& username, const std::string& email,
          const std::string& api_key, std::uint64_t revision) {
  return Json{{"id", id},       {"name", name},      {"username", username},
              {"email", email}, {"apiKey", api_key}, {"revision", revision}};
}

// "2026-11-29T08:34:08.123456Z" (std::regex trips GCC 12's warnings under ASan).
bool is_rfc3339_micros(const std::string& text) {
  const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool ok = shape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> ids_of(const std::vector<Json>& users) {
  std::vector<std::string> ids;
  for (const Json& u : users) ids.push_back(u.at("id").get<std::string>());
  return ids;
}

class DirectoryStory : public ::testing::Test {
 protected:
  std::string store_dir() const { return (dir_.path() / "store").string(); }

  RunResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", "file:" + store_dir(), "--actor", "test-admin"});
    return run_directory(args);
  }
  // Runs and expects `exit_code`; on a mismatch the output is in the message.
  RunResult expect(int exit_code, std::vector<std::string> args) {
    RunResult result = run(args);
    std::string command;
    for (const std::string& arg : args) command += arg + " ";
    EXPECT_EQ(result.exit_code, exit_code) << command << "\nstdout: " << result.out << "\nstderr: " << result.err;
    return result;
  }
  // `args` with --json (after the command), expecting success and one line.
  Json json(std::vector<std::string> args) {
    args.push_back("--json");
    return expect(kOk, args).json();
  }
  std::vector<Json> json_lines(std::vector<std::string> args) {
    args.push_back("--json");
    return expect(kOk, args).json_lines();
  }
  // The stderr JSON error of a failing --json run.
  Json json_error(int exit_code, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const RunResult result = expect(exit_code, args);
    Json parsed = Json::parse(result.err, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << result.err;
    EXPECT_TRUE(result.out.empty()) << result.out;
    return parsed;
  }

  void create_the_simpsons() {
    const Json homer = json({"create-user", "1", "Homer Simpson", "homer", "homer@springfield.example"});
    EXPECT_EQ(homer, user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 0));
    EXPECT_EQ(keys_of(homer), std::vector<std::string>({"id", "name", "username", "email", "apiKey", "revision"}));
    json({"create-user", "2", "Marge Simpson", "marge", "marge@springfield.example"});
    json({"create-user", "3", "Bart Simpson", "bart", "bart@springfield.example"});
    json({"create-user", "4", "Maggie Simpson", "maggie", "maggie@springfield.example"});
  }

  TempDir dir_;
};

TEST_F(DirectoryStory, TheTalksStory) {
  create_the_simpsons();

  // Maggie is renamed "Lisa Jr"; Homer's username becomes "homers".
  EXPECT_EQ(json({"set-name", "4", "Lisa Jr"}), user("4", "Lisa Jr", "maggie", "maggie@springfield.example", "", 1));
  EXPECT_EQ(json({"set-username", "1", "homers"}),
            user("1", "Homer Simpson", "homers", "homer@springfield.example", "", 1));
  EXPECT_EQ(json({"set-api-key", "2", "k-marge-1"}),
            user("2", "Marge Simpson", "marge", "marge@springfield.example", "k-marge-1", 1));

  // Queries read the read models, which see every command before them.
  EXPECT_EQ(json({"get", "4"}), user("4", "Lisa Jr", "maggie", "maggie@springfield.example", "", 1));
  EXPECT_EQ(json({"by-username", "homers"}), user("1", "Homer Simpson", "homers", "homer@springfield.example", "", 1));
  expect(kNotFound, {"by-username", "homer"});
  EXPECT_EQ(json({"by-email", "marge@springfield.example"}),
            user("2", "Marge Simpson", "marge", "marge@springfield.example", "k-marge-1", 1));
  expect(kNotFound, {"by-email", "nobody@springfield.example"});
  expect(kNotFound, {"get", "99"});

  // Homer's audit trail: who, when, and Homer after each event.
  const std::vector<Json> history = json_lines({"history", "1"});
  ASSERT_EQ(history.size(), 2u);
  for (std::size_t i = 0; i < history.size(); ++i) {
    const Json& entry = history[i];
    const std::vector<std::string> keys = keys_of(entry);
    ASSERT_GE(keys.size(), 4u);
    EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 4),
              std::vector<std::string>({"revision", "type", "recordedAt", "user"}));
    EXPECT_EQ(entry["revision"], i);
    EXPECT_TRUE(is_rfc3339_micros(entry["recordedAt"].get<std::string>())) << entry;
    EXPECT_EQ(entry["actor"], "test-admin");
  }
  EXPECT_EQ(history[0]["type"], "UserCreated");
  EXPECT_EQ(history[0]["user"], user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 0));
  EXPECT_EQ(history[1]["type"], "UsernameSet");
  EXPECT_EQ(history[1]["user"], user("1", "Homer Simpson", "homers", "homer@springfield.example", "", 1));
  const std::string created_at = history[0]["recordedAt"];
  const std::string renamed_at = history[1]["recordedAt"];
  EXPECT_LT(created_at, renamed_at);

  // Time travel, by revision and by the store's recorded time.
  EXPECT_EQ(json({"get", "1", "--at-revision", "0"}),
            user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 0));
  EXPECT_EQ(json({"get", "1", "--at-time", created_at}),
            user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 0));
  EXPECT_EQ(json({"get", "1", "--at-time", renamed_at}),
            user("1", "Homer Simpson", "homers", "homer@springfield.example", "", 1));
  expect(kNotFound, {"get", "1", "--at-time", "2000-01-01T00:00:00Z"});
  expect(kNotFound, {"get", "1", "--at-revision", "7"});
  // The human output of time travel says which point it shows.
  EXPECT_NE(expect(kOk, {"get", "1", "--at-revision", "0"}).out.find("username:      homer\n"), std::string::npos);

  // Revert Homer's username change: "homer" is claimed back, "homers" released.
  const Json reverted = json({"revert", "1", "0"});
  EXPECT_EQ(reverted, user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 2));
  EXPECT_EQ(json({"by-username", "homer"})["id"], "1");
  expect(kNotFound, {"by-username", "homers"});
  const std::vector<Json> after_revert = json_lines({"history", "1"});
  ASSERT_EQ(after_revert.size(), 3u);
  EXPECT_EQ(after_revert[2]["type"], "UsernameSet");
  EXPECT_EQ(after_revert[2]["revertedTo"], 0);
  EXPECT_EQ(after_revert[2]["user"]["username"], "homer");
  // History is intact: the state at revision 1 is still "homers".
  EXPECT_EQ(json({"get", "1", "--at-revision", "1"})["username"], "homers");

  // "homers" is free again; "homer" is not.
  EXPECT_EQ(json({"set-username", "3", "homers"})["username"], "homers");
  EXPECT_EQ(json_error(kRejected, {"set-username", "2", "homer"})["error"], "rejected");
  EXPECT_NE(run({"set-username", "2", "homer"}).err.find("username homer is taken"), std::string::npos);
  expect(kRejected, {"create-user", "5", "Ned Flanders", "homer", "ned@springfield.example"});
  expect(kRejected, {"create-user", "2", "Marge Again", "marge2", "marge@springfield.example"});
  // A revert that would take a username someone else holds now is rejected.
  expect(kRejected, {"revert", "1", "1"});
  EXPECT_EQ(json({"get", "1"}), user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 2));

  // Groups.
  const Json family = json({"create-group", "family", "The Simpsons"});
  EXPECT_EQ(family["id"], "family");
  EXPECT_EQ(family["name"], "The Simpsons");
  for (const char* member : {"1", "2", "3", "4"}) json({"add-member", "family", member});
  EXPECT_EQ(ids_of(json_lines({"members", "family"})), std::vector<std::string>({"1", "2", "3", "4"}));
  EXPECT_EQ(json_lines({"members", "family"})[3], user("4", "Lisa Jr", "maggie", "maggie@springfield.example", "", 1));
  EXPECT_EQ(json({"remove-member", "family", "2"})["members"], Json::array({"1", "3", "4"}));
  EXPECT_EQ(ids_of(json_lines({"members", "family"})), std::vector<std::string>({"1", "3", "4"}));
  expect(kNotFound, {"members", "nobody"});
  expect(kNotFound, {"add-member", "family", "99"});
  expect(kNotFound, {"add-member", "nobody", "1"});

  // Deleting Bart releases his username; commands on him are rejected and
  // queries do not find him, but his history stays.
  json({"delete-user", "3"});
  expect(kNotFound, {"get", "3"});
  expect(kNotFound, {"by-username", "homers"});
  expect(kRejected, {"set-name", "3", "Bartholomew"});
  expect(kRejected, {"delete-user", "3"});
  expect(kRejected, {"revert", "3", "0"});
  json({"create-group", "school", "Springfield Elementary"});
  expect(kRejected, {"add-member", "school", "3"});
  EXPECT_EQ(ids_of(json_lines({"members", "family"})), std::vector<std::string>({"1", "4"}));
  const std::vector<Json> bart = json_lines({"history", "3"});
  ASSERT_EQ(bart.size(), 3u);
  EXPECT_EQ(bart.back()["type"], "UserDeleted");
  expect(kNotFound, {"get", "3", "--at-revision", "2"});
  EXPECT_EQ(json({"get", "3", "--at-revision", "0"}),
            user("3", "Bart Simpson", "bart", "bart@springfield.example", "", 0));
  EXPECT_EQ(json({"set-username", "4", "homers"})["username"], "homers");

  // Rebuild: users v2 (with the derived email_domain) replaces v1.
  const Json before = json({"get", "1"});
  EXPECT_EQ(expect(kOk, {"get", "1"}).out.find("email domain"), std::string::npos);
  const std::vector<Json> steps = json_lines({"rebuild"});
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0]["projection"], "users");
  EXPECT_EQ(steps[0]["from"], 1);
  EXPECT_EQ(steps[0]["to"], 2);
  EXPECT_EQ(steps[0]["tables"], Json::array({"users_v2"}));
  EXPECT_EQ(steps[0]["dropped"], Json::array({"users_v1"}));
  EXPECT_EQ(json({"get", "1"}), before);
  EXPECT_NE(expect(kOk, {"get", "1"}).out.find("email domain:  springfield.example"), std::string::npos);
  EXPECT_EQ(json({"by-username", "homers"})["id"], "4");
  EXPECT_EQ(json({"by-email", "homer@springfield.example"})["id"], "1");
  EXPECT_EQ(ids_of(json_lines({"members", "family"})), std::vector<std::string>({"1", "4"}));
  expect(kNotFound, {"get", "3"});

  // The read models live in the store's directory; v1's table is gone.
  {
    SqliteOpenOptions existing;
    existing.create = false;
    auto db = SqliteDatabase::open(store_dir() + "/read-models.sqlite", existing);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    auto domain = db->prepare("SELECT email_domain FROM users_v2 WHERE id = '1'");
    ASSERT_TRUE(domain.ok()) << domain.status().to_string();
    ASSERT_TRUE(domain->step().value());
    EXPECT_EQ(domain->column_text(0), "springfield.example");
    auto old = db->prepare("SELECT count(*) FROM sqlite_master WHERE name = 'users_v1'");
    ASSERT_TRUE(old.ok());
    ASSERT_TRUE(old->step().value());
    EXPECT_EQ(old->column_int64(0), 0);
  }

  // Commands after the switch update the new model.
  json({"set-email", "1", "homer@plant.example"});
  EXPECT_EQ(json({"by-email", "homer@plant.example"})["id"], "1");
  EXPECT_NE(expect(kOk, {"get", "1"}).out.find("email domain:  plant.example"), std::string::npos);
}

TEST_F(DirectoryStory, BadInputExitsTwo) {
  create_the_simpsons();
  expect(kBadInput, {"create-user", "5", "Ned Flanders"});                         // missing arguments
  expect(kBadInput, {"create-user", "5", "Ned Flanders", "ned flanders", "n@x"});  // username with a space
  expect(kBadInput, {"create-user", "5", "Ned Flanders", "ned", "not-an-email"});
  expect(kBadInput, {"create-user", "a/b", "Ned Flanders", "ned", "ned@x"});
  expect(kBadInput, {"set-email", "1", "not-an-email"});
  expect(kBadInput, {"get", "1", "--at-revision", "abc"});
  expect(kBadInput, {"get", "1", "--at-time", "yesterday"});
  expect(kBadInput, {"get", "1", "--at-revision", "0", "--at-time", "2026-01-01T00:00:00Z"});
  expect(kBadInput, {"revert", "1", "99"});
  expect(kBadInput, {"revert", "1", "-1"});
  expect(kBadInput, {"get", "1", "--at-revision", "-1"});
  expect(kBadInput, {"get", "1", "--at-revision", "18446744073709551616"});
  expect(kBadInput, {"frobnicate"});
  expect(kBadInput, {});
  expect(kBadInput, {"get", "1", "--no-such-flag"});
  const Json error = json_error(kBadInput, {"set-name", "1", ""});
  EXPECT_EQ(error["error"], "invalid_argument");
  EXPECT_TRUE(error.contains("message"));
  // Nothing was written by any of them.
  EXPECT_EQ(json({"get", "1"}), user("1", "Homer Simpson", "homer", "homer@springfield.example", "", 0));
  expect(kNotFound, {"get", "5"});
}

TEST_F(DirectoryStory, JsonFlagBeforeOrAfterTheCommandAndHumanOutput) {
  const RunResult human = expect(kOk, {"create-user", "1", "Homer Simpson", "homer", "homer@springfield.example"});
  EXPECT_NE(human.out.find("user 1 (revision 0)"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("Homer Simpson"), std::string::npos);
  const RunResult before = expect(kOk, {"--json", "get", "1"});
  const RunResult after = expect(kOk, {"get", "1", "--json"});
  EXPECT_EQ(before.out, after.out);
  EXPECT_EQ(before.json()["id"], "1");
  const RunResult history = expect(kOk, {"history", "1"});
  EXPECT_NE(history.out.find("UserCreated"), std::string::npos);
  EXPECT_NE(history.out.find("test-admin"), std::string::npos);
}

TEST_F(DirectoryStory, SettingTheSameValueWritesNothing) {
  json({"create-user", "1", "Homer Simpson", "homer", "homer@springfield.example"});
  EXPECT_EQ(json({"set-name", "1", "Homer Simpson"})["revision"], 0);
  EXPECT_EQ(json({"set-username", "1", "homer"})["revision"], 0);
  EXPECT_EQ(json_lines({"history", "1"}).size(), 1u);
}

TEST(DirectoryMemoryStore, EachRunHasItsOwnEmptyStore) {
  const RunResult created =
      run_directory({"--store", "memory:", "--json", "create-user", "1", "Homer Simpson", "homer", "h@x.example"});
  EXPECT_EQ(created.exit_code, kOk) << created.err;
  EXPECT_EQ(created.json()["id"], "1");
  EXPECT_EQ(run_directory({"--store", "memory:", "get", "1"}).exit_code, kNotFound);
  const RunResult rebuilt = run_directory({"--store", "memory:", "--json", "rebuild"});
  EXPECT_EQ(rebuilt.exit_code, kOk) << rebuilt.err;
  EXPECT_EQ(rebuilt.json_lines().size(), 3u);
}

}  // namespace
}  // namespace evsrc::directory_test
