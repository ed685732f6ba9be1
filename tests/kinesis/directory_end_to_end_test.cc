// The user directory end to end over Kinesis, as separate processes on
// loopback: `evsrc-directory` commands write to a DynamoDB store (the local
// dynalite), `evsrc forward kinesis` publishes its events to a 4-shard
// kinesalite stream, and `evsrc-directory consume-kinesis` keeps read models
// (SQLite, PostgreSQL) in sync from it. While ~150 commands run — from three
// threads, so streams interleave — the forwarder and the consumer are each
// SIGKILLed and restarted four times at different points (after a long
// outage, again while catching up, and plainly). Afterwards, within 60 s,
// the consumer must have applied every stream to the store's last revision,
// Kinesis must hold every event (at least once), both must stop cleanly on
// SIGTERM, and the consumer's tables must be exactly, row for row, those a
// replay of the store through the same projections gives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aws/aws_test_env.h"
#include "directory/kinesis_consumer.h"
#include "directory/read_models.h"
#include "evsrc/dynamodb.h"
#include "evsrc/kinesis.h"
#include "kinesis/kinesis_test_helpers.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Starts `binary args...` with stdout and stderr appended to files. Only
// async-signal-safe calls between fork() and exec() (other threads run).
pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const std::filesystem::path& out,
            const std::filesystem::path& err) {
  std::vector<std::string> storage = {binary};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string out_path = out.string();
  const std::string err_path = err.string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit code of `pid` (128 + signal when killed); waits when `block`,
// else nullopt while it runs.
std::optional<int> reap(pid_t pid, bool block) {
  int status = 0;
  for (;;) {
    const pid_t got = ::waitpid(pid, &status, block ? 0 : WNOHANG);
    if (got == 0) return std::nullopt;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }
}

// A long-running child (the forwarder or the consumer), started again and
// again; each run writes DIR/<name>.<run>.{out,err}.
class Service {
 public:
  Service(std::string name, std::string binary, std::vector<std::string> args, std::filesystem::path dir)
      : name_(std::move(name)), binary_(std::move(binary)), args_(std::move(args)), dir_(std::move(dir)) {}
  ~Service() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(pid_, true);
    }
  }

  void start() {
    ASSERT_LE(pid_, 0) << name_ << " is running";
    ++runs_;
    pid_ = spawn(binary_, args_, file(runs_, "out"), file(runs_, "err"));
    ASSERT_GT(pid_, 0) << "fork failed for " << name_;
  }

  // Fails the test when the child has exited on its own.
  void expect_running() {
    if (pid_ <= 0) return;
    if (auto code = reap(pid_, false)) {
      pid_ = -1;
      ADD_FAILURE() << name_ << " run " << runs_ << " exited on its own with " << *code << "; stderr:\n"
                    << read_text(file(runs_, "err"));
    }
  }

  // Sends `signal` and waits; the exit code.
  int stop(int signal) {
    expect_running();
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    const int code = reap(pid_, true).value_or(-1);
    pid_ = -1;
    return code;
  }

  void kill_and_restart(std::chrono::milliseconds down) {
    EXPECT_EQ(stop(SIGKILL), 128 + SIGKILL) << name_;
    ++kills_;
    std::this_thread::sleep_for(down);
    start();
  }

  // Waits (at most `timeout`) until the current run printed a line.
  void wait_for_output(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && read_text(file(runs_, "out")).find('\n') == std::string::npos) {
      std::this_thread::sleep_for(5ms);
    }
  }

  int runs() const { return runs_; }
  int kills() const { return kills_; }
  std::string err(int run) const { return read_text(file(run, "err")); }
  // The JSON lines each run printed, by run.
  std::vector<std::vector<nlohmann::json>> lines_by_run() const {
    std::vector<std::vector<nlohmann::json>> runs;
    for (int run = 1; run <= runs_; ++run) {
      std::istringstream text(read_text(file(run, "out")));
      std::string line;
      auto& lines = runs.emplace_back();
      while (std::getline(text, line)) {
        auto parsed = nlohmann::json::parse(line, nullptr, false);
        if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
      }
    }
    return runs;
  }

 private:
  std::filesystem::path file(int run, const char* kind) const {
    return dir_ / (name_ + "." + std::to_string(run) + "." + kind);
  }

  std::string name_;
  std::string binary_;
  std::vector<std::string> args_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int runs_ = 0;
  int kills_ = 0;
};

