// Subscriptions: catch-up then live, in order, no gap, no duplicate, with
// concurrent writers; filters; cancel; close (DESIGN §1 "Subscriptions").
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

using std::chrono::milliseconds;

AllSubscriptionOptions all_options(std::optional<Position> from, std::uint64_t batch_size = 1000) {
  AllSubscriptionOptions options;
  options.from = from;
  options.batch_size = batch_size;
  return options;
}

StreamSubscriptionOptions stream_options(std::optional<StreamRevision> from, std::uint64_t batch_size = 1000) {
  StreamSubscriptionOptions options;
  options.from = from;
  options.batch_size = batch_size;
  return options;
}

// Pulls until `count` events arrived or a pull fails (bounded by `pulls`, a
// liveness guard, not a timing assertion).
std::vector<RecordedEvent> pull(Subscription& subscription, std::size_t count, int pulls = 2000) {
  std::vector<RecordedEvent> events;
  while (events.size() < count && pulls-- > 0) {
    Result<std::vector<RecordedEvent>> batch = subscription.next(milliseconds(100));
    if (!batch.ok()) {
      ADD_FAILURE() << batch.status().to_string();
      break;
    }
    events.insert(events.end(), batch->begin(), batch->end());
  }
  return events;
}

// Checks what a subscription delivered: positions strictly increase and each
// stream's revisions are contiguous from `first_revision`.
void expect_ordered_without_gaps(const std::vector<RecordedEvent>& events, StreamRevision first_revision = 0) {
  std::map<std::string, StreamRevision> next_revision;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(events[i - 1].position, events[i].position) << "at " << i;
    }
    auto [it, inserted] = next_revision.emplace(events[i].stream, first_revision);
    EXPECT_EQ(events[i].revision, it->second) << events[i].stream;
    it->second = events[i].revision + 1;
  }
}

// Four writers, each appending `appends` batches of 2 events to its own
// stream "<category>-<n>", interleaved with noise to "noise-<n>".
void run_writers(EventStore& store, const std::string& category, int appends, std::atomic<std::size_t>& written) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&store, &written, category, appends, w] {
      const std::string stream = category + "-" + std::to_string(w);
      for (int i = 0; i < appends; ++i) {
        Result<AppendResult> result = store.append(stream, ExpectedRevision::any(), make_events(2, "Tick"));
        EXPECT_TRUE(IsOk(result));
        if (result.ok()) written += 2;
        if (i % 2 == 0) (void)store.append("noise-" + std::to_string(w), ExpectedRevision::any(), make_events(1));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
}

TEST_P(StoreConformance, SubscribeAllCatchesUpThenFollowsLive) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(5)));
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_all(all_options(std::nullopt, 2));
  ASSERT_OK(subscription);
  std::vector<RecordedEvent> events = pull(**subscription, 5);
  ASSERT_EQ(events.size(), 5u);
  Result<std::vector<RecordedEvent>> idle = (*subscription)->next(milliseconds(10));
  ASSERT_OK(idle);
  EXPECT_TRUE(idle->empty());
  ASSERT_OK(store().append("s-2", ExpectedRevision::any(), make_events(3)));
  const std::vector<RecordedEvent> live = pull(**subscription, 3);
  events.insert(events.end(), live.begin(), live.end());
  EXPECT_EQ(events, read_whole_all(store()));
}

TEST_P(StoreConformance, SubscribeAllFromPositionIsInclusive) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(6)));
  const std::vector<RecordedEvent> all = read_whole_all(store());
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_all(all_options(all[4].position));
  ASSERT_OK(subscription);
  const std::vector<RecordedEvent> events = pull(**subscription, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], all[4]);
  EXPECT_EQ(events[1], all[5]);
}

TEST_P(StoreConformance, SubscribeAllWithConcurrentWritersMissesNothing) {
  ASSERT_OK(store().append("tick-0", ExpectedRevision::any(), make_events(3, "Tick")));
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_all(all_options(std::nullopt, 16));
  ASSERT_OK(subscription);
  std::atomic<std::size_t> written{3};
  std::atomic<bool> done{false};
  std::thread writers([&] {
    run_writers(store(), "tick", 40, written);
    done = true;
  });
  std::vector<RecordedEvent> events;
  std::optional<std::uint64_t> total;           // known once the writers are done
  for (int pulls = 0; pulls < 5000; ++pulls) {  // the subscriber runs while the writers write
    if (!total && done.load()) total = event_count(store());
    if (total && events.size() >= *total) break;
    Result<std::vector<RecordedEvent>> batch = (*subscription)->next(milliseconds(100));
    if (!batch.ok()) {
      ADD_FAILURE() << batch.status().to_string();
      break;
    }
    events.insert(events.end(), batch->begin(), batch->end());
  }
  writers.join();
  EXPECT_EQ(written.load(), 3u + 4 * 80);
  ASSERT_TRUE(total.has_value());
  EXPECT_EQ(events.size(), *total);
  expect_ordered_without_gaps(events);
  EXPECT_EQ(events, read_whole_all(store()));
}

