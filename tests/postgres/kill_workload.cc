#include "postgres/kill_workload.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "postgres/followed_history.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

constexpr std::uint8_t kIdMarker[2] = {0xEC, 0x5D};

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

std::string describe_event(const RecordedEvent& event) {
  return event.stream + "@" + std::to_string(event.revision) + " (position " + std::to_string(event.position) +
         ", id " + event.id.to_string() + ")";
}

std::string describe_difference(const std::vector<RecordedEvent>& read, const std::vector<RecordedEvent>& all,
                                std::size_t at) {
  std::string text;
  if (at < read.size()) text += "; read_stream has " + describe_event(read[at]);
  if (at < all.size()) text += "; $all has " + describe_event(all[at]);
  return text;
}

}  // namespace

std::string describe_batch(std::uint64_t key) {
  return "batch " + std::to_string(key >> 40) + "." + std::to_string((key >> 32) & 0xff) + "." +
         std::to_string(key & 0xffffffffu);
}

std::size_t KillBatch::event_count() const {
  std::size_t count = 0;
  for (const TransactionPart& part : parts) count += part.events.size();
  return count;
}

Result<std::vector<PartOutcome>> run_batch(EventStore& store, const KillBatch& batch) {
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

KillBatch KillWriter::next_batch(int round, std::mt19937& random) {
  const auto stream = [this](char which) { return "kill-" + std::to_string(thread) + "-" + which; };
  const auto expected = [this](const std::string& name) {
    const auto found = head.find(name);
    return found == head.end() || !found->second ? ExpectedRevision::no_stream()
                                                 : ExpectedRevision::exact(*found->second);
  };
  KillBatch batch;
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

void KillWriter::acknowledge(const KillBatch& batch, const std::vector<PartOutcome>& outcome) {
  acknowledged.push_back({batch, outcome});
  for (std::size_t p = 0; p < batch.parts.size(); ++p) head[batch.parts[p].stream] = outcome[p].last_revision;
}

KillLoad::KillLoad(EventStore& store, std::vector<KillWriter>& writers, int round) {
  for (KillWriter& writer : writers) {
    writer.in_flight.reset();
    writer.failure.reset();
  }
  for (KillWriter& writer : writers) {
    done_.push_back(std::async(std::launch::async, [this, &store, &writer, round] {
      std::mt19937 random(std::random_device{}());
      while (!stop_.load()) {
        KillBatch batch = writer.next_batch(round, random);
        writer.in_flight = batch;
        CallRecord call{batch.key, std::chrono::steady_clock::now(), {}, false};
        Result<std::vector<PartOutcome>> outcome = run_batch(store, batch);
        call.finished = std::chrono::steady_clock::now();
        call.ok = outcome.ok();
        writer.calls.push_back(call);
        if (!outcome.ok()) {
          writer.failure = outcome.status();
          return;
        }
        writer.acknowledge(batch, *outcome);
        writer.in_flight.reset();
        acknowledged_.fetch_add(1);
      }
    }));
  }
}

KillLoad::~KillLoad() {
  stop();
  for (std::future<void>& done : done_) done.wait();
}

void KillLoad::wait_for_acknowledged(int count, std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (acknowledged_.load() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool KillLoad::wait_until_done(std::chrono::steady_clock::time_point deadline) {
  for (std::future<void>& done : done_) {
    if (done.wait_until(deadline) != std::future_status::ready) return false;
  }
  return true;
}

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

std::set<std::uint64_t> check_store_after_kill(EventStore& store, const std::vector<KillWriter>& writers) {
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
  const auto expect_batch = [&](const KillBatch& batch, const std::vector<PartOutcome>* outcome) {
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
  for (const KillWriter& writer : writers) {
    for (const AcknowledgedBatch& batch : writer.acknowledged) expect_batch(batch.batch, &batch.outcome);
    if (!writer.in_flight) continue;
    const auto it = events_of_batch.find(writer.in_flight->key);
    if (it == events_of_batch.end()) continue;
    const std::size_t found = it->second;
    if (found != writer.in_flight->event_count()) {
      problems.push_back(describe_batch(writer.in_flight->key) + " (in flight at the kill) is half there: " +
                         std::to_string(found) + " of " + std::to_string(writer.in_flight->event_count()) + " events");
    }
    landed.insert(writer.in_flight->key);
    expect_batch(*writer.in_flight, nullptr);
  }
  for (const auto& [key, count] : events_of_batch) {
    if (!accounted.contains(key)) problems.push_back(describe_batch(key) + " is there but was never acknowledged");
  }
  for (std::string& problem : check_followed_history(expected, all)) problems.push_back(std::move(problem));
  EXPECT_EQ(joined_problems(problems), "") << all.size() << " events in the store";

  // Each stream read on its own holds what $all holds of it.
  std::map<std::string, std::vector<RecordedEvent>> by_stream;
  for (const RecordedEvent& event : all) by_stream[event.stream].push_back(event);
  for (const auto& [stream, events] : by_stream) {
    std::vector<RecordedEvent> read;
    StreamReadOptions options;
    for (;;) {
      Result<StreamPage> page = store.read_stream(stream, options);
      EXPECT_TRUE(page.ok()) << stream << ": " << page.status().to_string();
      if (!page.ok()) break;
      read.insert(read.end(), page->events.begin(), page->events.end());
      if (!page->next) break;
      options.from = page->next;
    }
    if (read != events) {
      std::size_t same = 0;
      while (same < read.size() && same < events.size() && read[same] == events[same]) ++same;
      ADD_FAILURE() << "read_stream(" << stream << ") has " << read.size() << " events, $all " << events.size()
                    << "; they agree up to revision " << same << describe_difference(read, events, same);
    }
  }
  return landed;
}

ScriptRun run_script(const std::string& script, const std::string& command, const std::string& dir,
                     const std::string& environment) {
  const std::string line = "env " + environment + " '" + script + "' " + command + " '" + dir + "' 2>&1";
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

void retry_in_flight_batches(EventStore& store, std::vector<KillWriter>& writers,
                             const std::set<std::uint64_t>& landed) {
  for (KillWriter& writer : writers) {
    if (!writer.in_flight) continue;
    const KillBatch batch = *writer.in_flight;
    Result<std::vector<PartOutcome>> retry = run_batch(store, batch);
    ASSERT_TRUE(retry.ok()) << describe_batch(batch.key) << " (landed before: " << landed.contains(batch.key)
                            << "): " << retry.status().to_string();
    Result<std::vector<PartOutcome>> again = run_batch(store, batch);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ(*again, *retry) << describe_batch(batch.key);
    writer.acknowledge(batch, *retry);
    writer.in_flight.reset();
  }
}

}  // namespace evsrc_test
