// `evsrc forward kinesis` end to end: the CLI binary against kinesalite.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "aws/aws_test_env.h"
#include "evsrc/kinesis.h"
#include "kinesis/kinesis_test_helpers.h"

namespace evsrc {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CliRun run_cli(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  std::string command = quoted(EVSRC_CLI_PATH);
  for (const std::string& arg : args) command += " " + quoted(arg);
  const std::filesystem::path err_file = scratch / "stderr.txt";
  command += " 2>" + quoted(err_file.string()) + " </dev/null";
  CliRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, got);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream err(err_file);
  std::stringstream text;
  text << err.rdbuf();
  run.err = text.str();
  return run;
}

TEST(ForwardKinesisCli, OnceForwardsWhatIsCommittedFromTheCheckpoint) {
  kinesis_test::TempDir dir;
  const std::string store_uri = "file:" + (dir.path() / "store").string();
  {
    auto store = open_store(store_uri);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int i = 0; i < 5; ++i) {
      EventData event{Uuid(), "Happened", "{\"i\":" + std::to_string(i) + "}", "", "application/json"};
      ASSERT_TRUE((*store)->append("cli-" + std::to_string(i % 2), ExpectedRevision::any(), std::span(&event, 1)).ok());
    }
    ASSERT_TRUE((*store)->close().ok());
  }
  KinesisEndpoint endpoint;
  endpoint.url = testing::kinesis_test_endpoint();
  endpoint.stream = testing::fresh_kinesis_stream_name("cli");
  const std::vector<std::string> common = {
      "forward",       "kinesis",    "--store",    store_uri,       "--stream",
      endpoint.stream, "--endpoint", endpoint.url, "--checkpoints", (dir.path() / "checkpoints").string()};

  // A missing stream: say how to create it.
  std::vector<std::string> args = common;
  args.push_back("--once");
  CliRun missing = run_cli(args, dir.path());
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("--create-stream"), std::string::npos) << missing.err;

  args.insert(args.end(), {"--create-stream", "--shards", "2"});
  CliRun first = run_cli(args, dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto line = nlohmann::json::parse(first.out);
  EXPECT_EQ(line["forwarded"], 5);
  EXPECT_EQ(line["stream"], endpoint.stream);
  EXPECT_TRUE(line["position"].is_number());

  CliRun second = run_cli(args, dir.path());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["forwarded"], 0);

  std::size_t records = 0;
  for (const auto& [shard, events] : kinesis_test::read_every_shard(endpoint)) records += events.size();
  EXPECT_EQ(records, 5u);
}

TEST(ForwardKinesisCli, FileStoresNeedACheckpointDirectory) {
  kinesis_test::TempDir dir;
  CliRun run = run_cli({"forward", "kinesis", "--store", "memory:", "--stream", "s", "--once"}, dir.path());
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("--checkpoints"), std::string::npos) << run.err;
}

TEST(ForwardKinesisCli, StreamIsRequired) {
  kinesis_test::TempDir dir;
  CliRun run = run_cli({"forward", "kinesis", "--store", "memory:"}, dir.path());
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("--stream"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace evsrc
