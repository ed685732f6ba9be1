// SIGKILL of the embedded engine at random moments. Each round is a child
// process on a file: store that reopens the store (recovery), checks it
// against what the earlier rounds logged, then runs writers and a $all
// subscriber until the parent SIGKILLs it; one kill in five lands during
// start-up (exec, open, recovery, the check) instead. After the last kill a
// last child checks; `evsrc verify` checks the store after every
// kVerifyEvery-th kill and after the last one.
//
// The writers (blocking threads, and one thread with up to kAsyncInFlight
// asynchronous appends and transactions in flight, logged from their
// callbacks) log intents, acknowledgements and failures in the ack log
// (crash/ack_log.h); the subscriber follows $all from its checkpoint and logs
// what it handles (crash/subscriber_log.h); the next round resumes it from
// its last checkpoint line.
//
// The check asserts: every acknowledged batch is present exactly, with the
// acknowledged revisions and positions; every batch found is complete (all
// parts, all events, contiguous revisions, in order); no failed batch is
// visible; no event appears twice; revisions are contiguous per stream;
// positions strictly increase; read_stream agrees with $all; the subscriber
// saw $all in order without a gap, each event up to its checkpoint exactly
// once (once more only in the at-least-once window of a kill between
// handling an event and writing its checkpoint line).
//
// The parent never opens the store itself: the rounds and the last check are
// child processes (fork + exec of this binary, see spawn_child).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
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
#include "crash/subscriber_log.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

using crash::BatchKey;
using crash::LineLog;

constexpr int kStreams = 50;
constexpr int kWriterThreads = 4;
// Per EVSRC_SOAK unit. The time budget is a safety net for slow builds; the
// test fails when it runs out before kRequiredKills.
constexpr int kTargetKills = 150;
constexpr int kRequiredKills = 150;
constexpr auto kTimeBudget = std::chrono::seconds(240);
constexpr int kVerifyEvery = 10;
// Per writer thread and round: bounds the growth of the store (and so the
// cost of each check) when the machine is fast; a writer that is done waits
// for the kill.
constexpr std::uint32_t kMaxBatchesPerRound = 40;
// The asynchronous writer: batches per round, and at most this many queued.
constexpr std::uint32_t kAsyncBatchesPerRound = 160;
constexpr int kAsyncInFlight = 32;
constexpr auto kVerifyTimeout = std::chrono::seconds(60);

StoreOptions store_options() {
  StoreOptions options;
  options.segment_bytes = 256 << 10;  // many segments: kills also land on segment creation
  return options;
}

std::string stream_name(int index) { return "kill-" + std::to_string(index); }

// The files of one test run, all in one directory.
struct Paths {
  std::string dir;
  std::string store() const { return dir + "/store"; }
  std::string acks() const { return dir + "/acks.log"; }
  std::string deliveries() const { return dir + "/deliveries.log"; }
  std::string checkpoints() const { return dir + "/checkpoints.log"; }
  std::string report() const { return dir + "/report.txt"; }
  std::string child_output() const { return dir + "/child-output.txt"; }
  std::string verify_output() const { return dir + "/verify-output.txt"; }
};

// ---- the writer child -----------------------------------------------------------

