// SIGKILL of evsrcd at random moments, under load over HTTP.
//
// evsrcd runs as a child on a file: store and a fixed loopback port
// (crash/server_process.h). Client threads of this process append and commit
// transactions through the remote store (evsrc/remote_store.h) and log every
// call in the ack log (crash/ack_log.h): intent before the call, then
// acknowledged, failed (wrong_expected_revision) or unknown outcome (a
// transport error: the connection was refused or dropped). An unknown
// outcome is retried with the same event ids until the answer is definite
// (the store's idempotent retry). A subscriber thread follows $all over
// Server-Sent Events from its checkpoint (crash/subscriber_log.h); after each
// restart it either resumes from its checkpoint file or lets the remote
// subscription resume by itself.
//
// Each round: (re)start evsrcd; once it listens, pause the clients and the
// subscriber (every call in flight must end: a kill surfaces as a transport
// error, never a hang) and check over HTTP that every acknowledged batch is
// present exactly once with its acknowledged revisions and positions, no
// failed batch is visible, every batch found (acknowledged or not) is whole,
// $all and read_stream agree (every kStreamCheckEvery-th check), and the
// subscriber saw $all in order with no gap and no duplicate; resume the
// load, SIGKILL evsrcd 5-100 ms later. One
// kill in five lands during start-up instead. `evsrc verify` runs on the
// store after every kVerifyEvery-th kill (while the server is down) and at
// the end, after a last restart, check, and a clean SIGTERM stop (exit 0).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crash/ack_log.h"
#include "crash/child_process.h"
#include "crash/crash_support.h"
#include "crash/server_process.h"
#include "crash/subscriber_log.h"
#include "evsrc/event_store.h"
#include "evsrc/remote_store.h"

namespace evsrc {
namespace {

using crash::BatchKey;
using crash::LineLog;

constexpr int kStreams = 30;
constexpr int kClientThreads = 4;
// Per EVSRC_SOAK unit; the time budget is a safety net for slow builds.
constexpr int kTargetKills = 60;
constexpr int kRequiredKills = 60;
constexpr auto kTimeBudget = std::chrono::seconds(200);
constexpr int kVerifyEvery = 10;
// Every this many checks (and the last ones), read_stream is compared with $all.
constexpr int kStreamCheckEvery = 5;
// Bounds that only a hang reaches (the client's own request timeout is 30 s).
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kPauseTimeout = std::chrono::seconds(60);
constexpr auto kCatchUpTimeout = std::chrono::seconds(60);

std::string stream_name(int index) { return "skill-" + std::to_string(index); }

struct Paths {
  std::string dir;
  std::string store() const { return dir + "/store"; }
  std::string acks() const { return dir + "/acks.log"; }
  std::string deliveries() const { return dir + "/deliveries.log"; }
  std::string checkpoints() const { return dir + "/checkpoints.log"; }
  std::string server_errors() const { return dir + "/evsrcd-stderr.txt"; }
  std::string verify_output() const { return dir + "/verify-output.txt"; }
};

// ---- pausing the load for a check ------------------------------------------------------

// The clients and the subscriber pass the gate between calls. close() stops
// them there; wait_parked() tells when all of them are stopped, i.e. no call
// is in flight.
class Gate {
 public:
  explicit Gate(int threads) : threads_(threads) {}

  // Blocks while the gate is closed. False when the test is over.
  bool pass() {
    std::unique_lock lock(mutex_);
    if (!open_ && !stopped_) {
      ++parked_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_ || stopped_; });
      --parked_;
    }
    return !stopped_;
  }
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // A thread that ends no longer counts.
  void leave() {
    {
      std::lock_guard lock(mutex_);
      --threads_;
    }
    changed_.notify_all();
  }
  bool wait_parked(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return parked_ == threads_; });
  }

 private:
  std::mutex mutex_;
  int threads_;  // GUARDED_BY(mutex_)
  std::condition_variable changed_;
  bool open_ = true;
  bool stopped_ = false;
  int parked_ = 0;
};

