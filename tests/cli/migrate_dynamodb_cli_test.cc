// evsrc migrate on a dynamodb:// store: the CLI over migrate_dynamodb_tables,
// run as a process against the test run's DynamoDB server.
#include <gtest/gtest.h>

#include <string>

#include "aws/aws_test_env.h"
#include "cli/cli_runner.h"
#include "evsrc/dynamodb.h"

namespace evsrc_test {
namespace {

using evsrc::cli_test::CliResult;
using evsrc::cli_test::run_cli;

TEST(MigrateDynamoCliTest, CreatesTheTablesThenReportsThemCurrent) {
  const std::string prefix = evsrc::testing::fresh_dynamodb_prefix("migrate");
  const std::string uri = evsrc::testing::dynamodb_test_uri(prefix);
  const CliResult first = run_cli({"migrate", "--store", uri});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.json()["store"], uri);
  EXPECT_EQ(first.json()["tables"], prefix + "_*");
  EXPECT_EQ(first.json()["versionBefore"], 0);
  EXPECT_EQ(first.json()["versionAfter"], evsrc::kDynamoSchemaVersion);
  EXPECT_EQ(first.json()["tablesCreated"], 7);
  EXPECT_EQ(first.json()["migrated"], true);

  const CliResult second = run_cli({"migrate", "--store", uri});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.json()["versionBefore"], evsrc::kDynamoSchemaVersion);
  EXPECT_EQ(second.json()["tablesCreated"], 0);
  EXPECT_EQ(second.json()["migrated"], false);

  // The tables serve the other commands.
  const CliResult append = run_cli({"append", "--store", uri, "m-1", "Migrated", "{}"});
  EXPECT_EQ(append.exit_code, 0) << append.err;
  const CliResult read = run_cli({"read", "--store", uri, "m-1"});
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_NE(read.out.find("Migrated"), std::string::npos) << read.out;
  EXPECT_TRUE(evsrc::delete_dynamodb_tables(uri).ok());
}

TEST(MigrateDynamoCliTest, BadUrisAndUnreachableServersAreReported) {
  const CliResult bad = run_cli({"migrate", "--store", "dynamodb://us-east-1"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("table prefix"), std::string::npos) << bad.err;
  const CliResult unknown = run_cli({"migrate", "--store", "dynamodb://us-east-1/t?endpont=http://x"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("endpont"), std::string::npos) << unknown.err;
  const CliResult unreachable = run_cli({"migrate", "--store", "dynamodb://us-east-1/t?endpoint=http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.err;
  EXPECT_EQ(unreachable.error()["error"], "io_error") << unreachable.err;
}

}  // namespace
}  // namespace evsrc_test