struct Heads {
  // Last revision each writer saw acknowledged; -1 when none. Only a hint
  // for exact expectations: a stale value yields wrong_expected_revision.
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

std::string failure_line(const BatchKey& key, const Status& status) {
  return "F " + key.to_string() + " " + std::string(error_code_name(status.code())) + " " + status.message();
}

void writer_thread(EventStore& store, LineLog& log, Heads& heads, std::uint16_t round, std::uint8_t thread,
                   std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick_stream(0, kStreams - 1);
  for (std::uint32_t sequence = 0; sequence < kMaxBatchesPerRound; ++sequence) {
    const BatchKey key{round, thread, sequence};
    const bool transaction = std::uniform_int_distribution<int>(0, 9)(rng) < 3;
    if (!transaction) {
      const int stream = pick_stream(rng);
      const int count = std::uniform_int_distribution<int>(1, 10)(rng);
      const bool exact = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
      const ExpectedRevision expected = exact ? heads.expectation(stream) : ExpectedRevision::any();
      std::vector<EventData> events = crash::make_events(key, 0, count, rng);
      log.line("I " + key.to_string() + " " + stream_name(stream) + ":" + std::to_string(count));
      Result<AppendResult> result = store.append(stream_name(stream), expected, events);
      if (!result.ok()) {
        log.line(failure_line(key, result.status()));
        continue;
      }
      log.line("A " + key.to_string() + " " + std::to_string(result->first_revision) + ":" +
               std::to_string(result->last_revision) + ":" + std::to_string(result->position));
      heads.advance(stream, static_cast<std::int64_t>(result->last_revision));
      continue;
    }
    // A transaction over 2 or 3 distinct streams; sometimes one part is a
    // condition only.
    const int part_count = std::uniform_int_distribution<int>(2, 3)(rng);
    std::vector<int> streams;
    while (static_cast<int>(streams.size()) < part_count) {
      const int stream = pick_stream(rng);
      if (std::find(streams.begin(), streams.end(), stream) == streams.end()) streams.push_back(stream);
    }
    std::vector<TransactionPart> parts;
    std::string intent = "I " + key.to_string();
    std::uint16_t next_index = 0;
    for (int stream : streams) {
      TransactionPart part;
      part.stream = stream_name(stream);
      const int roll = std::uniform_int_distribution<int>(0, 9)(rng);
      const int count = roll == 0 ? 0 : std::uniform_int_distribution<int>(1, 5)(rng);
      part.expected = (roll < 5) ? heads.expectation(stream) : ExpectedRevision::any();
      part.events = crash::make_events(key, next_index, count, rng);
      next_index = static_cast<std::uint16_t>(next_index + count);
      intent += " " + part.stream + ":" + std::to_string(count);
      parts.push_back(std::move(part));
    }
    log.line(intent);
    Result<TransactionResult> result = store.commit(parts);
    if (!result.ok()) {
      log.line(failure_line(key, result.status()));
      continue;
    }
    std::string ack = "A " + key.to_string();
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const TransactionPartResult& part = result->parts[i];
      if (parts[i].events.empty() || !part.first_revision || !part.last_revision) {
        ack += " -";
        continue;
      }
      ack += " " + std::to_string(*part.first_revision) + ":" + std::to_string(*part.last_revision) + ":" +
             std::to_string(part.position);
      heads.advance(streams[i], static_cast<std::int64_t>(*part.last_revision));
    }
    log.line(ack);
  }
}