// Leaves the gate when a thread ends, however it ends.
struct GateMember {
  Gate& gate;
  ~GateMember() { gate.leave(); }
};

// ---- clients ---------------------------------------------------------------------------

struct Heads {
  std::atomic<std::int64_t> revision[kStreams];
  Heads() {
    for (auto& head : revision) head.store(-1);
  }
  void advance(int stream, std::int64_t last) {
    std::int64_t current = revision[stream].load();
    while (current < last && !revision[stream].compare_exchange_weak(current, last)) {
    }
  }
  ExpectedRevision expectation(int stream) const {
    const std::int64_t head = revision[stream].load();
    return head < 0 ? ExpectedRevision::no_stream() : ExpectedRevision::exact(static_cast<StreamRevision>(head));
  }
};

struct ClientCounters {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> unknown{0};
  std::atomic<std::uint64_t> dropped_in_flight{0};  // unknown outcomes of calls the server had accepted
  std::atomic<std::uint64_t> retried_to_ack{0};     // acknowledged after an unknown outcome
  std::atomic<std::int64_t> longest_call_ms{0};
  void took(std::chrono::steady_clock::duration duration) {
    const std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
    std::int64_t current = longest_call_ms.load();
    while (current < ms && !longest_call_ms.compare_exchange_weak(current, ms)) {
    }
  }
};

bool is_unknown_outcome(ErrorCode code) {
  // Transport errors, a timeout, and 503 (closed) of a server going away:
  // the call may or may not have been committed.
  return code == ErrorCode::io_error || code == ErrorCode::timeout || code == ErrorCode::closed;
}

// One batch: a single-stream append or a 2-3 part transaction (sometimes
// with a condition-only part). Returns the intent line.
struct Batch {
  bool transaction = false;
  std::vector<int> streams;
  std::vector<TransactionPart> parts;  // an append uses parts[0]
};

Batch make_batch(const BatchKey& key, Heads& heads, std::mt19937& rng) {
  std::uniform_int_distribution<int> pick_stream(0, kStreams - 1);
  Batch batch;
  batch.transaction = std::uniform_int_distribution<int>(0, 9)(rng) < 3;
  if (!batch.transaction) {
    const int stream = pick_stream(rng);
    TransactionPart part;
    part.stream = stream_name(stream);
    part.expected =
        std::uniform_int_distribution<int>(0, 1)(rng) == 1 ? heads.expectation(stream) : ExpectedRevision::any();
    part.events = crash::make_events(key, 0, std::uniform_int_distribution<int>(1, 10)(rng), rng);
    batch.streams.push_back(stream);
    batch.parts.push_back(std::move(part));
    return batch;
  }
  const int part_count = std::uniform_int_distribution<int>(2, 3)(rng);
  while (static_cast<int>(batch.streams.size()) < part_count) {
    const int stream = pick_stream(rng);
    if (std::find(batch.streams.begin(), batch.streams.end(), stream) == batch.streams.end()) {
      batch.streams.push_back(stream);
    }
  }
  std::uint16_t next_index = 0;
  for (int stream : batch.streams) {
    TransactionPart part;
    part.stream = stream_name(stream);
    const int roll = std::uniform_int_distribution<int>(0, 9)(rng);
    const int count = roll == 0 ? 0 : std::uniform_int_distribution<int>(1, 4)(rng);
    part.expected = roll < 5 ? heads.expectation(stream) : ExpectedRevision::any();
    part.events = crash::make_events(key, next_index, count, rng);
    next_index = static_cast<std::uint16_t>(next_index + count);
    batch.parts.push_back(std::move(part));
  }
  return batch;
}

