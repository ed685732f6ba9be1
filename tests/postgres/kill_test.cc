// Kills the PostgreSQL server (SIGKILL of the postmaster and every backend)
// in the middle of a write load and checks, after crash recovery, that every
// acknowledged append and transaction is there exactly once and whole, that
// no half-written batch is visible, that the calls in flight failed with
// io_error (no crash, no hang), and that retrying such a call of unknown
// outcome with the same event ids lands it exactly once. The workload and
// the checks are shared with the DynamoDB backend's test (kill_workload.h).
//
// The test runs a private cluster of its own (tests/postgres/pg_cluster in a
// fresh directory), because it kills it; TearDown always stops it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "postgres/kill_workload.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

constexpr int kRounds = 3;  // kills per test run (bounded for CI)
constexpr int kWriterThreads = 4;
constexpr int kAcksBeforeKill = 40;  // per round, so the kill lands mid-load
constexpr auto kLoadWait = std::chrono::seconds(60);
constexpr auto kFailWait = std::chrono::seconds(60);  // for the writers to see the kill

// ---- the private cluster ------------------------------------------------------------

// Runs tests/postgres/pg_cluster `command` `dir`, capturing stdout + stderr.
ScriptRun pg_cluster(const std::string& command, const std::string& dir) {
  return run_script(EVSRC_SOURCE_DIR "/tests/postgres/pg_cluster", command, dir);
}

class PostgresKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/evsrc-pgk-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    const ScriptRun start = pg_cluster("start", dir_);
    ASSERT_EQ(start.exit_code, 0) << "pg_cluster start " << dir_ << " failed (a PostgreSQL server is needed: "
                                  << "scripts/install-deps):\n"
                                  << start.output;
    ASSERT_EQ(start.output.rfind("postgres", 0), 0u) << start.output;
    uri_ = with_schema(start.output.substr(start.output.rfind('\n') + 1), "killed");
  }
  void TearDown() override {
    if (dir_.empty()) return;
    const ScriptRun stop = pg_cluster("stop", dir_);
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
  }

  std::unique_ptr<EventStore> open() {
    Result<std::unique_ptr<EventStore>> store = open_postgres_store(uri_);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string dir_;
  std::string uri_;
};

TEST_F(PostgresKillTest, EveryAcknowledgedAppendSurvivesAServerKill) {
  std::vector<KillWriter> writers(kWriterThreads);
  for (int t = 0; t < kWriterThreads; ++t) writers[t].thread = t;
  int in_flight_total = 0;
  int in_flight_landed = 0;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::unique_ptr<EventStore> store = open();
    ASSERT_NE(store, nullptr);
    {
      KillLoad load(*store, writers, round);
      load.wait_for_acknowledged(kAcksBeforeKill, kLoadWait);
      std::this_thread::sleep_for(std::chrono::microseconds(std::random_device{}() % 20000));
      const ScriptRun kill = pg_cluster("kill", dir_);
      ASSERT_EQ(kill.exit_code, 0) << kill.output;

      // Every writer must see the kill as a failed call, promptly.
      if (!load.wait_until_done(std::chrono::steady_clock::now() + kFailWait)) {
        load.stop();
        (void)pg_cluster("stop", dir_);
        std::fprintf(stderr, "FATAL: a writer's call still hangs %d s after the server was killed\n",
                     static_cast<int>(kFailWait.count()));
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
    for (const KillWriter& writer : writers) {
      ASSERT_TRUE(writer.failure.has_value()) << "writer " << writer.thread << " did not fail after the kill";
      EXPECT_EQ(writer.failure->code(), ErrorCode::io_error)
          << "writer " << writer.thread << ": " << writer.failure->to_string();
      EXPECT_FALSE(writer.failure->message().empty());
      if (writer.in_flight) ++in_flight_total;
    }
    (void)store->close();  // its connections are gone: an error is fine, a crash or hang is not
    store.reset();

    const ScriptRun restart = pg_cluster("restart", dir_);
    ASSERT_EQ(restart.exit_code, 0) << restart.output;
    store = open();
    ASSERT_NE(store, nullptr);
    const std::set<std::uint64_t> landed = check_store_after_kill(*store, writers);
    in_flight_landed += static_cast<int>(landed.size());

    // Retrying a call of unknown outcome with the same ids lands it exactly
    // once: the original result if it committed, a fresh commit if not; a
    // second retry returns the same result.
    retry_in_flight_batches(*store, writers, landed);
    if (HasFatalFailure()) return;
    EXPECT_EQ(check_store_after_kill(*store, writers), std::set<std::uint64_t>{});
    EXPECT_TRUE(store->close().ok());
  }
  std::size_t batches = 0;
  for (const KillWriter& writer : writers) batches += writer.acknowledged.size();
  RecordProperty("acknowledged_batches", static_cast<int>(batches));
  RecordProperty("in_flight_at_kills", in_flight_total);
  RecordProperty("in_flight_landed", in_flight_landed);
}

}  // namespace
}  // namespace evsrc_test