TEST_P(StoreConformance, FilteredSubscriptionWithConcurrentWriters) {
  ASSERT_OK(store().append("noise-9", ExpectedRevision::any(), make_events(4)));
  ASSERT_OK(store().append("tock-9", ExpectedRevision::any(), make_events(2, "Tick")));
  AllSubscriptionOptions options;
  options.filter.category = "tock";
  options.batch_size = 5;
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_all(options);
  ASSERT_OK(subscription);
  std::atomic<std::size_t> written{2};
  std::thread writers([&] { run_writers(store(), "tock", 40, written); });
  const std::vector<RecordedEvent> events = pull(**subscription, 2 + 4 * 80);
  writers.join();
  ASSERT_EQ(written.load(), 2u + 4 * 80);
  for (const RecordedEvent& event : events) EXPECT_EQ(stream_category(event.stream), "tock");
  expect_ordered_without_gaps(events);
  EXPECT_EQ(events, read_whole_all(store(), options.filter));
  Result<std::vector<RecordedEvent>> idle = (*subscription)->next(milliseconds(10));
  ASSERT_OK(idle);
  EXPECT_TRUE(idle->empty());
}

TEST_P(StoreConformance, StreamSubscriptionWaitsForTheStreamToExist) {
  Result<std::unique_ptr<Subscription>> subscription =
      store().subscribe_stream("late-1", stream_options(std::nullopt, 3));
  ASSERT_OK(subscription);
  Result<std::vector<RecordedEvent>> idle = (*subscription)->next(milliseconds(10));
  ASSERT_OK(idle);
  EXPECT_TRUE(idle->empty());
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) {
      EXPECT_TRUE(IsOk(store().append("other-1", ExpectedRevision::any(), make_events(1))));
      EXPECT_TRUE(IsOk(store().append("late-1", ExpectedRevision::any(), make_events(1 + i % 3))));
    }
  });
  const std::vector<RecordedEvent> events = pull(**subscription, 60);
  writer.join();
  ASSERT_EQ(events.size(), 60u);
  for (const RecordedEvent& event : events) EXPECT_EQ(event.stream, "late-1");
  expect_ordered_without_gaps(events);
  EXPECT_EQ(events, read_whole_stream(store(), "late-1"));
}

TEST_P(StoreConformance, StreamSubscriptionFromRevisionWithConcurrentWriters) {
  ASSERT_OK(store().append("tack-2", ExpectedRevision::any(), make_events(5, "Tick")));
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_stream("tack-2", stream_options(3));
  ASSERT_OK(subscription);
  std::atomic<std::size_t> written{5};
  std::thread writers([&] { run_writers(store(), "tack", 30, written); });
  const std::size_t expected = 2 + 60;  // revisions 3 and 4, then writer 2's 30 appends of 2 events
  const std::vector<RecordedEvent> events = pull(**subscription, expected);
  writers.join();
  ASSERT_EQ(events.size(), expected);
  expect_ordered_without_gaps(events, 3);
  const std::vector<RecordedEvent> stream = read_whole_stream(store(), "tack-2");
  EXPECT_EQ(events, std::vector<RecordedEvent>(stream.begin() + 3, stream.end()));
}

TEST_P(StoreConformance, CancelWakesABlockedNext) {
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_all({});
  ASSERT_OK(subscription);
  Subscription& sub = **subscription;
  std::optional<ErrorCode> code;
  std::thread subscriber([&] { code = sub.next(std::chrono::seconds(60)).status().code(); });
  std::this_thread::sleep_for(milliseconds(20));
  sub.cancel();
  subscriber.join();
  EXPECT_EQ(code, std::optional<ErrorCode>(ErrorCode::closed));
  EXPECT_CODE(sub.next(milliseconds(1)), closed);
  Result<std::unique_ptr<Subscription>> stream_subscription = store().subscribe_stream("s-1", {});
  ASSERT_OK(stream_subscription);
  (*stream_subscription)->cancel();
  EXPECT_CODE((*stream_subscription)->next(milliseconds(1)), closed);
}

TEST_P(StoreConformance, SubscriptionsFailWithClosedAfterClose) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  Result<std::unique_ptr<Subscription>> all = store().subscribe_all({});
  ASSERT_OK(all);
  Result<std::unique_ptr<Subscription>> one = store().subscribe_stream("s-1", {});
  ASSERT_OK(one);
  EXPECT_EQ(pull(**all, 1).size(), 1u);
  ASSERT_OK(store().close());
  EXPECT_CODE((*all)->next(milliseconds(1)), closed);
  EXPECT_CODE((*one)->next(milliseconds(1)), closed);
}

TEST_P(StoreConformance, StreamSubscriptionOfTombstonedStreamFails) {
  ASSERT_OK(store().append("dead-1", ExpectedRevision::any(), make_events(2)));
  ASSERT_OK(store().tombstone_stream("dead-1", ExpectedRevision::any()));
  Result<std::unique_ptr<Subscription>> subscription = store().subscribe_stream("dead-1", {});
  ASSERT_OK(subscription);
  EXPECT_CODE((*subscription)->next(milliseconds(1)), stream_deleted);
  EXPECT_CODE(store().subscribe_stream("$bad", {}), invalid_argument);
}

}  // namespace
}  // namespace evsrc_test