// The acknowledged parts as an ack line, advancing the heads.
std::string ack_line(const BatchKey& key, const Batch& batch, const Result<TransactionResult>& result, Heads& heads) {
  std::string ack = "A " + key.to_string();
  for (std::size_t i = 0; i < batch.parts.size(); ++i) {
    const TransactionPartResult& part = result->parts[i];
    if (batch.parts[i].events.empty() || !part.first_revision || !part.last_revision) {
      ack += " -";
      continue;
    }
    ack += " " + std::to_string(*part.first_revision) + ":" + std::to_string(*part.last_revision) + ":" +
           std::to_string(part.position);
    heads.advance(batch.streams[i], static_cast<std::int64_t>(*part.last_revision));
  }
  return ack;
}

// One attempt of `batch`; an append's result as a one-part transaction's.
Result<TransactionResult> send(EventStore& store, const Batch& batch) {
  if (batch.transaction) return store.commit(batch.parts);
  const TransactionPart& part = batch.parts[0];
  Result<AppendResult> appended = store.append(part.stream, part.expected, part.events);
  if (!appended.ok()) return appended.status();
  TransactionResult single;
  single.parts.push_back(TransactionPartResult{appended->first_revision, appended->last_revision, appended->position});
  single.position = appended->position;
  return single;
}

void client_thread(EventStore& store, LineLog& log, Heads& heads, Gate& gate, ClientCounters& counters,
                   std::uint8_t thread, std::uint32_t seed) {
  GateMember member{gate};
  std::mt19937 rng(seed);
  for (std::uint32_t sequence = 0;; ++sequence) {
    if (!gate.pass()) return;
    const BatchKey key{0, thread, sequence};
    const Batch batch = make_batch(key, heads, rng);
    std::string intent = "I " + key.to_string();
    for (const TransactionPart& part : batch.parts) {
      intent += " " + part.stream + ":" + std::to_string(part.events.size());
    }
    log.line(intent);
    bool had_unknown = false;
    // Until the outcome is definite; a batch writing nothing is not retried
    // (a repeated condition check is a new question, not a retry).
    for (;;) {
      if (had_unknown && !gate.pass()) return;
      ++counters.calls;
      const auto started = std::chrono::steady_clock::now();
      Result<TransactionResult> result = send(store, batch);
      counters.took(std::chrono::steady_clock::now() - started);
      if (result.ok()) {
        ++counters.acknowledged;
        if (had_unknown) ++counters.retried_to_ack;
        log.line(ack_line(key, batch, result, heads));
        break;
      }
      const Status& status = result.status();
      const std::string outcome = std::string(error_code_name(status.code())) + " " + status.message();
      if (!is_unknown_outcome(status.code())) {
        ++counters.failed;
        log.line("F " + key.to_string() + " " + outcome);
        break;
      }
      ++counters.unknown;
      if (status.message().find("connecting to") == std::string::npos) ++counters.dropped_in_flight;
      log.line("U " + key.to_string() + " " + outcome);
      bool writes = false;
      for (const TransactionPart& part : batch.parts) writes = writes || !part.events.empty();
      if (!writes) break;
      had_unknown = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the server is down or restarting
    }
  }
}

// ---- the subscriber ----------------------------------------------------------------------

struct SubscriberState {
  std::atomic<int> restarts{0};  // bumped after each restart of the server
  std::atomic<std::int64_t> last_handled{-1};
  std::atomic<std::uint64_t> sessions{0};
  std::atomic<std::uint64_t> subscription_errors{0};
};

