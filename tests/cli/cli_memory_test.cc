// CLI behaviour that a single invocation shows, run against memory:.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <thread>

#include "cli/cli_runner.h"

namespace evsrc::cli_test {
namespace {

const std::string kMemory = "--store=memory:";

TEST(CliHelp, MainAndEverySubCommandHaveHelpAndExitZero) {
  const auto main_help = run_cli({"--help"});
  EXPECT_EQ(main_help.exit_code, 0);
  for (const char* command :
       {"append", "read", "read-all", "tail", "import", "export", "streams", "stats", "verify", "bench"}) {
    EXPECT_NE(main_help.out.find(command), std::string::npos) << command;
    const auto help = run_cli({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_NE(help.out.find("--store"), std::string::npos) << command << ": " << help.out;
  }
}

TEST(CliErrors, ParseErrorsExitTwoWithJsonOnStderr) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"no-such-command"}, {"append", "user-1"}, {"read", "s", "--limit", "ten"}, {"stats", "--bogus"}}) {
    const auto result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_EQ(result.error()["error"], "invalid_argument") << result.err;
    EXPECT_TRUE(result.out.empty());
  }
}

TEST(CliErrors, UnknownStoreSchemeIsBadInput) {
  const auto result = run_cli({"stats", "--store", "nosuch:x"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error()["error"], "invalid_argument");
}

TEST(CliAppend, PrintsStreamRevisionPosition) {
  const auto result = run_cli({kMemory, "append", "user-1", "UserRegistered", R"({"name":"ada"})"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["stream"], "user-1");
  EXPECT_EQ(lines[0]["revision"], 0);
  EXPECT_TRUE(lines[0]["position"].is_number_unsigned());
  EXPECT_EQ(lines[0].size(), 3u);
}

TEST(CliAppend, GlobalStoreOptionAfterTheSubCommand) {
  const auto result = run_cli({"append", "user-1", "T", "{}", "--store", "memory:", "--expected", "no-stream"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST(CliAppend, WrongExpectedRevisionExitsThreeWithActual) {
  auto result = run_cli({kMemory, "append", "user-1", "T", "{}", "--expected", "exists"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.error()["error"], "wrong_expected_revision");
  EXPECT_TRUE(result.error().contains("actual"));
  EXPECT_TRUE(result.error()["actual"].is_null());
  result = run_cli({kMemory, "append", "user-1", "T", "{}", "--expected", "4"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_TRUE(result.out.empty());
}

TEST(CliAppend, BadInputExitsTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {kMemory, "append", "user-1", "T", "{not json"},
      {kMemory, "append", "user-1", "T", "{}", "--expected", "sometimes"},
      {kMemory, "append", "user-1", "T", "{}", "--id", "not-a-uuid"},
      {kMemory, "append", "user-1", "T", "{}", "--metadata", "[1]"},
      {kMemory, "append", "$reserved", "T", "{}"},
      {kMemory, "append", "user-1", "", "{}"},
  };
  for (const auto& args : cases) {
    const auto result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2) << args[3] << " " << args.back() << ": " << result.err;
    EXPECT_EQ(result.error()["error"], "invalid_argument") << result.err;
  }
}

TEST(CliImport, TooLargeEventExitsTwo) {
  // Too big for a command-line argument (128 KiB at most), so through import.
  const std::string line = R"({"stream":"user-1","type":"T","data":")" + std::string(2 << 20, 'x') + "\"}\n";
  const auto result = run_cli({kMemory, "import", "-"}, line);
  EXPECT_EQ(result.exit_code, 2) << result.err.substr(0, 300);
  EXPECT_EQ(result.error()["error"], "too_large");
  EXPECT_EQ(result.error()["line"], 1);
}

TEST(CliRead, MissingStreamIsNotFound) {
  const auto result = run_cli({kMemory, "read", "user-1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], "not_found");
}

TEST(CliReadAll, EmptyStorePrintsNothing) {
  const auto result = run_cli({kMemory, "read-all", "--prefix", "user-", "--type", "T"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.out.empty());
}

TEST(CliStats, EmptyMemoryStore) {
  const auto result = run_cli({"stats", kMemory});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["events"], 0);
  EXPECT_EQ(lines[0]["streams"], 0);
  EXPECT_EQ(lines[0]["segments"], 0);
  EXPECT_TRUE(lines[0].contains("bytes"));
  EXPECT_TRUE(lines[0]["lastPosition"].is_null());
}

TEST(CliImport, GroupsConsecutiveLinesOfAStreamAndReportsASummary) {
  const std::string input =
      R"({"stream":"a-1","type":"T","data":{"n":1}})"
      "\n"
      R"({"stream":"a-1","type":"T","data":{"n":2}})"
      "\n"
      R"({"stream":"b-1","type":"T","data":"plain text","metadata":{"m":1}})"
      "\n"
      "\n"
      R"({"stream":"a-1","type":"T","data":3,"expected":1})"
      "\n"
      R"({"stream":"a-1","type":"T","data":4})"
      "\n"
      R"({"stream":"a-1","type":"T","data":5,"expected":"3","id":"6f9619ff-8b86-d011-b42d-00cf4fc964ff"})"
      "\n";
  const auto result = run_cli({kMemory, "import", "-"}, input);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], (Json{{"events", 6}, {"appends", 4}}));
}

TEST(CliImport, BadLineExitsTwoNamingTheLine) {
  const std::string input = R"({"stream":"a-1","type":"T","data":{}})"
                            "\n"
                            R"({"stream":"a-1","type":"T","data":{})"
                            "\n";
  const auto result = run_cli({kMemory, "import", "-"}, input);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error()["error"], "invalid_argument");
  EXPECT_EQ(result.error()["line"], 2);
  EXPECT_NE(result.error()["message"].get<std::string>().find("line 2"), std::string::npos);
}

TEST(CliImport, MissingFieldsAndBadExpectationsAreBadInput) {
  for (const std::string line : {R"({"type":"T","data":{}})", R"({"stream":"s","data":{}})",
                                 R"({"stream":"s","type":"T"})", R"({"stream":"s","type":"T","data":1,"id":"x"})",
                                 R"({"stream":"s","type":"T","data":1,"expected":"maybe"})", R"([1,2])"}) {
    const auto result = run_cli({kMemory, "import", "-"}, line + "\n");
    EXPECT_EQ(result.exit_code, 2) << line;
    EXPECT_EQ(result.error()["line"], 1) << line;
  }
}

TEST(CliImport, WrongExpectationExitsThreeNamingTheLine) {
  const std::string input = R"({"stream":"a-1","type":"T","data":{}})"
                            "\n"
                            R"({"stream":"a-1","type":"T","data":{}})"
                            "\n"
                            R"({"stream":"a-1","type":"T","data":{},"expected":"no-stream"})"
                            "\n";
  const auto result = run_cli({kMemory, "import", "-"}, input);
  EXPECT_EQ(result.exit_code, 3);
  const auto error = result.error();
  EXPECT_EQ(error["error"], "wrong_expected_revision");
  EXPECT_EQ(error["actual"], 1);
  EXPECT_EQ(error["line"], 3);
  EXPECT_EQ(error["events"], 2);  // appended before the failure
}

TEST(CliImport, MissingFileIsBadInput) {
  const auto result = run_cli({kMemory, "import", "/nonexistent/evsrc-import.jsonl"});
  EXPECT_EQ(result.exit_code, 2);
}

TEST(CliStreams, EmptyStoreListsNothing) {
  const auto result = run_cli({kMemory, "streams", "--prefix", "user-"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.out.empty());
}

TEST(CliVerify, EmptyMemoryStoreIsConsistent) {
  const auto result = run_cli({kMemory, "verify"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["ok"], true);
  EXPECT_EQ(lines[0]["events"], 0);
}

TEST(CliTail, StopsCleanlyOnSigintAndSigterm) {
  for (const int signal : {SIGINT, SIGTERM}) {
    TempDir dir;
    BackgroundCli tail({kMemory, "tail", "--from", "0"}, dir.path() / "out", dir.path() / "err");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(tail.stop(signal), 0) << read_file(dir.path() / "err");
    EXPECT_EQ(read_file(dir.path() / "err"), "");
  }
}

}  // namespace
}  // namespace evsrc::cli_test
