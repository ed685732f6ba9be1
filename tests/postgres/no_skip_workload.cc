#include "postgres/no_skip_workload.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "postgres/followed_history.h"

namespace evsrc_test {
namespace {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

struct Follower {
  std::string name;
  std::vector<RecordedEvent> seen;
  std::size_t seen_while_writing = 0;  // how much was followed live (reported, not asserted)
  std::string error;
};

std::vector<EventData> make_events(int writer, int call, int count) {
  std::vector<EventData> events(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    events[i].id = Uuid::random();
    events[i].type = "NoSkip";
    events[i].data = R"({"writer":)" + std::to_string(writer) + R"(,"call":)" + std::to_string(call) + R"(,"event":)" +
                     std::to_string(i) + "}";
  }
  return events;
}

// What one writer was told: its acknowledged events, and calls that failed
// in a way the test does not expect.
struct WriterLog {
  std::vector<AcknowledgedEvent> acknowledged;
  std::vector<std::string> unexpected;
  int refused = 0;  // failures the options say wrote nothing
  int calls = 0;
  int conflicts = 0;
  std::optional<Position> last_position;
};

void record(WriterLog& log, std::uint64_t call, const std::string& stream, StreamRevision first,
            const std::vector<EventData>& events, Position position) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    AcknowledgedEvent event;
    event.stream = stream;
    event.revision = first + i;
    if (i + 1 == events.size()) event.position = position;
    event.id = events[i].id;
    event.call = call;
    log.acknowledged.push_back(std::move(event));
  }
  log.last_position = std::max(log.last_position.value_or(0), position);
}

// A failed call: refused (counted; the oracle then checks that none of its
// events shows up) when the options say such a failure writes nothing, else
// unexpected.
void failed(WriterLog& log, const NoSkipWorkloadOptions& options, const std::string& what, const Status& status) {
  if (options.refused_without_writing && options.refused_without_writing(status)) {
    ++log.refused;
  } else {
    log.unexpected.push_back(what + ": " + status.to_string());
  }
}

ExpectedRevision expectation(std::optional<StreamRevision> head) {
  return head ? ExpectedRevision::exact(*head) : ExpectedRevision::no_stream();
}

// Appends and commits to shared streams with exact expectations (retrying
// conflicts), to shared streams with `any`, to its own stream, and
// transactions over its own streams and a shared one.
void run_writer(EventStore& store, int writer, const NoSkipWorkloadOptions& options, WriterLog& log) {
  std::mt19937 random(std::random_device{}() + static_cast<unsigned>(writer));
  std::map<std::string, std::optional<StreamRevision>> believed_head;
  const std::string own = "writer-" + std::to_string(writer);
  const auto shared_streams = static_cast<unsigned>(options.shared_streams);
  const auto any_streams = static_cast<unsigned>(options.any_streams);
  for (int call = 0; call < options.calls_per_writer; ++call) {
    const std::uint64_t call_id = static_cast<std::uint64_t>(writer) * 1000 + static_cast<std::uint64_t>(call);
    const int count = 1 + static_cast<int>(random() % 3);
    const std::vector<EventData> events = make_events(writer, call, count);
    const unsigned kind = random() % 10;
    if (kind < 4) {
      // A shared stream with an exact expectation: conflicts are expected and
      // retried with the actual revision.
      const std::string stream = "shared-" + std::to_string(random() % shared_streams);
      for (int attempt = 0;; ++attempt) {
        Result<AppendResult> result = store.append(stream, expectation(believed_head[stream]), events);
        if (result.ok()) {
          record(log, call_id, stream, result->first_revision, events, result->position);
          believed_head[stream] = result->last_revision;
          ++log.calls;
          break;
        }
        if (result.status().code() != ErrorCode::wrong_expected_revision) {
          failed(log, options, stream, result.status());
          break;
        }
        if (attempt == options.max_conflicts_per_call) {
          log.unexpected.push_back(stream + ": " + result.status().to_string());
          break;
        }
        ++log.conflicts;
        believed_head[stream] = result.status().actual_revision();
      }
    } else if (kind < 6) {
      const std::string stream = "anyone-" + std::to_string(random() % any_streams);
      Result<AppendResult> result = store.append(stream, ExpectedRevision::any(), events);
      if (!result.ok()) {
        failed(log, options, stream, result.status());
        continue;
      }
      record(log, call_id, stream, result->first_revision, events, result->position);
      ++log.calls;
    } else if (kind < 8) {
      Result<AppendResult> result = store.append(own, expectation(believed_head[own]), events);
      if (!result.ok()) {
        failed(log, options, own, result.status());
        continue;
      }
      record(log, call_id, own, result->first_revision, events, result->position);
      believed_head[own] = result->last_revision;
      ++log.calls;
    } else {
      // A transaction: a condition on the writer's own stream (always true:
      // only this writer writes it), events to a stream of its own and to a
      // shared `any` stream.
      const std::string mine = own + "-tx";
      const std::string shared = "anyone-" + std::to_string(random() % any_streams);
      std::vector<EventData> second = make_events(writer, call, 1);
      std::vector<TransactionPart> parts(3);
      parts[0].stream = own;
      parts[0].expected = expectation(believed_head[own]);
      parts[1].stream = mine;
      parts[1].events = events;
      parts[2].stream = shared;
      parts[2].events = second;
      Result<TransactionResult> result = store.commit(parts);
      if (!result.ok()) {
        failed(log, options, "transaction", result.status());
        continue;
      }
      if (result->parts.size() != 3 || !result->parts[1].first_revision || !result->parts[2].first_revision) {
        log.unexpected.push_back("transaction: a result without the revisions of its parts");
        continue;
      }
      record(log, call_id, mine, *result->parts[1].first_revision, events, result->parts[1].position);
      record(log, call_id, shared, *result->parts[2].first_revision, second, result->parts[2].position);
      ++log.calls;
    }
  }
}

