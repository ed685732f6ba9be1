// evsrc migrate: the CLI over migrate_postgres_schema, run as a process.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/cli_runner.h"
#include "evsrc/postgres.h"
#include "evsrc/postgres_connection.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using evsrc::cli_test::CliResult;
using evsrc::cli_test::run_cli;

class MigrateCliTest : public FreshPostgresSchema {};

TEST_F(MigrateCliTest, CreatesTheSchemaThenReportsItCurrent) {
  const CliResult first = run_cli({"migrate", "--store", uri_});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto line = first.json();
  EXPECT_EQ(line["store"], uri_);
  EXPECT_EQ(line["schema"], schema_);
  EXPECT_EQ(line["versionBefore"], 0);
  EXPECT_EQ(line["versionAfter"], evsrc::kPostgresSchemaVersion);
  EXPECT_EQ(line["migrated"], true);

  const CliResult second = run_cli({"--store", uri_, "migrate"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.json()["versionBefore"], evsrc::kPostgresSchemaVersion);
  EXPECT_EQ(second.json()["migrated"], false);

  // The migrated store is usable by the other commands.
  const CliResult append = run_cli({"append", "--store", uri_, "m-1", "Migrated", "{}"});
  EXPECT_EQ(append.exit_code, 0) << append.err;
}

TEST_F(MigrateCliTest, NeverPrintsThePassword) {
  // The test cluster trusts local connections, so any password is accepted.
  const std::string with_password = "postgresql://evsrc:s3cret-pw@" + base_.substr(base_.find('@') + 1);
  const CliResult result = run_cli({"migrate", "--store", with_schema(with_password, schema_)});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.find("s3cret-pw"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("evsrc:***@"), std::string::npos) << result.out;

  const CliResult refused =
      run_cli({"migrate", "--store", "postgresql://evsrc:s3cret-pw@127.0.0.1:1/evsrc?password=pw-two"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_EQ(refused.error()["error"], "io_error") << refused.err;
  EXPECT_EQ(refused.err.find("s3cret-pw"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("pw-two"), std::string::npos) << refused.err;
}

TEST_F(MigrateCliTest, OtherStoresAreBadInput) {
  for (const std::string& store :
       std::vector<std::string>{"memory:", "file:" + ::testing::TempDir() + "evsrc-migrate-none"}) {
    const CliResult result = run_cli({"migrate", "--store", store});
    EXPECT_EQ(result.exit_code, 2) << store << ": " << result.err;
    EXPECT_EQ(result.error()["error"], "invalid_argument") << result.err;
    EXPECT_NE(result.err.find("postgres://"), std::string::npos) << result.err;
    EXPECT_TRUE(result.out.empty()) << result.out;
  }
  const CliResult bad_parameter = run_cli({"migrate", "--store", uri_ + "&pool=0"});
  EXPECT_EQ(bad_parameter.exit_code, 2) << bad_parameter.err;
  const CliResult server = run_cli({"migrate", "--server", "http://127.0.0.1:1", "--store", uri_});
  EXPECT_EQ(server.exit_code, 2) << server.err;
}

TEST_F(MigrateCliTest, ASchemaNewerThanThisEvsrcIsAnError) {
  ASSERT_EQ(run_cli({"migrate", "--store", uri_}).exit_code, 0);
  evsrc::PostgresConnectOptions options;
  options.schema = schema_;
  auto connection = evsrc::PostgresConnection::connect(evsrc::parse_postgres_uri(base_)->libpq_uri, options);
  ASSERT_TRUE(connection.ok()) << connection.status().to_string();
  ASSERT_TRUE(connection->execute("UPDATE evsrc_schema_version SET version = version + 1").ok());
  const CliResult result = run_cli({"migrate", "--store", uri_});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_EQ(result.error()["error"], "corruption") << result.err;
  EXPECT_EQ(result.error()["schema"], schema_) << result.err;
}

TEST_F(MigrateCliTest, HelpNamesTheCommand) {
  const CliResult help = run_cli({"migrate", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("postgres://"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("versionBefore"), std::string::npos) << help.out;
  const CliResult top = run_cli({"--help"});
  EXPECT_NE(top.out.find("migrate"), std::string::npos) << top.out;
}

}  // namespace
}  // namespace evsrc_test
