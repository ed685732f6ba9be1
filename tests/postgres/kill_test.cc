// Kills the PostgreSQL server (SIGKILL of the postmaster and every backend)
// in the middle of a write load and checks, after crash recovery, that every
// acknowledged append and transaction is there exactly once and whole, that
// no half-written batch is visible, that the calls in flight failed with
// io_error (no crash, no hang), and that retrying such a call of unknown
// outcome with the same event ids lands it exactly once.
//
// The test runs a private cluster of its own (tests/postgres/pg_cluster in a
// fresh directory), because it kills it; TearDown always stops it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "postgres/followed_history.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

constexpr int kRounds = 3;  // kills per test run (bounded for CI)
constexpr int kWriterThreads = 4;
constexpr int kAcksBeforeKill = 40;  // per round, so the kill lands mid-load
constexpr auto kLoadWait = std::chrono::seconds(60);
constexpr auto kFailWait = std::chrono::seconds(60);  // for the writers to see the kill
constexpr std::uint8_t kIdMarker[2] = {0xEC, 0x5D};

// ---- the private cluster ------------------------------------------------------------

struct ScriptRun {
  int exit_code = -1;
  std::string output;
};

// Runs tests/postgres/pg_cluster `command` `dir`, capturing stdout + stderr.
ScriptRun pg_cluster(const std::string& command, const std::string& dir) {
  const std::string line =
      std::string("'" EVSRC_SOURCE_DIR "/tests/postgres/pg_cluster' ") + command + " '" + dir + "' 2>&1";
  ScriptRun run;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) {
    run.output = "popen failed";
    return run;
  }
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!run.output.empty() && run.output.back() == '\n') run.output.pop_back();
  return run;
}

// ---- batches whose event ids name them --------------------------------------------

// Event id: marker, round, thread, sequence (4 bytes), part, index in the part,
// events of the part, parts of the batch.
Uuid batch_event_id(int round, int thread, std::uint32_t sequence, int part, int index, int part_events, int parts) {
  Uuid id;
  id.bytes[0] = kIdMarker[0];
  id.bytes[1] = kIdMarker[1];
  id.bytes[2] = static_cast<std::uint8_t>(round);
  id.bytes[3] = static_cast<std::uint8_t>(thread);
  for (int i = 0; i < 4; ++i) id.bytes[4 + i] = static_cast<std::uint8_t>(sequence >> (24 - 8 * i));
  id.bytes[8] = static_cast<std::uint8_t>(part);
  id.bytes[9] = static_cast<std::uint8_t>(index);
  id.bytes[10] = static_cast<std::uint8_t>(part_events);
  id.bytes[11] = static_cast<std::uint8_t>(parts);
  return id;
}

// The batch an event id names (round, thread, sequence), or nullopt for an
// id this test did not make.
std::optional<std::uint64_t> batch_of(const Uuid& id) {
  if (id.bytes[0] != kIdMarker[0] || id.bytes[1] != kIdMarker[1]) return std::nullopt;
  std::uint64_t key = (std::uint64_t{id.bytes[2]} << 40) | (std::uint64_t{id.bytes[3]} << 32);
  for (int i = 0; i < 4; ++i) key |= std::uint64_t{id.bytes[4 + i]} << (24 - 8 * i);
  return key;
}

std::uint64_t batch_key(int round, int thread, std::uint32_t sequence) {
  return (static_cast<std::uint64_t>(round) << 40) | (static_cast<std::uint64_t>(thread) << 32) | sequence;
}

std::string describe_batch(std::uint64_t key) {
  return "batch " + std::to_string(key >> 40) + "." + std::to_string((key >> 32) & 0xff) + "." +
         std::to_string(key & 0xffffffffu);
}

// One call of a writer: an append (one part) or a transaction (parts).
struct Batch {
  std::uint64_t key = 0;
  bool transaction = false;
  std::vector<TransactionPart> parts;
  std::size_t event_count() const {
    std::size_t count = 0;
    for (const TransactionPart& part : parts) count += part.events.size();
    return count;
  }
};

// What a call returned, per part: first revision and position of the last event.
struct PartOutcome {
  StreamRevision first_revision = 0;
  StreamRevision last_revision = 0;
  Position position = 0;
  friend bool operator==(const PartOutcome&, const PartOutcome&) = default;
};

struct AcknowledgedBatch {
  Batch batch;
  std::vector<PartOutcome> outcome;
};