// Follows $all; after a restart of the server it resumes from its checkpoint
// file half of the time (as a restarted subscriber process would), else its
// subscription resumes by itself. A failed subscription is resumed from the
// checkpoint too.
void subscriber_thread(EventStore& store, const Paths& paths, Gate& gate, SubscriberState& state, LineLog& log,
                       std::uint32_t seed) {
  GateMember member{gate};
  std::mt19937 rng(seed);
  crash::SubscriberLog subscriber(paths.deliveries(), paths.checkpoints());
  if (!subscriber.ok()) {
    log.line("X subscriber: cannot open its logs");
    return;
  }
  while (gate.pass()) {
    AllSubscriptionOptions options;
    options.from = subscriber.start_session();
    options.batch_size = 200;
    ++state.sessions;
    Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
    if (!subscription.ok()) {
      log.line("X subscriber: subscribe_all failed: " + subscription.status().to_string());
      return;
    }
    int seen_restarts = state.restarts.load();
    for (;;) {
      if (!gate.pass()) return;
      Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(50));
      if (!batch.ok()) {
        // Only a server that stayed unreachable for several attempts.
        ++state.subscription_errors;
        break;
      }
      for (const RecordedEvent& event : *batch) {
        subscriber.handled(event);
        state.last_handled.store(static_cast<std::int64_t>(event.position));
      }
      if (state.restarts.load() != seen_restarts) {
        seen_restarts = state.restarts.load();
        if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) break;
      }
    }
  }
}

// ---- the check -----------------------------------------------------------------------------

struct CheckOutcome {
  std::vector<std::string> problems;
  std::vector<RecordedEvent> events;
  crash::AckHistory history;
  crash::BatchCheck batches;
  crash::SubscriberCheck subscriber;
};

// The store over HTTP against the logs. The load must be paused.
// `with_streams`: also read every stream through its index and compare it
// with $all (the costliest part over HTTP, so not on every check).
CheckOutcome check_store(EventStore& store, const Paths& paths, bool with_streams) {
  CheckOutcome outcome;
  outcome.history = crash::parse_ack_log(paths.acks());
  outcome.problems = outcome.history.problems;
  Result<std::vector<RecordedEvent>> events = crash::read_whole_store(store, &outcome.problems);
  if (!events.ok()) {
    outcome.problems.push_back("reading $all over HTTP failed: " + events.status().to_string());
    return outcome;
  }
  outcome.events = std::move(events).value();
  if (with_streams) crash::check_streams_match(store, outcome.events, &outcome.problems);
  outcome.batches = crash::check_batches(outcome.events, outcome.history, &outcome.problems);
  outcome.subscriber =
      crash::check_subscriber_log(outcome.events, paths.deliveries(), paths.checkpoints(), &outcome.problems);
  return outcome;
}

std::string first_problems(const std::vector<std::string>& problems) {
  std::string text;
  for (std::size_t i = 0; i < problems.size() && i < 30; ++i) text += problems[i] + "\n";
  if (problems.size() > 30) text += "... and " + std::to_string(problems.size() - 30) + " more\n";
  return text;
}

// ---- the test --------------------------------------------------------------------------------

