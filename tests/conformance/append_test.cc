// Appends: expected revisions, idempotent retries, atomic batches, limits and
// validation (DESIGN §1 "Append").
#include <string>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

TEST_P(StoreConformance, AppendToNewStreamStartsAtRevisionZero) {
  Result<AppendResult> result = store().append("order-1", ExpectedRevision::no_stream(), make_events(3));
  ASSERT_OK(result);
  EXPECT_EQ(result->first_revision, 0u);
  EXPECT_EQ(result->last_revision, 2u);
  const std::vector<RecordedEvent> events = read_whole_stream(store(), "order-1");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().position, result->position);
  Result<AppendResult> more = store().append("order-1", ExpectedRevision::exact(2), make_events(2));
  ASSERT_OK(more);
  EXPECT_EQ(more->first_revision, 3u);
  EXPECT_EQ(more->last_revision, 4u);
  EXPECT_GT(more->position, result->position);
}

TEST_P(StoreConformance, RecordedEventKeepsWhatWasAppended) {
  EventData event = make_event("OrderPlaced", R"({"total":42})");
  event.metadata = R"({"user":"ann"})";
  event.content_type = "application/vnd.test+json";
  ASSERT_OK(store().append("order-7", ExpectedRevision::any(), std::vector{event}));
  const std::vector<RecordedEvent> events = read_whole_stream(store(), "order-7");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, "order-7");
  EXPECT_EQ(events[0].revision, 0u);
  EXPECT_EQ(events[0].id, event.id);
  EXPECT_EQ(events[0].type, event.type);
  EXPECT_EQ(events[0].data, event.data);
  EXPECT_EQ(events[0].metadata, event.metadata);
  EXPECT_EQ(events[0].content_type, event.content_type);
  EXPECT_GT(events[0].recorded_at.time_since_epoch().count(), 0);
}

TEST_P(StoreConformance, ExpectedAnyAppendsWhateverTheState) {
  EXPECT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  Result<AppendResult> second = store().append("s-1", ExpectedRevision::any(), make_events(1));
  ASSERT_OK(second);
  EXPECT_EQ(second->first_revision, 1u);
}

TEST_P(StoreConformance, ExpectedNoStreamFailsWithActualRevision) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::no_stream(), make_events(2)));
  Result<AppendResult> again = store().append("s-1", ExpectedRevision::no_stream(), make_events(1));
  ASSERT_CODE(again, wrong_expected_revision);
  EXPECT_EQ(again.status().actual_revision(), std::optional<std::uint64_t>(1));
}

TEST_P(StoreConformance, ExpectedStreamExistsFailsOnAbsentStreamWithNoRevision) {
  Result<AppendResult> result = store().append("s-1", ExpectedRevision::stream_exists(), make_events(1));
  ASSERT_CODE(result, wrong_expected_revision);
  EXPECT_EQ(result.status().actual_revision(), std::nullopt);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  EXPECT_OK(store().append("s-1", ExpectedRevision::stream_exists(), make_events(1)));
}

TEST_P(StoreConformance, ExpectedExactRevision) {
  Result<AppendResult> absent = store().append("s-1", ExpectedRevision::exact(0), make_events(1));
  ASSERT_CODE(absent, wrong_expected_revision);
  EXPECT_EQ(absent.status().actual_revision(), std::nullopt);
  ASSERT_OK(store().append("s-1", ExpectedRevision::no_stream(), make_events(3)));
  Result<AppendResult> behind = store().append("s-1", ExpectedRevision::exact(1), make_events(1));
  ASSERT_CODE(behind, wrong_expected_revision);
  EXPECT_EQ(behind.status().actual_revision(), std::optional<std::uint64_t>(2));
  Result<AppendResult> ahead = store().append("s-1", ExpectedRevision::exact(5), make_events(1));
  ASSERT_CODE(ahead, wrong_expected_revision);
  EXPECT_EQ(ahead.status().actual_revision(), std::optional<std::uint64_t>(2));
  Result<AppendResult> right = store().append("s-1", ExpectedRevision::exact(2), make_events(1));
  ASSERT_OK(right);
  EXPECT_EQ(right->last_revision, 3u);
}

TEST_P(StoreConformance, WrongExpectationWritesNothing) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(2)));
  const std::uint64_t before = event_count(store());
  EXPECT_CODE(store().append("s-1", ExpectedRevision::exact(0), make_events(3)), wrong_expected_revision);
  EXPECT_CODE(store().append("s-2", ExpectedRevision::stream_exists(), make_events(3)), wrong_expected_revision);
  EXPECT_EQ(event_count(store()), before);
  EXPECT_EQ(read_whole_stream(store(), "s-1").size(), 2u);
  EXPECT_CODE(store().read_stream("s-2", {}), not_found);
}

TEST_P(StoreConformance, EmptyAppendOnlyChecksTheExpectation) {
  EXPECT_OK(store().append("s-1", ExpectedRevision::no_stream(), {}));
  EXPECT_CODE(store().read_stream("s-1", {}), not_found);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(2)));
  EXPECT_OK(store().append("s-1", ExpectedRevision::exact(1), {}));
  EXPECT_CODE(store().append("s-1", ExpectedRevision::exact(0), {}), wrong_expected_revision);
  EXPECT_EQ(event_count(store()), 2u);
}

