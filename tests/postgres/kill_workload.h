// The workload and the checks of the server-kill tests
// (tests/postgres/kill_test.cc, tests/aws/dynamodb_kill_test.cc),
// backend-independent: writer threads append and commit batches whose event
// ids name them (round, thread, sequence) to streams of their own, so their
// exact expectations always hold; after the server was killed and restarted
// the store is checked against what the writers were told: every acknowledged
// batch exactly once, whole, with its acknowledged revisions and positions; a
// batch of unknown outcome (its call failed) whole or absent; nothing else.
// How a backend's calls behave across the kill, and so what the test expects
// of them, is the test's own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc_test {

// "batch <round>.<thread>.<sequence>".
std::string describe_batch(std::uint64_t key);

// One call of a writer: an append (one part) or a transaction (parts).
struct KillBatch {
  std::uint64_t key = 0;
  bool transaction = false;
  std::vector<evsrc::TransactionPart> parts;
  std::size_t event_count() const;
};

// What a call returned, per part: first revision and position of the last event.
struct PartOutcome {
  evsrc::StreamRevision first_revision = 0;
  evsrc::StreamRevision last_revision = 0;
  evsrc::Position position = 0;
  friend bool operator==(const PartOutcome&, const PartOutcome&) = default;
};

struct AcknowledgedBatch {
  KillBatch batch;
  std::vector<PartOutcome> outcome;
};

// One call as the writer saw it.
struct CallRecord {
  std::uint64_t key = 0;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point finished;
  bool ok = false;
};

// Runs `batch` (append or commit) and returns its outcome per part.
evsrc::Result<std::vector<PartOutcome>> run_batch(evsrc::EventStore& store, const KillBatch& batch);

// One writer thread's streams (written by it alone) and what it was told.
struct KillWriter {
  int thread = 0;
  std::map<std::string, std::optional<evsrc::StreamRevision>> head;
  std::uint32_t sequence = 0;
  std::vector<AcknowledgedBatch> acknowledged;  // all rounds
  std::optional<KillBatch> in_flight;           // the call that failed: outcome unknown
  std::optional<evsrc::Status> failure;
  std::vector<CallRecord> calls;  // all rounds

  // A new batch of round `round`: an append of 1..5 events to stream 'a', or
  // (one in three) a transaction of that and 1..5 events to stream 'b'.
  KillBatch next_batch(int round, std::mt19937& random);
  void acknowledge(const KillBatch& batch, const std::vector<PartOutcome>& outcome);
};

// The writer threads of one round on one store: each runs batches until
// stop() or until a call fails (then the batch stays in_flight and the
// failure is recorded). Resets the writers' in_flight and failure first.
// REQUIRES: the writers outlive the load; no one else touches them until
// wait_until_done() returned true.
class KillLoad {
 public:
  KillLoad(evsrc::EventStore& store, std::vector<KillWriter>& writers, int round);
  // stop(), then waits for the threads (which may take as long as a call).
  ~KillLoad();
  KillLoad(const KillLoad&) = delete;
  KillLoad& operator=(const KillLoad&) = delete;

  // Calls acknowledged in this round so far.
  int acknowledged() const { return acknowledged_.load(); }
  // Waits until `count` calls were acknowledged in this round, or `limit` passed.
  void wait_for_acknowledged(int count, std::chrono::milliseconds limit) const;
  // The writers start no more calls.
  void stop() { stop_.store(true); }
  // True once every writer thread has returned; false when one still runs at
  // `deadline` (its call hangs).
  bool wait_until_done(std::chrono::steady_clock::time_point deadline);

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  std::vector<std::future<void>> done_;
};

// Every event of the store, by read_all pages; `error` is set when a read fails.
std::vector<evsrc::RecordedEvent> read_everything(evsrc::EventStore& store, std::string& error);

// Checks (gtest EXPECTs) everything in the store against what `writers` were
// told: every acknowledged batch exactly once with its acknowledged revisions
// and positions; an in-flight batch whole or absent; nothing else; $all in a
// consistent order (check_followed_history); and read_stream of each stream
// against $all. Returns the in-flight batches that are present (they landed).
std::set<std::uint64_t> check_store_after_kill(evsrc::EventStore& store, const std::vector<KillWriter>& writers);

// What a script printed (stdout and stderr, without trailing newlines) and
// its exit code (-1 when it did not exit normally).
struct ScriptRun {
  int exit_code = -1;
  std::string output;
};

// Runs `script` `command` `dir` (a test server's control script, e.g.
// tests/postgres/pg_cluster, tests/aws/aws_servers) through the shell, with
// `environment` ("NAME=value ...", unquoted) added to its environment.
ScriptRun run_script(const std::string& script, const std::string& command, const std::string& dir,
                     const std::string& environment = "");

// Retries each writer's in-flight batch twice with the same event ids and
// acknowledges it: a call of unknown outcome lands exactly once (the original
// result if it had committed, a fresh commit if not) and the second retry
// returns the same result. `landed`: the in-flight batches present before (for
// the messages). Fails the test (ASSERT) when a retry fails.
void retry_in_flight_batches(evsrc::EventStore& store, std::vector<KillWriter>& writers,
                             const std::set<std::uint64_t>& landed);

}  // namespace evsrc_test