// Like writer_thread, but with up to kAsyncInFlight appends and transactions
// queued through append_async / commit_async (expectation any: their order is
// the pipeline's); each is logged acknowledged or failed from its callback.
void async_writer_thread(EventStore& store, LineLog& log, std::uint16_t round, std::uint8_t thread,
                         std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick_stream(0, kStreams - 1);
  std::mutex mutex;
  std::condition_variable cv;
  int in_flight = 0;
  const auto finished = [&] {
    std::lock_guard lock(mutex);
    --in_flight;
    cv.notify_all();
  };
  for (std::uint32_t sequence = 0; sequence < kAsyncBatchesPerRound; ++sequence) {
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return in_flight < kAsyncInFlight; });
      ++in_flight;
    }
    const BatchKey key{round, thread, sequence};
    if (std::uniform_int_distribution<int>(0, 9)(rng) < 8) {
      const int stream = pick_stream(rng);
      const int count = std::uniform_int_distribution<int>(1, 5)(rng);
      std::vector<EventData> events = crash::make_events(key, 0, count, rng);
      log.line("I " + key.to_string() + " " + stream_name(stream) + ":" + std::to_string(count));
      store.append_async(stream_name(stream), ExpectedRevision::any(), std::move(events),
                         [&log, &finished, key](Result<AppendResult> result) {
                           if (result.ok()) {
                             log.line("A " + key.to_string() + " " + std::to_string(result->first_revision) + ":" +
                                      std::to_string(result->last_revision) + ":" + std::to_string(result->position));
                           } else {
                             log.line(failure_line(key, result.status()));
                           }
                           finished();
                         });
      continue;
    }
    const int first = pick_stream(rng);
    const int second = (first + 1 + std::uniform_int_distribution<int>(0, kStreams - 2)(rng)) % kStreams;
    std::vector<TransactionPart> parts(2);
    std::string intent = "I " + key.to_string();
    std::uint16_t next_index = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      parts[i].stream = stream_name(i == 0 ? first : second);
      const int count = std::uniform_int_distribution<int>(1, 4)(rng);
      parts[i].events = crash::make_events(key, next_index, count, rng);
      next_index = static_cast<std::uint16_t>(next_index + count);
      intent += " " + parts[i].stream + ":" + std::to_string(count);
    }
    log.line(intent);
    store.commit_async(std::move(parts), [&log, &finished, key](Result<TransactionResult> result) {
      if (result.ok()) {
        std::string ack = "A " + key.to_string();
        for (const TransactionPartResult& part : result->parts) {
          ack += " " + std::to_string(part.first_revision.value_or(0)) + ":" +
                 std::to_string(part.last_revision.value_or(0)) + ":" + std::to_string(part.position);
        }
        log.line(ack);
      } else {
        log.line(failure_line(key, result.status()));
      }
      finished();
    });
  }
  // Done: wait for the kill with the callbacks' state alive.
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return in_flight == 0; });
  std::this_thread::sleep_for(std::chrono::seconds(60));
}

// Follows $all from the subscriber's checkpoint until killed, handling every
// event (delivery line, then checkpoint line).
void subscriber_thread(EventStore& store, const Paths& paths, LineLog& log) {
  crash::SubscriberLog subscriber(paths.deliveries(), paths.checkpoints());
  if (!subscriber.ok()) {
    log.line("X subscriber: cannot open its logs");
    return;
  }
  AllSubscriptionOptions options;
  options.from = subscriber.start_session();
  options.batch_size = 100;
  Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
  if (!subscription.ok()) {
    log.line("X subscriber: subscribe_all failed: " + subscription.status().to_string());
    return;
  }
  for (;;) {
    Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(200));
    if (!batch.ok()) {
      log.line("X subscriber: next failed: " + batch.status().to_string());
      return;
    }
    for (const RecordedEvent& event : *batch) subscriber.handled(event);
  }
}

// ---- the check ----------------------------------------------------------------------

// Checks `store` (just reopened after a kill) against the ack log and the
// subscriber's logs; writes the problems and a summary to the report.
// Returns true when everything holds.
bool check_store(EventStore& store, const Paths& paths, bool final_check = false) {
  std::ofstream report(paths.report());
  crash::AckHistory history = crash::parse_ack_log(paths.acks());
  std::vector<std::string>& problems = history.problems;
  Result<std::vector<RecordedEvent>> events = crash::read_whole_store(store, &problems);
  if (!events.ok()) {
    report << "read_all failed: " << events.status().to_string() << "\n";
    return false;
  }
  crash::check_streams_match(store, *events, &problems);
  const crash::BatchCheck batches = crash::check_batches(*events, history, &problems);
  const crash::SubscriberCheck subscriber =
      crash::check_subscriber_log(*events, paths.deliveries(), paths.checkpoints(), &problems);

  if (final_check) {
    // The run must have done what it claims to test: a check of nothing
    // passes vacuously.
    if (history.acks.empty() || events->empty()) problems.push_back("final check: nothing was acknowledged");
    if (subscriber.deliveries == 0) problems.push_back("final check: the subscriber delivered nothing");
    if (subscriber.behind != 0) {
      problems.push_back("final check: the subscriber, resumed and caught up, is still " +
                         std::to_string(subscriber.behind) + " events behind $all");
    }
  }
  constexpr std::size_t kShown = 30;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) report << problems[i] << "\n";
  if (problems.size() > kShown) report << "... and " << problems.size() - kShown << " more problems\n";
  report << "events=" << events->size() << " acknowledged=" << history.acks.size()
         << " failed=" << history.failures.size() << " " << batches.summary() << "; subscriber " << subscriber.summary()
         << "\n";
  return problems.empty();
}