// Follows $all with a subscription until it has seen `final_position` (known
// once the writers are done), then asks once more for anything extra.
void follow_by_subscription(EventStore& store, Follower& follower, const std::atomic<bool>& writers_done,
                            const std::atomic<Position>& final_position, std::chrono::milliseconds follow_deadline) {
  AllSubscriptionOptions options;
  options.batch_size = 16;
  Result<std::unique_ptr<Subscription>> subscription = store.subscribe_all(options);
  if (!subscription.ok()) {
    follower.error = subscription.status().to_string();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + follow_deadline;
  bool caught_up = false;
  for (;;) {
    Result<std::vector<RecordedEvent>> batch = (*subscription)->next(std::chrono::milliseconds(caught_up ? 300 : 50));
    if (!batch.ok()) {
      follower.error = batch.status().to_string();
      return;
    }
    follower.seen.insert(follower.seen.end(), batch->begin(), batch->end());
    if (!writers_done.load()) follower.seen_while_writing = follower.seen.size();
    if (caught_up) return;
    caught_up = writers_done.load() && !follower.seen.empty() && follower.seen.back().position >= final_position.load();
    if (std::chrono::steady_clock::now() > deadline) {
      follower.error = "did not reach the last acknowledged position in time";
      return;
    }
  }
}

// Follows $all with small read_all pages, resuming from each page's `next`
// (or after the last event seen when the read reached the end).
void follow_by_polling(EventStore& store, Follower& follower, const std::atomic<bool>& writers_done,
                       const std::atomic<Position>& final_position, std::chrono::milliseconds follow_deadline) {
  AllReadOptions options;
  options.limit = 7;
  const auto deadline = std::chrono::steady_clock::now() + follow_deadline;
  bool caught_up = false;
  for (;;) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) {
      follower.error = page.status().to_string();
      return;
    }
    follower.seen.insert(follower.seen.end(), page->events.begin(), page->events.end());
    if (!writers_done.load()) follower.seen_while_writing = follower.seen.size();
    if (page->next) {
      options.from = page->next;
    } else if (!page->events.empty()) {
      options.from = page->events.back().position + 1;
    }
    if (page->next) continue;
    if (caught_up) return;
    caught_up = writers_done.load() && !follower.seen.empty() && follower.seen.back().position >= final_position.load();
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (std::chrono::steady_clock::now() > deadline) {
      follower.error = "did not reach the last acknowledged position in time";
      return;
    }
  }
}

