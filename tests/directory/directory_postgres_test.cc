// evsrc-directory with its read models in PostgreSQL (--read-models
// postgres://...?schema=<fresh>): the same story prints exactly what it
// prints with the default SQLite read models.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "directory/directory_runner.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc::directory_test {
namespace {

class DirectoryPostgresReadModels : public ::testing::Test {
 protected:
  void SetUp() override {
    base_uri_ = evsrc_test::postgres_test_uri();
    ASSERT_FALSE(base_uri_.empty()) << evsrc_test::postgres_test_uri_help();
    schema_ = evsrc_test::fresh_postgres_schema();
  }
  void TearDown() override {
    if (!schema_.empty()) evsrc_test::drop_postgres_schema(base_uri_, schema_);
  }

  // Runs the story on a store of its own; every command's exit code and output.
  std::vector<std::string> story(const std::string& store, const std::vector<std::string>& read_models) {
    const std::vector<std::vector<std::string>> commands = {
        {"create-user", "1", "Homer Simpson", "homer", "homer@springfield.example"},
        {"create-user", "2", "Marge Simpson", "marge", "Marge@Springfield.example"},
        {"create-user", "10", "Bart Simpson", "bart", "bart@springfield.example"},
        {"create-group", "family", "The Simpsons"},
        {"add-member", "family", "10"},
        {"add-member", "family", "1"},
        {"add-member", "family", "2"},
        {"by-username", "homer"},
        {"set-username", "1", "homers"},
        {"by-username", "homers"},
        {"by-username", "homer"},
        {"by-email", "bart@springfield.example"},
        {"members", "family"},
        {"delete-user", "2"},
        {"members", "family"},
        {"get", "2"},
        {"rebuild"},
        {"get", "1", "--json"},
        {"members", "family", "--json"},
        {"set-email", "10", "bart@Example.ORG"},
        {"get", "10"},
    };
    std::vector<std::string> outputs;
    for (std::vector<std::string> args : commands) {
      args.insert(args.begin(), {"--store", "file:" + (dir_.path() / store).string(), "--actor", "test-admin"});
      args.insert(args.end(), read_models.begin(), read_models.end());
      const RunResult result = run_directory(args);
      outputs.push_back(args[4] + " -> " + std::to_string(result.exit_code) + "\n" + result.out + result.err);
    }
    return outputs;
  }

  std::string base_uri_;
  std::string schema_;
  TempDir dir_;
};

TEST_F(DirectoryPostgresReadModels, PrintsWhatTheSqliteReadModelsPrint) {
  const std::vector<std::string> sqlite = story("sqlite-store", {});
  const std::string uri = evsrc_test::with_schema(base_uri_, schema_);
  const std::vector<std::string> postgres = story("postgres-store", {"--read-models", uri});
  ASSERT_EQ(sqlite.size(), postgres.size());
  for (std::size_t i = 0; i < sqlite.size(); ++i) EXPECT_EQ(postgres[i], sqlite[i]);
  // The read models really are in PostgreSQL (and not in a SQLite file).
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "postgres-store" / "read-models.sqlite"));
  EXPECT_NE(postgres[16].find("switched to it"), std::string::npos) << postgres[16];
}

TEST_F(DirectoryPostgresReadModels, ABadUriIsAnError) {
  const RunResult result = run_directory({"--store", "file:" + (dir_.path() / "s").string(), "--read-models",
                                          "postgres://nobody@127.0.0.1:1/none", "by-username", "homer"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("cannot connect"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace evsrc::directory_test