Result<std::unique_ptr<EventStore>> reopen(const Paths& paths) {
  Result<std::unique_ptr<EventStore>> store = open_store("file:" + paths.store(), store_options());
  if (!store.ok())
    std::ofstream(paths.report()) << "reopen after the kill failed: " << store.status().to_string() << "\n";
  return store;
}

// ---- the children ---------------------------------------------------------------------

// One round, until killed: reopens the store (recovery), checks it, then runs
// the writers and the subscriber. Writes 'R' to `ready_fd` once they run.
// Exits (1) only when the check fails or the store cannot be used.
[[noreturn]] void run_round_child(const Paths& paths, std::uint16_t round, std::uint32_t seed, int ready_fd) {
  Result<std::unique_ptr<EventStore>> store = reopen(paths);
  if (!store.ok() || !check_store(**store, paths)) ::_exit(1);
  LineLog log(paths.acks());
  if (!log.ok()) ::_exit(91);
  Heads heads;
  for (int stream = 0; stream < kStreams; ++stream) {
    StreamReadOptions options;
    options.direction = Direction::backward;
    options.limit = 1;
    Result<StreamPage> page = (*store)->read_stream(stream_name(stream), options);
    if (page.ok()) {
      heads.revision[stream].store(static_cast<std::int64_t>(page->last_revision));
    } else if (page.status().code() != ErrorCode::not_found) {
      log.line("X round " + std::to_string(round) + ": read_stream failed: " + page.status().to_string());
    }
  }
  std::vector<std::thread> threads;
  threads.emplace_back(subscriber_thread, std::ref(**store), std::cref(paths), std::ref(log));
  for (int thread = 0; thread < kWriterThreads; ++thread) {
    threads.emplace_back(writer_thread, std::ref(**store), std::ref(log), std::ref(heads), round,
                         static_cast<std::uint8_t>(thread), seed * 31 + static_cast<std::uint32_t>(thread));
  }
  threads.emplace_back(async_writer_thread, std::ref(**store), std::ref(log), round,
                       static_cast<std::uint8_t>(kWriterThreads), seed * 31 + kWriterThreads);
  const char ready = 'R';
  if (::write(ready_fd, &ready, 1) != 1) ::_exit(94);
  // The parent kills us long before; a safety net if it does not.
  std::this_thread::sleep_for(std::chrono::seconds(30));
  ::_exit(93);
}

// Resumes the subscriber from its checkpoint and lets it catch up with the
// end of $all (no writer runs any more). False when it cannot within 60 s.
bool catch_up_subscriber(EventStore& store, const Paths& paths) {
  AllReadOptions last;
  last.direction = Direction::backward;
  last.limit = 1;
  Result<AllPage> end = store.read_all(last);
  if (!end.ok()) return false;
  if (end->events.empty()) return true;
  const Position last_position = end->events.front().position;
  crash::SubscriberLog subscriber(paths.deliveries(), paths.checkpoints());
  if (!subscriber.ok()) return false;
  AllSubscriptionOptions options;
  options.from = subscriber.start_session();
  if (options.from && *options.from > last_position) return true;
  options.batch_size = 100;
  Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
  if (!subscription.ok()) return false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(200));
    if (!batch.ok()) return false;
    for (const RecordedEvent& event : *batch) {
      subscriber.handled(event);
      if (event.position >= last_position) return true;
    }
  }
  return false;
}

// The check after the last kill: 0 when everything holds.
int run_final_check(const Paths& paths) {
  Result<std::unique_ptr<EventStore>> store = reopen(paths);
  if (!store.ok()) return 2;
  if (!catch_up_subscriber(**store, paths)) {
    std::ofstream(paths.report()) << "the subscriber could not catch up with $all within 60 s\n";
    return 1;
  }
  const bool ok = check_store(**store, paths, /*final_check=*/true);
  if (Status status = (*store)->close(); !status.ok()) {
    std::ofstream(paths.report(), std::ios::app) << "close: " << status.to_string() << "\n";
    return 1;
  }
  return ok ? 0 : 1;
}

