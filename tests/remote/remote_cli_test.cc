// `evsrc --server URL` against a real evsrcd child process: every sub-command
// runs the same commands against a local file: store and against the server
// (itself on a file: store), and must print the same JSON lines, the same
// errors and exit with the same code. Only recordedAt and random event ids
// may differ.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli/cli_runner.h"
#include "remote/evsrcd_process.h"

namespace evsrc::remote_test {
namespace {

using cli_test::CliResult;
using cli_test::Json;
using cli_test::run_cli;
using cli_test::TempDir;

// recordedAt is the time of each store's own commit, and events appended
// without an id get a random one.
Json without_times_and_ids(Json line) {
  if (line.is_object()) {
    line.erase("recordedAt");
    line.erase("id");
  }
  return line;
}

Json without_message(Json error) {
  if (error.is_object()) error.erase("message");
  return error;
}

std::vector<Json> comparable_lines(const CliResult& result) {
  std::vector<Json> lines;
  for (const Json& line : result.json_lines()) lines.push_back(without_times_and_ids(line));
  return lines;
}

class RemoteCli : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<EvsrcdProcess>("file:" + (dir_.path() / "served").string(), dir_.path());
    ASSERT_TRUE(server_->ok()) << server_->error();
  }

  void TearDown() override {
    if (server_) {
      const std::string log = server_->log();
      EXPECT_EQ(server_->stop(SIGTERM), 0) << "evsrcd did not shut down cleanly: " << log;
    }
  }

  std::string local_uri() const { return "file:" + (dir_.path() / "local").string(); }

  CliResult run_local(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.end(), {"--store", local_uri()});
    return run_cli(args, input);
  }

  CliResult run_remote(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.end(), {"--server", server_->url()});
    return run_cli(args, input);
  }

  // Runs `args` both ways and checks that exit code, stdout lines (but
  // recordedAt) and the stderr error line agree; returns the remote result.
  CliResult expect_same(const std::vector<std::string>& args, const std::string& input = "") {
    const CliResult local = run_local(args, input);
    const CliResult remote = run_remote(args, input);
    std::string command;
    for (const std::string& arg : args) command += arg + " ";
    EXPECT_EQ(remote.exit_code, local.exit_code) << command << "\nlocal: " << local.err << "\nremote: " << remote.err;
    EXPECT_EQ(comparable_lines(remote), comparable_lines(local)) << command;
    // The server checks requests itself, in its own words: the error code
    // and its fields must agree, the message need not.
    EXPECT_EQ(without_message(remote.error()), without_message(local.error())) << command;
    return remote;
  }

  TempDir dir_;
  std::unique_ptr<EvsrcdProcess> server_;
};

constexpr const char* kId = "0b7e4f4c-3f6e-4c1e-9a47-5d6c2b1a0f11";

TEST_F(RemoteCli, AppendsAndTheirErrorsMatchTheLocalStore) {
  // Data as typed (with spaces: stored byte for byte), a JSON string, an
  // array, metadata (compact: the server stores metadata objects compact),
  // an id.
  EXPECT_EQ(expect_same({"append", "user-1", "Registered", R"({"name": "ann", "score": 1.50})", "--id", kId,
                         "--metadata", R"({"by":"cli"})"})
                .exit_code,
            0);
  EXPECT_EQ(expect_same({"append", "user-1", "Renamed", R"("plain string")"}).exit_code, 0);
  EXPECT_EQ(expect_same({"append", "user-2", "Registered", "[1,2,3]", "--expected", "no-stream"}).exit_code, 0);
  // An idempotent retry: the original result, nothing written.
  EXPECT_EQ(expect_same({"append", "user-1", "Registered", R"({"name": "ann", "score": 1.50})", "--id", kId,
                         "--metadata", R"({"by":"cli"})", "--expected", "no-stream"})
                .exit_code,
            0);

  // Wrong expectations: exit 3 with the actual revision (null when absent).
  CliResult wrong = expect_same({"append", "user-2", "Again", "{}", "--expected", "no-stream"});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_EQ(wrong.error()["actual"], Json(0));
  // Store errors keep the store's message.
  EXPECT_EQ(wrong.error(), run_local({"append", "user-2", "Again", "{}", "--expected", "no-stream"}).error());
  wrong = expect_same({"append", "user-1", "Again", "{}", "--expected", "5"});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_EQ(wrong.error()["actual"], Json(1));
  wrong = expect_same({"append", "user-3", "Again", "{}", "--expected", "exists"});
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_TRUE(wrong.error()["actual"].is_null());

  // Bad input: exit 2, nothing written.
  EXPECT_EQ(expect_same({"append", "user-1", "Bad", "{not json"}).exit_code, 2);
  EXPECT_EQ(expect_same({"append", "user-1", "Bad", "{}", "--expected", "sometime"}).exit_code, 2);
  EXPECT_EQ(expect_same({"append", "$reserved", "Bad", "{}"}).exit_code, 2);
  EXPECT_EQ(expect_same({"append", "user-1", "", "{}"}).exit_code, 2);
  EXPECT_EQ(expect_same({"append", "user-1", std::string(300, 't'), "{}"}).exit_code, 2);
  EXPECT_EQ(expect_same({"append", "user-1", "Bad", "{}", "--id", "not-a-uuid"}).exit_code, 2);

  // Same ids at another place: idempotency_conflict, exit 1.
  EXPECT_EQ(expect_same({"append", "user-9", "Registered", "{}", "--id", kId}).exit_code, 1);

  EXPECT_EQ(expect_same({"stats"}).json()["events"], Json(3));
}