TEST(ServerKillTest, AcknowledgedWritesAndSubscribersSurviveSigkillOfEvsrcd) {
  crash::TempDir dir("evsrc-server-kill");
  ASSERT_FALSE(dir.path().empty());
  Paths paths{dir.path()};
  const std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  const int port = crash::pick_port(rng);
  ASSERT_GT(port, 0) << "no free loopback port";
  std::cout << "server kill test seed " << seed << ", port " << port << ", directory " << dir.path() << std::endl;
  const auto context = [&] { return "(seed " + std::to_string(seed) + ", directory kept: " + dir.path() + ")"; };

  crash::ServerProcess server(paths.store(), paths.server_errors(), port);
  ASSERT_TRUE(server.start()) << std::strerror(errno);
  ASSERT_TRUE(server.listening(kStartTimeout)) << "evsrcd did not start:\n" << server.errors();
  Result<std::unique_ptr<EventStore>> remote = open_remote_store(server.url());
  ASSERT_TRUE(remote.ok()) << remote.status().to_string();
  EventStore& store = **remote;

  LineLog log(paths.acks());
  ASSERT_TRUE(log.ok());
  Heads heads;
  Gate gate(kClientThreads + 1);
  ClientCounters counters;
  SubscriberState subscriber_state;
  std::vector<std::thread> threads;
  threads.emplace_back(subscriber_thread, std::ref(store), std::cref(paths), std::ref(gate), std::ref(subscriber_state),
                       std::ref(log), static_cast<std::uint32_t>(rng()));
  for (int thread = 0; thread < kClientThreads; ++thread) {
    threads.emplace_back(client_thread, std::ref(store), std::ref(log), std::ref(heads), std::ref(gate),
                         std::ref(counters), static_cast<std::uint8_t>(thread), static_cast<std::uint32_t>(rng()));
  }
  // Ends the load on every way out of the test.
  struct Joiner {
    Gate& gate;
    std::vector<std::thread>& threads;
    ~Joiner() {
      gate.stop();
      for (std::thread& thread : threads) thread.join();
    }
  } joiner{gate, threads};

  const int soak = crash::soak_factor();
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + kTimeBudget * soak;
  int kills = 0;
  int kills_during_start = 0;
  int verify_runs = 0;
  int checks = 0;
  CheckOutcome last;
  std::chrono::steady_clock::duration in_start{}, in_check{}, in_verify{};
  const auto ms = [](std::chrono::steady_clock::duration duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  // Pauses the load and checks; false (with a failure) when something is wrong.
  const auto pause_and_check = [&](const std::string& when, bool final_check) {
    gate.close();
    if (!gate.wait_parked(kPauseTimeout)) {
      dir.keep();
      ADD_FAILURE() << "a client call or the subscriber did not return within "
                    << std::chrono::duration_cast<std::chrono::seconds>(kPauseTimeout).count() << " s " << when
                    << " (a hang) " << context();
      return false;
    }
    const auto check_started = std::chrono::steady_clock::now();
    last = check_store(store, paths, checks % kStreamCheckEvery == 0 || final_check);
    in_check += std::chrono::steady_clock::now() - check_started;
    ++checks;
    if (!last.problems.empty()) {
      dir.keep();
      ADD_FAILURE() << when << " " << context() << ":\n" << first_problems(last.problems);
      return false;
    }
    return true;
  };

  bool listening = true;
  while (kills < kTargetKills * soak && std::chrono::steady_clock::now() < deadline) {
    if (listening) {
      ASSERT_TRUE(pause_and_check("after restart " + std::to_string(kills), false));
      gate.open();
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 100)(rng)));
    }
    const int status = server.kill();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "evsrcd ended by itself (" << crash::describe_status(status) << ") " << context() << ":\n"
        << server.errors().substr(0, 4000);
    ++kills;
    if (!listening) ++kills_during_start;
    if (kills % kVerifyEvery == 0) {
      const crash::VerifyOutcome verify =
          crash::run_verify(paths.store(), paths.verify_output(), std::chrono::seconds(60));
      ++verify_runs;
      in_verify += verify.took;
      if (!verify.ok) dir.keep();
      ASSERT_TRUE(verify.ok) << "evsrc verify failed after kill " << kills << " " << context() << ":\n"
                             << verify.output.substr(0, 4000);
    }
    const auto restarted = std::chrono::steady_clock::now();
    ASSERT_TRUE(server.start()) << std::strerror(errno);
    ++subscriber_state.restarts;
    // One kill in five lands during start-up (open, recovery, binding).
    if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
      listening = server.listening(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
    } else {
      listening = server.listening(kStartTimeout);
      in_start += std::chrono::steady_clock::now() - restarted;
      if (!listening) dir.keep();
      ASSERT_TRUE(listening) << "evsrcd did not restart after kill " << kills << " " << context() << ":\n"
                             << server.errors().substr(0, 4000);
    }
  }
  // The last restart: check, let the subscriber catch up, stop cleanly, verify.
  if (!listening) {
    listening = server.listening(kStartTimeout);
    if (!listening) dir.keep();
    ASSERT_TRUE(listening) << "evsrcd did not restart after the last kill " << context() << ":\n"
                           << server.errors().substr(0, 4000);
  }
  ASSERT_TRUE(pause_and_check("after the last restart", true));
  const std::int64_t last_position = last.events.empty() ? -1 : static_cast<std::int64_t>(last.events.back().position);
  gate.stop();  // the clients end; the subscriber ends at its next pass
  for (std::thread& thread : threads) thread.join();
  threads.clear();
  // The subscriber ended too; resume it once more from its checkpoint and
  // let it reach the end of $all.
  {
    crash::SubscriberLog subscriber(paths.deliveries(), paths.checkpoints());
    AllSubscriptionOptions options;
    options.from = subscriber.start_session();
    Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
    ASSERT_TRUE(subscription.ok()) << subscription.status().to_string();
    const auto catch_up_deadline = std::chrono::steady_clock::now() + kCatchUpTimeout;
    std::int64_t handled = options.from ? static_cast<std::int64_t>(*options.from) - 1 : -1;
    while (handled < last_position && std::chrono::steady_clock::now() < catch_up_deadline) {
      Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(200));
      ASSERT_TRUE(batch.ok()) << batch.status().to_string();
      for (const RecordedEvent& event : *batch) {
        subscriber.handled(event);
        handled = static_cast<std::int64_t>(event.position);
      }
    }
    if (handled < last_position) dir.keep();
    ASSERT_GE(handled, last_position) << "the subscriber did not reach the end of $all within "
                                      << kCatchUpTimeout.count() << " s " << context();
  }
  ASSERT_TRUE(pause_and_check("after the subscriber caught up", true));
  std::string how;
  const bool stopped = server.stop(std::chrono::seconds(30), &how);
  if (!stopped) dir.keep();
  ASSERT_TRUE(stopped) << "evsrcd did not stop cleanly on SIGTERM: " << how << " " << context() << ":\n"
                       << server.errors().substr(0, 4000);
  const crash::VerifyOutcome verify = crash::run_verify(paths.store(), paths.verify_output(), std::chrono::seconds(60));
  ++verify_runs;
  if (!verify.ok) dir.keep();
  ASSERT_TRUE(verify.ok) << "evsrc verify failed at the end " << context() << ":\n" << verify.output.substr(0, 4000);

  const double seconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count() /
      1000.0;
  std::cout << "evsrcd kill test: " << kills << " kills (" << kills_during_start << " during start-up), " << checks
            << " checks, " << verify_runs << " verify runs, " << seconds << " s (restarts " << ms(in_start)
            << " ms, checks " << ms(in_check) << " ms, verify " << ms(in_verify) << " ms); calls=" << counters.calls
            << " acknowledged=" << counters.acknowledged << " failed=" << counters.failed
            << " unknown_outcome=" << counters.unknown << " (dropped_in_flight=" << counters.dropped_in_flight << ")"
            << " acknowledged_on_retry=" << counters.retried_to_ack << " longest_call_ms=" << counters.longest_call_ms
            << "; subscriber sessions=" << subscriber_state.sessions
            << " errors=" << subscriber_state.subscription_errors << "; last check: events=" << last.events.size()
            << " " << last.batches.summary() << "; subscriber " << last.subscriber.summary() << std::endl;
  EXPECT_GE(kills, kRequiredKills * soak) << "the time budget ran out";
  // The run must have exercised what it claims to test (a check of nothing
  // passes vacuously): acknowledged writes, calls whose reply the kill took
  // (retried with the same ids until definite), deliveries to the subscriber.
  EXPECT_GT(counters.acknowledged.load(), 0u);
  EXPECT_GT(counters.dropped_in_flight.load(), 0u) << "no kill landed while a call waited for its reply";
  EXPECT_GT(last.subscriber.deliveries, 0u);
}

}  // namespace
}  // namespace evsrc