// One evsrc-directory command; "" when it exited 0, else what went wrong.
std::string run_directory(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  const std::filesystem::path err = scratch / "stderr";
  const pid_t pid = spawn(EVSRC_DIRECTORY_PATH, args, "/dev/null", err);
  if (pid <= 0) return "fork failed";
  const int code = reap(pid, true).value_or(-1);
  if (code == 0) return "";
  std::string command;
  for (const std::string& arg : args) command += " " + arg;
  return "evsrc-directory" + command + " exited " + std::to_string(code) + ": " + read_text(err);
}

// The directory story of user `i`, command by command (ids u<i>, groups
// g0..g2): create, join a group, and then some of email, username, name, API
// key changes, leaving the group, deletion.
std::vector<std::vector<std::string>> user_story(int i) {
  const std::string id = "u" + std::to_string(i);
  const std::string group = "g" + std::to_string(i % 3);
  std::vector<std::vector<std::string>> story = {
      {"create-user", id, "User " + std::to_string(i), "user" + std::to_string(i), id + "@example.com"},
      {"add-member", group, id}};
  if (i % 2 == 0) story.push_back({"set-email", id, "new" + std::to_string(i) + "@Example.ORG"});
  if (i % 3 == 0) story.push_back({"set-username", id, "handle" + std::to_string(i)});
  story.push_back({"set-name", id, "Renamed " + std::to_string(i)});
  if (i % 6 == 1) story.push_back({"set-api-key", id, "key-" + std::to_string(i)});
  if (i % 4 == 1) story.push_back({"remove-member", group, id});
  if (i % 5 == 2) story.push_back({"delete-user", id});
  return story;
}

// stream -> last revision, of every stream in the store.
std::map<std::string, std::int64_t> store_revisions(EventStore& store) {
  std::map<std::string, std::int64_t> revisions;
  AllReadOptions read;
  for (;;) {
    auto page = store.read_all(read);
    if (!page.ok()) throw std::runtime_error("read_all: " + page.status().to_string());
    for (const RecordedEvent& event : page->events) revisions[event.stream] = static_cast<std::int64_t>(event.revision);
    if (!page->next) break;
    read.from = page->next;
  }
  return revisions;
}

// stream -> applied revision, of consumer `name` in `location`.
std::map<std::string, std::int64_t> consumer_revisions(const std::string& location, const std::string& name) {
  std::map<std::string, std::int64_t> revisions;
  auto session = directory::open_read_model_session(location);
  if (!session.ok()) return revisions;
  auto rows = (*session)->query("SELECT stream, revision FROM evsrc_consumer_revisions WHERE consumer = $1", {name});
  if (!rows.ok()) return revisions;  // not created yet
  for (std::size_t i = 0; i < rows->size(); ++i) revisions[rows->text(i, 0)] = rows->integer(i, 1);
  return revisions;
}

constexpr int kUsers = 33;
constexpr int kThreads = 3;
constexpr char kConsumerName[] = "directory-e2e";