// ---- processes ------------------------------------------------------------------------
//
// Children run this test binary, only KillTestChild.DISABLED_Run, which reads
// its role from the environment and never returns into the framework.

constexpr const char* kRoleVariable = "EVSRC_KILL_TEST_ROLE";
constexpr const char* kArgsVariable = "EVSRC_KILL_TEST_ARGS";

struct ChildArgs {
  Paths paths;
  std::uint16_t round = 0;
  std::uint32_t seed = 0;
  int ready_fd = -1;

  std::string encode() const {
    return paths.dir + "\t" + std::to_string(round) + "\t" + std::to_string(seed) + "\t" + std::to_string(ready_fd);
  }
  static ChildArgs decode(const std::string& text) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = text.find('\t', start)) != std::string::npos; start = tab + 1) {
      fields.push_back(text.substr(start, tab - start));
    }
    fields.push_back(text.substr(start));
    ChildArgs args;
    if (fields.size() != 4) ::_exit(95);
    args.paths.dir = fields[0];
    args.round = static_cast<std::uint16_t>(std::stoul(fields[1]));
    args.seed = static_cast<std::uint32_t>(std::stoul(fields[2]));
    args.ready_fd = std::stoi(fields[3]);
    return args;
  }
};

// Starts this binary as a child in `role`. Its stdout and stderr go to
// `output_path`.
pid_t spawn_child(const std::string& role, const ChildArgs& args, const std::string& output_path) {
  const int output = crash::open_output(output_path);
  if (output < 0) return -1;
  const pid_t pid = crash::spawn_process(
      {crash::self_executable(), "--gtest_filter=KillTestChild.DISABLED_Run", "--gtest_also_run_disabled_tests"},
      {std::string(kRoleVariable) + "=" + role, std::string(kArgsVariable) + "=" + args.encode()}, "EVSRC_KILL_TEST_",
      output, output);
  ::close(output);
  return pid;
}

TEST(KillTestChild, DISABLED_Run) {
  const char* role = std::getenv(kRoleVariable);
  const char* encoded = std::getenv(kArgsVariable);
  if (role == nullptr || encoded == nullptr) GTEST_SKIP() << "only run as a child of KillTest";
  const ChildArgs args = ChildArgs::decode(encoded);
  if (std::string_view(role) == "round") run_round_child(args.paths, args.round, args.seed, args.ready_fd);
  ::_exit(run_final_check(args.paths));
}

// ---- the test -----------------------------------------------------------------------