TEST_P(StoreConformance, IdempotentRetryReturnsTheOriginalResultAndWritesNothing) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::no_stream(), make_events(3)));
  const std::vector<EventData> batch = make_events(2);
  Result<AppendResult> first = store().append("s-1", ExpectedRevision::exact(2), batch);
  ASSERT_OK(first);
  const std::uint64_t count = event_count(store());
  // The retry's expectation no longer holds (the stream is at 4), yet it is
  // the same write: it succeeds with the original result.
  Result<AppendResult> retry = store().append("s-1", ExpectedRevision::exact(2), batch);
  ASSERT_OK(retry);
  EXPECT_EQ(*retry, *first);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  Result<AppendResult> later = store().append("s-1", ExpectedRevision::any(), batch);
  ASSERT_OK(later);
  EXPECT_EQ(*later, *first);
  EXPECT_EQ(event_count(store()), count + 1);
  EXPECT_EQ(read_whole_stream(store(), "s-1").size(), 6u);
}

TEST_P(StoreConformance, ReusedIdsWithOtherContentConflict) {
  std::vector<EventData> batch = make_events(2);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), batch));
  batch[1].data = R"({"changed":true})";
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), idempotency_conflict);
  batch = make_events(1);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), batch));
  batch[0].type = "Other";
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), idempotency_conflict);
  EXPECT_EQ(event_count(store()), 3u);
}

TEST_P(StoreConformance, ReusedIdsAtAnotherPlaceConflict) {
  const std::vector<EventData> batch = make_events(2);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), batch));
  EXPECT_CODE(store().append("s-2", ExpectedRevision::any(), batch), idempotency_conflict);
  const std::vector<EventData> swapped{batch[1], batch[0]};
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), swapped), idempotency_conflict);
  const std::vector<EventData> partly_new{batch[0], make_event()};
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), partly_new), idempotency_conflict);
  EXPECT_EQ(event_count(store()), 2u);
  EXPECT_CODE(store().read_stream("s-2", {}), not_found);
}

TEST_P(StoreConformance, DuplicateIdsInOneBatchAreInvalid) {
  const EventData event = make_event();
  const std::vector<EventData> batch{event, make_event(), event};
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), invalid_argument);
  EXPECT_EQ(event_count(store()), 0u);
}

TEST_P(StoreConformance, NilIdsAreReplacedByFreshOnes) {
  std::vector<EventData> batch = make_events(3);
  for (EventData& event : batch) event.id = Uuid{};
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), batch));
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), batch));  // not a retry: ids are fresh each time
  const std::vector<RecordedEvent> events = read_whole_stream(store(), "s-1");
  ASSERT_EQ(events.size(), 6u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_FALSE(events[i].id.is_nil());
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(events[i].id, events[j].id);
  }
}

TEST_P(StoreConformance, InvalidStreamNamesAreRefused) {
  const std::string too_long(1025, 'a');
  const std::string with_nul("a\0b", 3);
  for (const std::string& name : {std::string(), too_long, with_nul, std::string("bad-\xff\xfe"),
                                  std::string("over\xc0\xaf"), std::string("$all"), std::string("$x-1")}) {
    EXPECT_CODE(store().append(name, ExpectedRevision::any(), make_events(1)), invalid_argument);
    EXPECT_CODE(store().read_stream(name, {}), invalid_argument);
  }
  EXPECT_EQ(event_count(store()), 0u);
  EXPECT_OK(store().append(std::string(1024, 'a'), ExpectedRevision::any(), make_events(1)));
  EXPECT_OK(store().append("ünïcode-ストリーム", ExpectedRevision::any(), make_events(1)));
}

TEST_P(StoreConformance, InvalidEventTypesAreRefused) {
  std::vector<EventData> batch = make_events(2);
  batch[1].type.clear();
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), invalid_argument);
  batch[1].type = std::string(256, 't');
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), invalid_argument);
  EXPECT_EQ(event_count(store()), 0u);
}

TEST_P(StoreConformance, OversizedEventFailsAndWritesNothing) {
  StoreOptions options;
  options.limits.max_event_bytes = 1000;
  reopen(options);
  std::vector<EventData> batch = make_events(3);
  batch[2].data = std::string(1001, 'x');
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), batch), too_large);
  EXPECT_EQ(event_count(store()), 0u);
  EXPECT_CODE(store().read_stream("s-1", {}), not_found);
  batch[2].data = std::string(900, 'x');
  EXPECT_OK(store().append("s-1", ExpectedRevision::any(), batch));
}

TEST_P(StoreConformance, BatchLimitsAreEnforced) {
  StoreOptions options;
  options.limits.max_events_per_batch = 4;
  options.limits.max_batch_bytes = 2000;
  reopen(options);
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), make_events(5)), too_large);
  EXPECT_OK(store().append("s-1", ExpectedRevision::any(), make_events(4)));
  std::vector<EventData> heavy = make_events(3);
  for (EventData& event : heavy) event.data = std::string(700, 'x');
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), heavy), too_large);
  EXPECT_EQ(event_count(store()), 4u);
}

TEST_P(StoreConformance, RecordedAtNeverDecreasesAlongPositions) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(store().append("clock-" + std::to_string(i % 3), ExpectedRevision::any(), make_events(1 + i % 4)));
  }
  const std::vector<RecordedEvent> events = read_whole_all(store());
  ASSERT_FALSE(events.empty());
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].position, events[i].position);
    EXPECT_LE(events[i - 1].recorded_at, events[i].recorded_at);
  }
}

}  // namespace
}  // namespace evsrc_test