// The body of run_no_skip_workload, apart so that its ASSERTs may return
// early with `figures` filled in as far as it got.
void run(const NoSkipStoreOpener& open, const NoSkipWorkloadOptions& options, NoSkipFigures& figures) {
  std::vector<std::unique_ptr<EventStore>> writer_stores;
  for (int writer = 0; writer < options.writers; ++writer) {
    writer_stores.push_back(open(writer));
    ASSERT_NE(writer_stores.back(), nullptr);
  }
  std::unique_ptr<EventStore> reader = open(std::nullopt);
  ASSERT_NE(reader, nullptr);

  std::atomic<bool> writers_done{false};
  std::atomic<Position> final_position{0};
  std::vector<Follower> followers(3);
  followers[0].name = "subscription on a reader store";
  followers[1].name = "subscription on writer 0's store";
  followers[2].name = "read_all poller on a reader store";
  const std::chrono::milliseconds follow_deadline = options.follow_deadline;
  std::vector<std::thread> follower_threads;
  follower_threads.emplace_back(
      [&] { follow_by_subscription(*reader, followers[0], writers_done, final_position, follow_deadline); });
  follower_threads.emplace_back(
      [&] { follow_by_subscription(*writer_stores[0], followers[1], writers_done, final_position, follow_deadline); });
  follower_threads.emplace_back(
      [&] { follow_by_polling(*reader, followers[2], writers_done, final_position, follow_deadline); });

  const auto writing_start = std::chrono::steady_clock::now();
  std::vector<WriterLog> logs(static_cast<std::size_t>(options.writers));
  std::vector<std::thread> writer_threads;
  for (int writer = 0; writer < options.writers; ++writer) {
    writer_threads.emplace_back([&, writer] { run_writer(*writer_stores[writer], writer, options, logs[writer]); });
  }
  for (std::thread& thread : writer_threads) thread.join();
  figures.writing_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - writing_start);

  std::vector<AcknowledgedEvent> acknowledged;
  Position last = 0;
  for (int writer = 0; writer < options.writers; ++writer) {
    EXPECT_EQ(logs[writer].unexpected, std::vector<std::string>{}) << "writer " << writer;
    acknowledged.insert(acknowledged.end(), logs[writer].acknowledged.begin(), logs[writer].acknowledged.end());
    figures.acknowledged_calls += logs[writer].calls;
    figures.conflicts_retried += logs[writer].conflicts;
    figures.unexpected_failures += static_cast<int>(logs[writer].unexpected.size());
    figures.refused_calls += logs[writer].refused;
    last = std::max(last, logs[writer].last_position.value_or(0));
  }
  figures.acknowledged_events = static_cast<int>(acknowledged.size());
  final_position.store(last);
  writers_done.store(true);
  for (std::thread& thread : follower_threads) thread.join();
  for (const Follower& follower : followers) figures.seen_while_writing.push_back(follower.seen_while_writing);

  ASSERT_FALSE(acknowledged.empty());
  for (const Follower& follower : followers) {
    EXPECT_EQ(follower.error, "") << follower.name;
    EXPECT_EQ(joined_problems(check_followed_history(acknowledged, follower.seen)), "")
        << follower.name << " saw " << follower.seen.size() << " events of " << acknowledged.size() << " acknowledged";
  }

  // And a fresh store object reading the finished store agrees, page by page
  // and stream by stream.
  std::unique_ptr<EventStore> fresh = open(std::nullopt);
  ASSERT_NE(fresh, nullptr);
  std::vector<RecordedEvent> all;
  AllReadOptions read_options;
  read_options.limit = 100;
  for (;;) {
    Result<AllPage> page = fresh->read_all(read_options);
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    all.insert(all.end(), page->events.begin(), page->events.end());
    if (!page->next) break;
    read_options.from = page->next;
  }
  EXPECT_EQ(joined_problems(check_followed_history(acknowledged, all)), "");
  std::map<std::string, std::vector<RecordedEvent>> by_stream;
  for (const RecordedEvent& event : all) by_stream[event.stream].push_back(event);
  for (const auto& [stream, events] : by_stream) {
    Result<StreamPage> page = fresh->read_stream(stream, StreamReadOptions{});
    ASSERT_TRUE(page.ok()) << stream << ": " << page.status().to_string();
    EXPECT_EQ(page->events, events) << stream;
  }

  for (auto& store : writer_stores) EXPECT_TRUE(store->close().ok());
  EXPECT_TRUE(reader->close().ok());
  EXPECT_TRUE(fresh->close().ok());
}

}  // namespace

NoSkipFigures run_no_skip_workload(const NoSkipStoreOpener& open, const NoSkipWorkloadOptions& options) {
  NoSkipFigures figures;
  run(open, options, figures);
  return figures;
}

}  // namespace evsrc_test