TEST_F(RemoteCli, ReadsListingsAndStatsMatchTheLocalStore) {
  const std::vector<std::vector<std::string>> appends = {
      {"append", "user-1", "Registered", R"({"name": "ann"})", "--metadata", R"({"by":"cli"})"},
      {"append", "user-1", "Renamed", R"({"name": "bob"})"},
      {"append", "user-2", "Registered", R"("text, not JSON")"},
      {"append", "users-7", "Registered", "3.25"},
      {"append", "order-1", "Placed", R"({"total": 12, "items": [{"sku": "a\u00e9"}]})"},
      {"append", "user", "Seen", "null"},
      {"append", "user-1", "Deleted", "{}"},
  };
  for (const auto& append : appends) ASSERT_EQ(expect_same(append).exit_code, 0);

  EXPECT_EQ(expect_same({"read", "user-1"}).json_lines().size(), 3u);
  EXPECT_EQ(expect_same({"read", "user-1", "--backward", "--limit", "2"}).json_lines().size(), 2u);
  EXPECT_EQ(expect_same({"read", "user-1", "--from", "1"}).json_lines().size(), 2u);
  EXPECT_EQ(expect_same({"read", "user-1", "--from", "9"}).json_lines().size(), 0u);
  const CliResult missing = expect_same({"read", "nobody-1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.error()["error"], Json("not_found"));

  EXPECT_EQ(expect_same({"read-all"}).json_lines().size(), 7u);
  EXPECT_EQ(expect_same({"read-all", "--backward", "--limit", "3"}).json_lines().size(), 3u);
  EXPECT_EQ(expect_same({"read-all", "--from", "2", "--limit", "2"}).json_lines().size(), 2u);
  EXPECT_EQ(expect_same({"read-all", "--prefix", "user-"}).json_lines().size(), 4u);
  // The category "user" is user and user-*, not users-7.
  EXPECT_EQ(expect_same({"read-all", "--category", "user"}).json_lines().size(), 5u);
  EXPECT_EQ(expect_same({"read-all", "--type", "Registered"}).json_lines().size(), 3u);
  EXPECT_EQ(expect_same({"read-all", "--category", "user", "--type", "Registered", "--backward"}).json_lines().size(),
            2u);

  EXPECT_EQ(expect_same({"streams"}).json_lines().size(), 5u);
  EXPECT_EQ(expect_same({"streams", "--prefix", "user-"}).json_lines().size(), 2u);
  const Json stats = expect_same({"stats"}).json();
  EXPECT_EQ(stats["events"], Json(7));
  EXPECT_EQ(stats["streams"], Json(5));
}

TEST_F(RemoteCli, ImportAndExportMatchTheLocalStore) {
  const std::string lines =
      R"({"stream":"cart-1","type":"Added","data":{"sku":"x","qty": 2}})"
      "\n"
      R"({"stream":"cart-1","type":"Added","data":"raw text","metadata":{"m":1}})"
      "\n"
      "\n"
      R"({"stream":"cart-2","type":"Added","data":[true,false],"id":"6f1c9a50-0d8e-4b59-8f43-2a3c51e3c0d7"})"
      "\n"
      R"({"stream":"cart-1","type":"Paid","data":{},"expected":1})"
      "\n";
  const std::filesystem::path file = dir_.path() / "events.jsonl";
  std::ofstream(file) << lines;
  EXPECT_EQ(expect_same({"import", file.string()}).json(), Json({{"events", 4}, {"appends", 3}}));
  EXPECT_EQ(expect_same({"export"}).json_lines().size(), 4u);
  EXPECT_EQ(expect_same({"export", "--prefix", "cart-2"}).json_lines().size(), 1u);
  expect_same({"export", "--type", "Added", "--from", "1"});

  // From stdin; a failing expectation names the line, exit 3.
  const CliResult conflict =
      expect_same({"import", "-"}, R"({"stream":"cart-2","type":"Added","data":{},"expected":"no-stream"})"
                                   "\n");
  EXPECT_EQ(conflict.exit_code, 3);
  EXPECT_EQ(conflict.error()["line"], Json(1));
  // A malformed line: exit 2, nothing of it written.
  const CliResult malformed = expect_same({"import", "-"}, R"({"stream":"cart-3","type":"Added"})"
                                                           "\n");
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_EQ(expect_same({"stats"}).json()["events"], Json(4));
}

TEST_F(RemoteCli, TailFollowsTheServerLikeTheLocalStore) {
  ASSERT_EQ(run_remote({"append", "feed-1", "First", R"({"n":1})"}).exit_code, 0);
  const std::filesystem::path out = dir_.path() / "tail.out";
  const std::filesystem::path err = dir_.path() / "tail.err";
  cli_test::BackgroundCli tail({"tail", "--from", "0", "--prefix", "feed-", "--server", server_->url()}, out, err);
  for (int i = 2; i <= 4; ++i) {
    ASSERT_EQ(run_remote({"append", "feed-1", "Next", "{\"n\":" + std::to_string(i) + "}"}).exit_code, 0);
  }
  ASSERT_EQ(run_remote({"append", "other-1", "Noise", "{}"}).exit_code, 0);
  // Waits (bounded) for the four feed events to be printed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t printed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = cli_test::read_file(out);
    printed = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    if (printed >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(tail.stop(SIGTERM), 0) << cli_test::read_file(err);
  CliResult tailed;
  tailed.out = cli_test::read_file(out);
  const CliResult read = run_remote({"read-all", "--prefix", "feed-"});
  EXPECT_EQ(tailed.json_lines(), read.json_lines());
  EXPECT_EQ(tailed.json_lines().size(), 4u);
}

TEST_F(RemoteCli, DirectoryCommandsRefuseTheServerWithBadInput) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"verify"}, {"keys", "list"}, {"bench", "--seconds", "1"}}) {
    const CliResult result = run_remote(args);
    EXPECT_EQ(result.exit_code, 2) << args[0];
    EXPECT_EQ(result.error()["error"], Json("invalid_argument"));
    EXPECT_NE(result.error()["message"].get<std::string>().find("--server"), std::string::npos)
        << result.error().dump();
    EXPECT_TRUE(result.out.empty());
  }
}