Result<std::vector<PartOutcome>> run_batch(EventStore& store, const Batch& batch) {
  if (!batch.transaction) {
    const TransactionPart& part = batch.parts.front();
    Result<AppendResult> result = store.append(part.stream, part.expected, part.events);
    if (!result.ok()) return result.status();
    return std::vector<PartOutcome>{{result->first_revision, result->last_revision, result->position}};
  }
  Result<TransactionResult> result = store.commit(batch.parts);
  if (!result.ok()) return result.status();
  std::vector<PartOutcome> outcome;
  if (result->parts.size() != batch.parts.size()) {
    return Status::invalid_argument("transaction result has " + std::to_string(result->parts.size()) + " parts for " +
                                    std::to_string(batch.parts.size()));
  }
  for (const TransactionPartResult& part : result->parts) {
    if (!part.first_revision || !part.last_revision) return Status::invalid_argument("a part result without revisions");
    outcome.push_back({*part.first_revision, *part.last_revision, part.position});
  }
  return outcome;
}

// One writer thread's streams (written by it alone, so its exact expectations
// always hold) and what it was told.
struct Writer {
  int thread = 0;
  std::map<std::string, std::optional<StreamRevision>> head;
  std::uint32_t sequence = 0;
  std::vector<AcknowledgedBatch> acknowledged;  // all rounds
  std::optional<Batch> in_flight;               // the call that failed: outcome unknown
  std::optional<Status> failure;

  std::string stream(char which) const { return "kill-" + std::to_string(thread) + "-" + which; }
  ExpectedRevision expected(const std::string& stream) const {
    const auto found = head.find(stream);
    return found == head.end() || !found->second ? ExpectedRevision::no_stream()
                                                 : ExpectedRevision::exact(*found->second);
  }

  Batch next_batch(int round, std::mt19937& random) {
    Batch batch;
    batch.key = batch_key(round, thread, ++sequence);
    batch.transaction = random() % 3 == 0;
    const int parts = batch.transaction ? 2 : 1;
    for (int p = 0; p < parts; ++p) {
      TransactionPart part;
      part.stream = stream(p == 0 ? 'a' : 'b');
      part.expected = expected(part.stream);
      const int count = 1 + static_cast<int>(random() % 5);
      for (int i = 0; i < count; ++i) {
        EventData event;
        event.id = batch_event_id(round, thread, sequence, p, i, count, parts);
        event.type = "KillLoad";
        event.data = R"({"batch":")" + describe_batch(batch.key) + R"(","event":)" + std::to_string(i) + "}";
        part.events.push_back(std::move(event));
      }
      batch.parts.push_back(std::move(part));
    }
    return batch;
  }

  void acknowledge(const Batch& batch, const std::vector<PartOutcome>& outcome) {
    acknowledged.push_back({batch, outcome});
    for (std::size_t p = 0; p < batch.parts.size(); ++p) head[batch.parts[p].stream] = outcome[p].last_revision;
  }
};

std::vector<RecordedEvent> read_everything(EventStore& store, std::string& error) {
  std::vector<RecordedEvent> all;
  AllReadOptions options;
  options.limit = 500;
  for (;;) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) {
      error = page.status().to_string();
      return all;
    }
    all.insert(all.end(), page->events.begin(), page->events.end());
    if (!page->next) return all;
    options.from = page->next;
  }
}

std::string joined(const std::vector<std::string>& problems) {
  std::string text;
  for (const std::string& problem : problems) text += "\n  " + problem;
  return text;
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

  // Everything in the store against what the writers were told: every
  // acknowledged batch exactly once with its acknowledged revisions and
  // positions; a batch in flight at the kill whole or absent; nothing else.
  // Returns the in-flight batches that are present (they landed).
  std::set<std::uint64_t> check_store(EventStore& store, const std::vector<Writer>& writers) {
    std::string error;
    const std::vector<RecordedEvent> all = read_everything(store, error);
    EXPECT_EQ(error, "");
    std::map<std::uint64_t, std::size_t> events_of_batch;
    std::vector<std::string> problems;
    for (const RecordedEvent& event : all) {
      const std::optional<std::uint64_t> key = batch_of(event.id);
      if (!key) {
        problems.push_back("an event this test did not write: " + event.stream + "@" + std::to_string(event.revision));
        continue;
      }
      ++events_of_batch[*key];
    }
    std::vector<AcknowledgedEvent> expected;
    std::set<std::uint64_t> accounted;
    std::set<std::uint64_t> landed;
    const auto expect_batch = [&](const Batch& batch, const std::vector<PartOutcome>* outcome) {
      accounted.insert(batch.key);
      for (std::size_t p = 0; p < batch.parts.size(); ++p) {
        const TransactionPart& part = batch.parts[p];
        for (std::size_t i = 0; i < part.events.size(); ++i) {
          AcknowledgedEvent event;
          event.stream = part.stream;
          event.id = part.events[i].id;
          event.call = batch.key;
          if (outcome != nullptr) {
            event.revision = (*outcome)[p].first_revision + i;
            if (i + 1 == part.events.size()) event.position = (*outcome)[p].position;
          } else {
            // Landed in flight: where the expectation put it.
            event.revision =
                (part.expected.kind() == ExpectedRevision::Kind::exact ? part.expected.revision() + 1 : 0) + i;
          }
          expected.push_back(std::move(event));
        }
      }
    };
    for (const Writer& writer : writers) {
      for (const AcknowledgedBatch& batch : writer.acknowledged) expect_batch(batch.batch, &batch.outcome);
      if (!writer.in_flight) continue;
      const auto it = events_of_batch.find(writer.in_flight->key);
      if (it == events_of_batch.end()) continue;
      const std::size_t found = it->second;
      if (found != writer.in_flight->event_count()) {
        problems.push_back(describe_batch(writer.in_flight->key) +
                           " (in flight at the kill) is half there: " + std::to_string(found) + " of " +
                           std::to_string(writer.in_flight->event_count()) + " events");
      }
      landed.insert(writer.in_flight->key);
      expect_batch(*writer.in_flight, nullptr);
    }
    for (const auto& [key, count] : events_of_batch) {
      if (!accounted.contains(key)) problems.push_back(describe_batch(key) + " is there but was never acknowledged");
    }
    for (std::string& problem : check_followed_history(expected, all)) problems.push_back(std::move(problem));
    EXPECT_EQ(joined(problems), "") << all.size() << " events in the store";
    return landed;
  }

  std::string dir_;
  std::string uri_;
};