// The scenario; `read_models` is where the consumer keeps its tables,
// `replay_models` an empty database of the same kind for the replay.
void run_end_to_end(const std::string& base, const std::string& read_models, const std::string& replay_models) {
  const auto started = Clock::now();
  kinesis_test::TempDir dir;
  const std::string store_uri = testing::dynamodb_test_uri(testing::fresh_dynamodb_prefix(base));
  const KinesisEndpoint endpoint = kinesis_test::fresh_stream(base, 4);

  Service forwarder("forwarder", EVSRC_CLI_PATH,
                    {"forward", "kinesis", "--store", store_uri, "--stream", endpoint.stream, "--endpoint",
                     endpoint.url, "--batch", "7"},
                    dir.path());
  Service consumer("consumer", EVSRC_DIRECTORY_PATH,
                   {"--store", store_uri, "--read-models", read_models, "consume-kinesis", "--stream", endpoint.stream,
                    "--endpoint", endpoint.url, "--name", kConsumerName, "--limit", "3", "--poll-ms", "100"},
                   dir.path());

  // The groups first, alone: the first command creates the store's tables.
  std::vector<std::string> failures;
  for (int g = 0; g < 3; ++g) {
    const std::string id = "g" + std::to_string(g);
    std::string failed = run_directory({"--store", store_uri, "create-group", id, "Group " + id}, dir.path());
    ASSERT_EQ(failed, "");
  }
  forwarder.start();
  consumer.start();

  // Three writers, each going round its users step by step.
  std::vector<std::vector<std::vector<std::string>>> scripts(kThreads);
  std::size_t total_commands = 3;
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::vector<std::vector<std::string>>> stories;
    for (int i = t; i < kUsers; i += kThreads) stories.push_back(user_story(i));
    for (std::size_t step = 0;; ++step) {
      bool any = false;
      for (const auto& story : stories) {
        if (step >= story.size()) continue;
        any = true;
        std::vector<std::string> args = {"--store", store_uri};
        args.insert(args.end(), story[step].begin(), story[step].end());
        scripts[t].push_back(std::move(args));
      }
      if (!any) break;
    }
    total_commands += scripts[t].size();
  }
  std::atomic<std::size_t> done{3};
  std::mutex failures_mutex;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      const std::filesystem::path scratch = dir.path() / ("writer" + std::to_string(t));
      std::filesystem::create_directories(scratch);
      for (const auto& args : scripts[t]) {
        std::string failed = run_directory(args, scratch);
        if (!failed.empty()) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(failed);
        }
        ++done;
      }
    });
  }

  // Kills at fractions of the commands done, while the writers go on. The
  // first two of each keep the process down long enough for a backlog and
  // kill it again while it catches up: the forwarder a moment after its
  // start, the consumer after its first batch (--limit 3: many batches).
  auto wait_for_commands = [&](double fraction) {
    while (done.load() < static_cast<std::size_t>(fraction * static_cast<double>(total_commands))) {
      std::this_thread::sleep_for(20ms);
    }
    forwarder.expect_running();
    consumer.expect_running();
  };
  wait_for_commands(0.1);
  forwarder.kill_and_restart(1500ms);
  std::this_thread::sleep_for(250ms);
  forwarder.kill_and_restart(0ms);
  wait_for_commands(0.3);
  consumer.kill_and_restart(1500ms);
  consumer.wait_for_output(5s);
  consumer.kill_and_restart(0ms);
  wait_for_commands(0.5);
  forwarder.kill_and_restart(300ms);
  wait_for_commands(0.65);
  consumer.kill_and_restart(300ms);
  wait_for_commands(0.8);
  forwarder.kill_and_restart(300ms);
  consumer.kill_and_restart(300ms);
  for (std::thread& writer : writers) writer.join();
  const auto commands_done = Clock::now();
  for (const std::string& failed : failures) ADD_FAILURE() << failed;
  ASSERT_EQ(done.load(), total_commands);

  auto store = open_store(store_uri);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  const auto expected = store_revisions(**store);
  std::size_t events = 0;
  for (const auto& [stream, revision] : expected) events += static_cast<std::size_t>(revision) + 1;

  // Everything applied (bounded): every stream at the store's last revision.
  std::map<std::string, std::int64_t> applied;
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    forwarder.expect_running();
    consumer.expect_running();
    applied = consumer_revisions(read_models, kConsumerName);
    if (applied == expected) break;
    std::this_thread::sleep_for(200ms);
  }
  const auto synced = Clock::now();
  EXPECT_EQ(applied, expected) << "the consumer did not apply every event within 60 s; consumer stderr:\n"
                               << consumer.err(consumer.runs()) << "\nforwarder stderr:\n"
                               << forwarder.err(forwarder.runs());
  EXPECT_EQ(forwarder.stop(SIGTERM), 0) << forwarder.err(forwarder.runs());
  EXPECT_EQ(consumer.stop(SIGTERM), 0) << consumer.err(consumer.runs());

  // The consumer's tables, exactly as a replay of the store builds them.
  auto consumer_db = directory::open_read_model_session(read_models);
  ASSERT_TRUE(consumer_db.ok()) << consumer_db.status().to_string();
  const std::string consumed = kinesis_test::dump_directory_tables(**consumer_db, directory::kKinesisTableSuffix);
  auto replay_db = directory::open_read_model_session(replay_models);
  ASSERT_TRUE(replay_db.ok()) << replay_db.status().to_string();
  const std::string replayed =
      kinesis_test::replay_directory_tables(**store, **replay_db, directory::kKinesisTableSuffix);
  EXPECT_NE(replayed.find("users_kinesis: u0 "), std::string::npos) << replayed;
  EXPECT_NE(replayed.find("group_members_kinesis: g"), std::string::npos) << replayed;
  EXPECT_EQ(consumed, replayed);

  // What happened, for the log. The forwarder prints what each pass
  // published; the consumer its running totals after each batch (a killed
  // run's last batches may be applied but not printed).
  std::uint64_t forwarded = 0;
  for (const auto& run : forwarder.lines_by_run()) {
    for (const auto& line : run) forwarded += line.value("forwarded", std::uint64_t{0});
  }
  // At least once: every event of the store is in the Kinesis stream.
  std::size_t records = 0;
  std::map<std::string, std::int64_t> published;
  std::set<std::pair<std::string, StreamRevision>> distinct;
  for (const auto& [shard, shard_events] : kinesis_test::read_every_shard(endpoint)) {
    records += shard_events.size();
    for (const RecordedEvent& event : shard_events) {
      auto& last = published.try_emplace(event.stream, -1).first->second;
      last = std::max(last, static_cast<std::int64_t>(event.revision));
      distinct.emplace(event.stream, event.revision);
    }
  }
  EXPECT_EQ(published, expected);
  EXPECT_EQ(distinct.size(), events);
  EXPECT_GE(records, events);
  std::uint64_t duplicates = 0, gaps = 0, backfilled = 0, applied_events = 0;
  for (const auto& run : consumer.lines_by_run()) {
    if (run.empty()) continue;
    duplicates += run.back().value("duplicates", std::uint64_t{0});
    gaps += run.back().value("gaps", std::uint64_t{0});
    backfilled += run.back().value("backfilled", std::uint64_t{0});
    applied_events += run.back().value("applied", std::uint64_t{0});
  }
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  std::cout << "[ end-to-end ] " << total_commands << " commands, " << events << " events in " << expected.size()
            << " streams; forwarder killed " << forwarder.kills() << "x (" << records << " records in Kinesis, "
            << forwarded << " reported by the runs' passes), consumer killed " << consumer.kills() << "x (applied "
            << applied_events << ", duplicates skipped " << duplicates << ", gaps " << gaps << ", backfilled "
            << backfilled << "); commands " << seconds(commands_done - started) << " s, in sync "
            << seconds(synced - commands_done) << " s later, total " << seconds(Clock::now() - started) << " s\n";
  // Exactly once across runs: the sink refuses a revision applied before.
  EXPECT_LE(applied_events, events);

  (void)(*store)->close();
  EXPECT_TRUE(delete_dynamodb_tables(store_uri).ok());
}

TEST(DirectoryEndToEnd, SqliteReadModelsEqualAReplayAfterKills) {
  kinesis_test::TempDir dir;
  run_end_to_end("e2esqlite", (dir.path() / "read-models.sqlite").string(), (dir.path() / "replay.sqlite").string());
}

TEST(DirectoryEndToEnd, PostgresReadModelsEqualAReplayAfterKills) {
  const std::string base = evsrc_test::postgres_test_uri();
  ASSERT_FALSE(base.empty()) << evsrc_test::postgres_test_uri_help();
  const std::string schema = evsrc_test::fresh_postgres_schema();
  const std::string replay_schema = evsrc_test::fresh_postgres_schema();
  run_end_to_end("e2epg", evsrc_test::with_schema(base, schema), evsrc_test::with_schema(base, replay_schema));
  evsrc_test::drop_postgres_schema(base, schema);
  evsrc_test::drop_postgres_schema(base, replay_schema);
}

}  // namespace
}  // namespace evsrc