TEST_F(RemoteCli, BadOrUnreachableServers) {
  CliResult result = run_cli({"stats", "--server", "ftp://127.0.0.1:1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.error()["error"], Json("invalid_argument"));
  result = run_cli({"stats", "--server", "http://127.0.0.1:notaport"});
  EXPECT_EQ(result.exit_code, 2);
  // Nothing listens on port 1 of loopback.
  result = run_cli({"stats", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], Json("io_error"));
  EXPECT_EQ(result.error()["server"], Json("http://127.0.0.1:1"));
}

TEST_F(RemoteCli, ServerFromTheEnvironment) {
  ASSERT_EQ(run_remote({"append", "env-1", "Set", "{}"}).exit_code, 0);
  // EVSRC_SERVER stands for --server.
  const std::string script = "EVSRC_SERVER=" + server_->url() + " " + EVSRC_CLI_PATH + " read env-1";
  const CliResult result = cli_test::run_program("/bin/sh", {"-c", script});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.json()["stream"], Json("env-1"));
}

// --key (or EVSRC_API_KEY) is sent as the bearer token; the server's 401
// and 403 come back as `rejected`, exit 1.
TEST(RemoteCliAuth, KeysAreSentAndRolesApply) {
  TempDir dir;
  const std::string store_uri = "file:" + (dir.path() / "served").string();
  const CliResult writer = run_cli({"keys", "add", "--role", "writer", "--store", store_uri});
  ASSERT_EQ(writer.exit_code, 0) << writer.err;
  const CliResult reader = run_cli({"keys", "add", "--role", "reader", "--store", store_uri});
  ASSERT_EQ(reader.exit_code, 0) << reader.err;
  const std::string writer_key = writer.json()["key"].get<std::string>();
  const std::string reader_key = reader.json()["key"].get<std::string>();
  EvsrcdProcess server(store_uri, dir.path(), {"--require-auth"});
  ASSERT_TRUE(server.ok()) << server.error();

  CliResult result = run_cli({"stats", "--server", server.url()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], Json("rejected"));
  result = run_cli({"stats", "--server", server.url(), "--key", "evk_not_a_key"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], Json("rejected"));

  result = run_cli({"append", "auth-1", "Done", "{}", "--server", server.url(), "--key", writer_key});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  result = run_cli({"append", "auth-1", "Done", "{}", "--server", server.url(), "--key", reader_key});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.error()["error"], Json("rejected"));
  const std::string script =
      "EVSRC_API_KEY=" + reader_key + " " + EVSRC_CLI_PATH + " read auth-1 --server " + server.url();
  result = cli_test::run_program("/bin/sh", {"-c", script});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.json_lines().size(), 1u);
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

}  // namespace
}  // namespace evsrc::remote_test
