// Kills the DynamoDB test server (SIGKILL) in the middle of a write load, three
// times, restarts it on the same port with its tables (AWS_SERVERS_PERSIST=1:
// dynalite's LevelDB survives), and checks with the PostgreSQL kill test's
// workload and checks (tests/postgres/kill_workload.h) that every
// acknowledged append and transaction is there exactly once and whole, that
// no call hangs (each ends within the AWS client's deadline), and that each
// call in flight at the kill either succeeded (the AWS client retries
// transport errors, up to 10 attempts within 30 s, so a call outlives a short
// outage) or failed with io_error (after some 3 to 6 s of outage, when the
// attempts run out), and that retrying it with the same event ids lands it
// exactly once (the ids table answers a replay with the original result; the
// restarted server has forgotten the ClientRequestTokens). A call that
// succeeded across the kill, retried, gets its original result too.
//
// Rounds 1 and 2 restart the server after about a second (the calls in
// flight usually succeed); round 3 keeps it down until every writer's call
// has failed. The test runs a private server of its own (tests/aws/aws_servers
// in a fresh directory), because it kills it; the servers are stopped however
// the test ends.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/dynamodb.h"
#include "evsrc/event_store.h"
#include "postgres/kill_workload.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

constexpr int kRounds = 3;  // kills per test run
constexpr int kWriterThreads = 4;
constexpr int kAcksBeforeKill = 40;    // per round, so the kill lands mid-load
constexpr int kAcksAfterRestart = 20;  // the load goes on after a short outage
constexpr auto kShortOutage = std::chrono::seconds(1);
constexpr auto kLoadWait = std::chrono::seconds(60);
// The AWS client gives up on transport errors 30 s after a call's first
// attempt (src/aws/aws_json_client.h Options::deadline), and one attempt
// times out after 10 s: no call may take longer than this.
constexpr auto kCallBound = std::chrono::seconds(45);
constexpr auto kFailWait = std::chrono::seconds(60);  // for every writer to see a long outage

const char* const kAwsServers = EVSRC_SOURCE_DIR "/tests/aws/aws_servers";

// The private servers of a test: started persistent, stopped when destroyed.
class PrivateAwsServers {
 public:
  explicit PrivateAwsServers(std::string dir) : dir_(std::move(dir)) {}
  ~PrivateAwsServers() {
    if (!stopped_) (void)stop();
  }
  PrivateAwsServers(const PrivateAwsServers&) = delete;
  PrivateAwsServers& operator=(const PrivateAwsServers&) = delete;

  ScriptRun run(const std::string& command) { return run_script(kAwsServers, command, dir_, "AWS_SERVERS_PERSIST=1"); }
  ScriptRun stop() {
    stopped_ = true;
    return run("stop");
  }
  // "http://127.0.0.1:PORT", or empty.
  std::string dynamodb_endpoint() const {
    std::ifstream in(dir_ + "/dynamodb_endpoint");
    std::string line;
    std::getline(in, line);
    return line;
  }

 private:
  std::string dir_;
  bool stopped_ = false;
};

class DynamoKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/evsrc-dynk-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    servers_ = std::make_unique<PrivateAwsServers>(dir_);
    const ScriptRun start = servers_->run("start");
    ASSERT_EQ(start.exit_code, 0) << "aws_servers start " << dir_ << " failed (node 20 and npm are needed: "
                                  << "tests/aws/README.md):\n"
                                  << start.output;
    const std::string endpoint = servers_->dynamodb_endpoint();
    ASSERT_EQ(endpoint.rfind("http://", 0), 0u) << endpoint;
    uri_ = "dynamodb://us-east-1/killed?endpoint=" + endpoint;
  }
  void TearDown() override {
    if (!servers_) return;
    const ScriptRun stop = servers_->stop();
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
    servers_.reset();
    if (!HasFailure()) std::filesystem::remove_all(dir_);  // else keep the logs
  }

  std::unique_ptr<EventStore> open() {
    Result<std::unique_ptr<EventStore>> store = open_dynamodb_store(uri_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A writer's call hangs: no clean-up can be trusted to finish.
  [[noreturn]] void hang(const char* when) {
    (void)servers_->stop();
    std::fprintf(stderr, "FATAL: a writer's call still runs %s\n", when);
    std::fflush(stderr);
    std::_Exit(1);
  }

  std::string dir_;
  std::unique_ptr<PrivateAwsServers> servers_;
  std::string uri_;
};

TEST_F(DynamoKillTest, EveryAcknowledgedAppendSurvivesAServerKill) {
  std::vector<KillWriter> writers(kWriterThreads);
  for (int t = 0; t < kWriterThreads; ++t) writers[t].thread = t;
  int spanning_total = 0;      // calls in flight at a kill
  int spanning_succeeded = 0;  // ... that succeeded after the restart
  int spanning_failed = 0;     // ... that failed (io_error): outcome unknown
  int failed_landed = 0;       // failed ones that had committed all the same
  std::chrono::milliseconds longest_call{0};
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const bool long_outage = round == kRounds;
    std::unique_ptr<EventStore> store = open();
    ASSERT_NE(store, nullptr);
    std::size_t calls_before[kWriterThreads];
    for (int t = 0; t < kWriterThreads; ++t) calls_before[t] = writers[t].calls.size();
    std::chrono::steady_clock::time_point killed_at;
    {
      KillLoad load(*store, writers, round);
      load.wait_for_acknowledged(kAcksBeforeKill, kLoadWait);
      ASSERT_GE(load.acknowledged(), kAcksBeforeKill) << "the load did not get going";
      std::this_thread::sleep_for(std::chrono::microseconds(std::random_device{}() % 20000));
      const ScriptRun kill = servers_->run("kill-dynamodb");
      ASSERT_EQ(kill.exit_code, 0) << kill.output;
      // A call that runs now (the server is gone) is in flight at the kill.
      killed_at = std::chrono::steady_clock::now();
      if (long_outage) {
        // Down until every writer's call has given up.
        if (!load.wait_until_done(std::chrono::steady_clock::now() + kFailWait)) {
          hang("60 s after the server was killed (and not restarted)");
        }
        const ScriptRun restart = servers_->run("restart-dynamodb");
        ASSERT_EQ(restart.exit_code, 0) << restart.output;
      } else {
        std::this_thread::sleep_for(kShortOutage);
        const ScriptRun restart = servers_->run("restart-dynamodb");
        ASSERT_EQ(restart.exit_code, 0) << restart.output;
        const int acknowledged = load.acknowledged();
        load.wait_for_acknowledged(acknowledged + kAcksAfterRestart, kLoadWait);
        load.stop();
        if (!load.wait_until_done(std::chrono::steady_clock::now() + kCallBound)) {
          hang("45 s after it was told to stop, the server running again");
        }
      }
    }

    // Every call ended in time; those in flight at the kill succeeded or
    // failed with io_error, and a writer stopped only at such a failure.
    std::set<std::uint64_t> spanning_ok;
    for (int t = 0; t < kWriterThreads; ++t) {
      const KillWriter& writer = writers[t];
      for (std::size_t c = calls_before[t]; c < writer.calls.size(); ++c) {
        const CallRecord& call = writer.calls[c];
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(call.finished - call.started);
        longest_call = std::max(longest_call, took);
        EXPECT_LE(took, kCallBound) << describe_batch(call.key);
        if (call.started > killed_at || call.finished < killed_at) continue;
        ++spanning_total;
        if (call.ok) {
          ++spanning_succeeded;
          spanning_ok.insert(call.key);
        } else {
          ++spanning_failed;
        }
      }
      if (writer.failure) {
        EXPECT_EQ(writer.failure->code(), ErrorCode::io_error)
            << "writer " << writer.thread << ": " << writer.failure->to_string();
        EXPECT_FALSE(writer.failure->message().empty());
        EXPECT_TRUE(writer.in_flight.has_value());
      }
      if (long_outage) {
        EXPECT_TRUE(writer.failure.has_value()) << "writer " << writer.thread << " did not fail in a 60 s outage";
      }
    }
    EXPECT_TRUE(store->close().ok());
    store.reset();

    // A store object of its own, without the load's caches.
    store = open();
    ASSERT_NE(store, nullptr);
    const std::set<std::uint64_t> landed = check_store_after_kill(*store, writers);
    failed_landed += static_cast<int>(landed.size());

    // A call of unknown outcome, retried with the same ids, lands exactly once.
    retry_in_flight_batches(*store, writers, landed);
    if (HasFatalFailure()) return;
    // A call that succeeded across the kill, retried, is answered with its
    // original result (its ids are recorded), and writes nothing.
    for (const KillWriter& writer : writers) {
      for (const AcknowledgedBatch& batch : writer.acknowledged) {
        if (!spanning_ok.contains(batch.batch.key)) continue;
        Result<std::vector<PartOutcome>> retry = run_batch(*store, batch.batch);
        ASSERT_TRUE(retry.ok()) << describe_batch(batch.batch.key) << ": " << retry.status().to_string();
        EXPECT_EQ(*retry, batch.outcome) << describe_batch(batch.batch.key);
      }
    }
    EXPECT_EQ(check_store_after_kill(*store, writers), std::set<std::uint64_t>{});
    EXPECT_TRUE(store->close().ok());
  }
  std::size_t batches = 0;
  for (const KillWriter& writer : writers) batches += writer.acknowledged.size();
  RecordProperty("acknowledged_batches", static_cast<int>(batches));
  RecordProperty("in_flight_at_kills", spanning_total);
  RecordProperty("in_flight_succeeded", spanning_succeeded);
  RecordProperty("in_flight_failed", spanning_failed);
  RecordProperty("in_flight_failed_but_landed", failed_landed);
  RecordProperty("longest_call_ms", static_cast<int>(longest_call.count()));
  std::printf(
      "kill on dynamodb: %zu batches acknowledged; %d calls in flight at %d kills: %d succeeded after the "
      "restart, %d failed with io_error (%d of them had landed); longest call %lld ms\n",
      batches, spanning_total, kRounds, spanning_succeeded, spanning_failed, failed_landed,
      static_cast<long long>(longest_call.count()));
}

}  // namespace
}  // namespace evsrc_test