TEST(KillTest, AcknowledgedAppendsSurviveSigkillAndNothingIsHalfWritten) {
  crash::TempDir dir("evsrc-kill");
  ASSERT_FALSE(dir.path().empty());
  ChildArgs args;
  args.paths.dir = dir.path();
  const Paths& paths = args.paths;

  const std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::cout << "kill test seed " << seed << ", directory " << dir.path() << std::endl;
  const auto context = [&] { return "(seed " + std::to_string(seed) + ", directory kept: " + dir.path() + ")"; };

  const int soak = crash::soak_factor();
  const int target_kills = kTargetKills * soak;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + kTimeBudget * soak;
  int kills = 0;
  int kills_during_start = 0;
  int checks = 0;
  int verify_runs = 0;
  bool verified_last = false;
  std::chrono::steady_clock::duration in_start{}, in_verify{};
  const auto ms = [](std::chrono::steady_clock::duration duration) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  };
  for (std::uint16_t round = 0; kills < target_kills && std::chrono::steady_clock::now() < deadline; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0) << std::strerror(errno);
    args.round = round;
    args.seed = rng();
    // The write end must survive exec in the child: a duplicate without
    // O_CLOEXEC, closed again in the parent right after the spawn.
    args.ready_fd = ::dup(ready[1]);
    ::close(ready[1]);
    const auto spawned = std::chrono::steady_clock::now();
    const pid_t child = spawn_child("round", args, paths.child_output());
    ::close(args.ready_fd);
    ASSERT_GT(child, 0) << std::strerror(errno);

    // One kill in five lands at a random moment of start-up: exec, open and
    // recovery, the check; the others 2-30 ms into the writers' work.
    const bool during_start = std::uniform_int_distribution<int>(0, 4)(rng) == 0;
    const int delay_ms = std::uniform_int_distribution<int>(during_start ? 0 : 2, during_start ? 150 : 30)(rng);
    pollfd wait_ready{ready[0], POLLIN, 0};
    char ready_byte = 0;
    const auto read_ready = [&](int timeout_ms) {
      return ::poll(&wait_ready, 1, timeout_ms) == 1 && ::read(ready[0], &ready_byte, 1) == 1 && ready_byte == 'R';
    };
    bool writing = false;
    if (during_start) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      writing = read_ready(0);
    } else {
      writing = read_ready(60'000);
      in_start += std::chrono::steady_clock::now() - spawned;
      if (writing) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    ::close(ready[0]);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      dir.keep();
      FAIL() << "round " << round << ": the check after kill " << kills << " failed (" << crash::describe_status(status)
             << ") " << context() << ":\n"
             << crash::read_text(paths.report()) << crash::read_text(paths.child_output()).substr(0, 2000);
    }
    if (!during_start && !writing) {
      dir.keep();
      FAIL() << "round " << round << ": reopening and checking the store took over 60 s " << context() << ":\n"
             << crash::read_text(paths.child_output()).substr(0, 2000);
    }
    ++kills;
    kills_during_start += writing ? 0 : 1;
    checks += writing ? 1 : 0;

    verified_last = kills % kVerifyEvery == 0;
    if (verified_last) {
      const crash::VerifyOutcome verify = crash::run_verify(paths.store(), paths.verify_output(), kVerifyTimeout);
      ++verify_runs;
      in_verify += verify.took;
      if (!verify.ok) dir.keep();
      ASSERT_TRUE(verify.ok) << "evsrc verify failed after kill " << kills << " " << context() << ":\n"
                             << verify.output.substr(0, 4000);
    }
  }
  // The check after the last kill, then verify.
  const pid_t checker = spawn_child("check", args, paths.child_output());
  ASSERT_GT(checker, 0) << std::strerror(errno);
  int checker_status = 0;
  const bool finished = crash::wait_child(checker, std::chrono::seconds(60), &checker_status);
  if (!finished || !WIFEXITED(checker_status) || WEXITSTATUS(checker_status) != 0) dir.keep();
  ASSERT_TRUE(finished && WIFEXITED(checker_status) && WEXITSTATUS(checker_status) == 0)
      << "the check after the last kill failed ("
      << (finished ? crash::describe_status(checker_status) : "hung for 60 s") << ") " << context() << ":\n"
      << crash::read_text(paths.report()) << crash::read_text(paths.child_output()).substr(0, 2000);
  ++checks;
  if (!verified_last) {
    const crash::VerifyOutcome verify = crash::run_verify(paths.store(), paths.verify_output(), kVerifyTimeout);
    ++verify_runs;
    in_verify += verify.took;
    if (!verify.ok) dir.keep();
    ASSERT_TRUE(verify.ok) << "evsrc verify failed after the last kill " << context() << ":\n"
                           << verify.output.substr(0, 4000);
  }
  const double seconds = static_cast<double>(ms(std::chrono::steady_clock::now() - started)) / 1000.0;
  std::cout << "engine kill test: " << kills << " kills (" << kills_during_start << " during start-up), " << checks
            << " checks, " << verify_runs << " verify runs, " << seconds << " s (start-up and checks " << ms(in_start)
            << " ms, verify " << ms(in_verify) << " ms); last check: " << crash::read_text(paths.report())
            << std::flush;
  EXPECT_GE(kills, kRequiredKills * soak) << "the time budget ran out";
}

}  // namespace
}  // namespace evsrc