TEST_F(PostgresKillTest, EveryAcknowledgedAppendSurvivesAServerKill) {
  std::vector<Writer> writers(kWriterThreads);
  for (int t = 0; t < kWriterThreads; ++t) writers[t].thread = t;
  int in_flight_total = 0;
  int in_flight_landed = 0;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::unique_ptr<EventStore> store = open();
    ASSERT_NE(store, nullptr);
    for (Writer& writer : writers) {
      writer.in_flight.reset();
      writer.failure.reset();
    }

    std::atomic<int> acknowledged_this_round{0};
    std::atomic<bool> stop{false};
    std::vector<std::future<void>> done;
    for (Writer& writer : writers) {
      done.push_back(std::async(std::launch::async, [&store, &stop, &acknowledged_this_round, &writer = writer, round] {
        std::mt19937 random(std::random_device{}());
        while (!stop.load()) {
          Batch batch = writer.next_batch(round, random);
          writer.in_flight = batch;
          Result<std::vector<PartOutcome>> outcome = run_batch(*store, batch);
          if (!outcome.ok()) {
            writer.failure = outcome.status();
            return;
          }
          writer.acknowledge(batch, *outcome);
          writer.in_flight.reset();
          acknowledged_this_round.fetch_add(1);
        }
      }));
    }
    const auto load_deadline = std::chrono::steady_clock::now() + kLoadWait;
    while (acknowledged_this_round.load() < kAcksBeforeKill && std::chrono::steady_clock::now() < load_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::random_device{}() % 20000));
    const ScriptRun kill = pg_cluster("kill", dir_);
    ASSERT_EQ(kill.exit_code, 0) << kill.output;

    // Every writer must see the kill as a failed call, promptly.
    const auto fail_deadline = std::chrono::steady_clock::now() + kFailWait;
    for (std::future<void>& writer : done) {
      if (writer.wait_until(fail_deadline) != std::future_status::ready) {
        stop.store(true);
        (void)pg_cluster("stop", dir_);
        std::fprintf(stderr, "FATAL: a writer's call still hangs %d s after the server was killed\n",
                     static_cast<int>(kFailWait.count()));
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
    stop.store(true);
    for (const Writer& writer : writers) {
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
    const std::set<std::uint64_t> landed = check_store(*store, writers);
    in_flight_landed += static_cast<int>(landed.size());

    // Retrying a call of unknown outcome with the same ids lands it exactly
    // once: the original result if it committed, a fresh commit if not; a
    // second retry returns the same result.
    for (Writer& writer : writers) {
      if (!writer.in_flight) continue;
      const Batch batch = *writer.in_flight;
      Result<std::vector<PartOutcome>> retry = run_batch(*store, batch);
      ASSERT_TRUE(retry.ok()) << describe_batch(batch.key) << " (landed before: " << landed.contains(batch.key)
                              << "): " << retry.status().to_string();
      Result<std::vector<PartOutcome>> again = run_batch(*store, batch);
      ASSERT_TRUE(again.ok()) << again.status().to_string();
      EXPECT_EQ(*again, *retry) << describe_batch(batch.key);
      writer.acknowledge(batch, *retry);
      writer.in_flight.reset();
    }
    EXPECT_EQ(check_store(*store, writers), std::set<std::uint64_t>{});
    EXPECT_TRUE(store->close().ok());
  }
  std::size_t batches = 0;
  for (const Writer& writer : writers) batches += writer.acknowledged.size();
  RecordProperty("acknowledged_batches", static_cast<int>(batches));
  RecordProperty("in_flight_at_kills", in_flight_total);
  RecordProperty("in_flight_landed", in_flight_landed);
}

}  // namespace
}  // namespace evsrc_test
