// Borrowing reads (event_cursor.h): a cursor shows the same events as the
// page reads with the same options, stops at its limit with the page's
// `next`, never reads past what was committed when it was opened, and fails
// at opening as the page reads do.
#include <string>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

struct Drained {
  std::vector<RecordedEvent> events;
  std::optional<std::uint64_t> resume_from;
};

// Every event of the cursor, copied as it is shown (views are only valid
// until the next step).
Drained drain(EventCursor& cursor) {
  Drained drained;
  while (true) {
    Result<const EventView*> event = cursor.next();
    EXPECT_TRUE(IsOk(event));
    if (!event.ok() || *event == nullptr) break;
    drained.events.push_back((*event)->to_recorded_event());
  }
  drained.resume_from = cursor.resume_from();
  // An ended cursor stays ended.
  Result<const EventView*> again = cursor.next();
  EXPECT_TRUE(IsOk(again));
  EXPECT_TRUE(!again.ok() || *again == nullptr);
  return drained;
}

Drained drain_all(EventStore& store, const AllReadOptions& options) {
  Result<std::unique_ptr<EventCursor>> cursor = store.open_all_cursor(options);
  EXPECT_TRUE(IsOk(cursor));
  if (!cursor.ok()) return {};
  return drain(**cursor);
}

Drained drain_stream(EventStore& store, const std::string& stream, const StreamReadOptions& options) {
  Result<std::unique_ptr<StreamCursor>> cursor = store.open_stream_cursor(stream, options);
  EXPECT_TRUE(IsOk(cursor));
  if (!cursor.ok()) return {};
  return drain(**cursor);
}

// Events of two streams written in batches of varied sizes, interleaved, with
// system records (metadata) between them: more than one page underneath.
void write_interleaved(EventStore& store) {
  for (int round = 0; round < 30; ++round) {
    ASSERT_OK(store.append("left-1", ExpectedRevision::any(), make_events(1 + round % 7, "Left")));
    ASSERT_OK(store.append("right-1", ExpectedRevision::any(), make_events(40, "Right")));
    if (round % 10 == 0) {
      ASSERT_OK(store.set_stream_metadata("other-1", StreamMetadata{}));
    }
  }
}

TEST_P(StoreConformance, AllCursorShowsWhatPagesShow) {
  write_interleaved(store());
  const std::vector<RecordedEvent> paged = read_whole_all(store());
  ASSERT_GT(paged.size(), 1000u);
  AllReadOptions options;
  options.limit = kNoLimit;
  Drained drained = drain_all(store(), options);
  EXPECT_EQ(drained.events, paged);
  EXPECT_EQ(drained.resume_from, std::nullopt);
  options.filter = make_filter("left-");
  EXPECT_EQ(drain_all(store(), options).events, read_whole_all(store(), make_filter("left-")));
  options.filter = make_filter("", "", "Right");
  EXPECT_EQ(drain_all(store(), options).events, read_whole_all(store(), make_filter("", "", "Right")));
}

TEST_P(StoreConformance, AllCursorStopsAtItsLimitWhereThePageWould) {
  write_interleaved(store());
  for (const Direction direction : {Direction::forward, Direction::backward}) {
    for (const std::uint64_t limit : {1u, 7u, 1000u, 1001u}) {
      AllReadOptions options;
      options.direction = direction;
      options.limit = limit;
      options.filter = make_filter("left-");
      Result<AllPage> page = store().read_all(options);
      ASSERT_OK(page);
      const Drained drained = drain_all(store(), options);
      EXPECT_EQ(drained.events, page->events) << "limit " << limit;
      EXPECT_EQ(drained.resume_from, page->next) << "limit " << limit;
      // Continuing from resume_from gives what follows.
      if (drained.resume_from) {
        options.from = drained.resume_from;
        Result<AllPage> following = store().read_all(options);
        ASSERT_OK(following);
        EXPECT_EQ(drain_all(store(), options).events, following->events);
      }
    }
  }
}

TEST_P(StoreConformance, AllCursorBackwardFromAPosition) {
  write_interleaved(store());
  const std::vector<RecordedEvent> all = read_whole_all(store());
  AllReadOptions options;
  options.direction = Direction::backward;
  options.from = all[all.size() / 2].position;
  options.limit = kNoLimit;
  const Drained drained = drain_all(store(), options);
  ASSERT_EQ(drained.events.size(), all.size() / 2 + 1);
  for (std::size_t i = 0; i < drained.events.size(); ++i) EXPECT_EQ(drained.events[i], all[all.size() / 2 - i]);
  EXPECT_EQ(drained.resume_from, std::nullopt);
}

TEST_P(StoreConformance, StreamCursorShowsWhatPagesShow) {
  write_interleaved(store());
  for (const std::string stream : {"left-1", "right-1"}) {
    const std::vector<RecordedEvent> paged = read_whole_stream(store(), stream);
    StreamReadOptions options;
    options.limit = kNoLimit;
    Result<std::unique_ptr<StreamCursor>> cursor = store().open_stream_cursor(stream, options);
    ASSERT_OK(cursor);
    EXPECT_EQ((*cursor)->last_revision(), paged.back().revision);
    const Drained drained = drain(**cursor);
    EXPECT_EQ(drained.events, paged);
    EXPECT_EQ(drained.resume_from, std::nullopt);
    options.direction = Direction::backward;
    const Drained backward = drain_stream(store(), stream, options);
    ASSERT_EQ(backward.events.size(), paged.size());
    for (std::size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(backward.events[i], paged[paged.size() - 1 - i]);
  }
}

TEST_P(StoreConformance, StreamCursorStopsAtItsLimitWhereThePageWould) {
  write_interleaved(store());
  for (const Direction direction : {Direction::forward, Direction::backward}) {
    for (const std::optional<StreamRevision> from :
         {std::optional<StreamRevision>(), std::optional<StreamRevision>(3), std::optional<StreamRevision>(1199)}) {
      for (const std::uint64_t limit : {1u, 64u, 65u, 1000u, 1001u}) {
        StreamReadOptions options;
        options.direction = direction;
        options.from = from;
        options.limit = limit;
        Result<StreamPage> page = store().read_stream("right-1", options);
        ASSERT_OK(page);
        const Drained drained = drain_stream(store(), "right-1", options);
        EXPECT_EQ(drained.events, page->events) << "limit " << limit;
        EXPECT_EQ(drained.resume_from, page->next) << "limit " << limit;
      }
    }
  }
}

// Streams written one event per append lie in many places of the log (on
// file:, one index run per append): 64 and 128 such events (the engine fetches
// runs 64 at a time) read whole, once each, in both directions.
TEST_P(StoreConformance, StreamCursorReadsEveryEventOnceAcrossManyRuns) {
  for (int i = 0; i < 128; ++i) {
    ASSERT_OK(store().append(i < 64 ? "runs-64" : "runs-128", ExpectedRevision::any(), make_events(1)));
    ASSERT_OK(store().append("runs-128", ExpectedRevision::any(), make_events(1)));
    ASSERT_OK(store().append("between-1", ExpectedRevision::any(), make_events(1)));
  }
  for (const std::string stream : {"runs-64", "runs-128"}) {
    const std::vector<RecordedEvent> paged = read_whole_stream(store(), stream);
    ASSERT_EQ(paged.size(), stream == "runs-64" ? 64u : 192u);
    StreamReadOptions options;
    options.limit = kNoLimit;
    EXPECT_EQ(drain_stream(store(), stream, options).events, paged) << stream;
    options.direction = Direction::backward;
    const Drained backward = drain_stream(store(), stream, options);
    ASSERT_EQ(backward.events.size(), paged.size()) << stream;
    for (std::size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(backward.events[i], paged[paged.size() - 1 - i]);
    for (const StreamRevision from : {0u, 1u, 63u, 64u, 65u}) {
      StreamReadOptions bounded;
      bounded.from = from;
      bounded.limit = 70;
      Result<StreamPage> page = store().read_stream(stream, bounded);
      ASSERT_OK(page);
      const Drained drained = drain_stream(store(), stream, bounded);
      EXPECT_EQ(drained.events, page->events) << stream << " from " << from;
      EXPECT_EQ(drained.resume_from, page->next) << stream << " from " << from;
    }
  }
}

TEST_P(StoreConformance, StreamCursorHidesWhatReadsHide) {
  for (int i = 0; i < 4; ++i) ASSERT_OK(store().append("h-1", ExpectedRevision::any(), make_events(25)));
  StreamMetadata metadata;
  metadata.truncate_before = 10;
  metadata.max_count = 50;
  ASSERT_OK(store().set_stream_metadata("h-1", metadata));
  StreamReadOptions options;
  options.limit = kNoLimit;
  const Drained drained = drain_stream(store(), "h-1", options);
  ASSERT_EQ(drained.events.size(), 50u);
  EXPECT_EQ(drained.events.front().revision, 50u);
  EXPECT_EQ(drained.events, read_whole_stream(store(), "h-1"));
}

// Writes `appends` appends of `per_append` events to `stream`, opens a $all
// and a stream cursor, appends 2 more: both cursors show only the first ones.
void expect_cursors_end_at_opening(EventStore& store, const std::string& stream, int appends, int per_append) {
  for (int i = 0; i < appends; ++i) ASSERT_OK(store.append(stream, ExpectedRevision::any(), make_events(per_append)));
  const std::size_t written = static_cast<std::size_t>(appends * per_append);
  AllReadOptions all_options;
  all_options.limit = kNoLimit;
  Result<std::unique_ptr<EventCursor>> all = store.open_all_cursor(all_options);
  ASSERT_OK(all);
  StreamReadOptions stream_options;
  stream_options.limit = kNoLimit;
  Result<std::unique_ptr<StreamCursor>> cursor = store.open_stream_cursor(stream, stream_options);
  ASSERT_OK(cursor);
  ASSERT_OK(store.append(stream, ExpectedRevision::any(), make_events(2)));
  EXPECT_EQ(drain(**all).events.size(), written);
  EXPECT_EQ((*cursor)->last_revision(), written - 1);
  EXPECT_EQ(drain(**cursor).events.size(), written);
}

TEST_P(StoreConformance, CursorsNeverReadPastWhatWasCommittedAtOpening) {
  expect_cursors_end_at_opening(store(), "c-1", 1, 3);
}

// The same past the first page of a paged cursor underneath (1000 events).
TEST_P(StoreConformance, CursorsNeverReadPastWhatWasCommittedAtOpeningOnLaterPages) {
  expect_cursors_end_at_opening(store(), "c-2", 30, 40);
}

TEST_P(StoreConformance, CursorViewsHoldEveryField) {
  EventData event = make_event("Typed", R"({"name":"Ada"})");
  event.metadata = R"({"who":"me"})";
  event.content_type = "application/json";
  ASSERT_OK(store().append("v-1", ExpectedRevision::no_stream(), std::vector<EventData>{event}));
  StreamReadOptions options;
  Result<std::unique_ptr<StreamCursor>> cursor = store().open_stream_cursor("v-1", options);
  ASSERT_OK(cursor);
  Result<const EventView*> view = (*cursor)->next();
  ASSERT_OK(view);
  ASSERT_NE(*view, nullptr);
  const EventView& shown = **view;
  EXPECT_EQ(shown.stream, "v-1");
  EXPECT_EQ(shown.revision, 0u);
  EXPECT_EQ(shown.id, event.id);
  EXPECT_EQ(shown.type, "Typed");
  EXPECT_EQ(shown.data, R"({"name":"Ada"})");
  EXPECT_EQ(shown.metadata, R"({"who":"me"})");
  EXPECT_EQ(shown.content_type, "application/json");
  const RecordedEvent paged = read_whole_stream(store(), "v-1").front();
  EXPECT_EQ(shown.position, paged.position);
  EXPECT_EQ(shown.recorded_at, paged.recorded_at);
  EXPECT_EQ(shown.to_recorded_event(), paged);
}

TEST_P(StoreConformance, CursorsFailAtOpeningAsReadsDo) {
  ASSERT_OK(store().append("gone-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().tombstone_stream("gone-1", ExpectedRevision::any()));
  ASSERT_OK(store().append("soft-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().delete_stream("soft-1", ExpectedRevision::any()));
  StreamReadOptions options;
  EXPECT_CODE(store().open_stream_cursor("absent-1", options), not_found);
  EXPECT_CODE(store().open_stream_cursor("soft-1", options), not_found);
  EXPECT_CODE(store().open_stream_cursor("gone-1", options), stream_deleted);
  EXPECT_CODE(store().open_stream_cursor("", options), invalid_argument);
  options.limit = 0;
  EXPECT_CODE(store().open_stream_cursor("soft-1", options), invalid_argument);
  AllReadOptions all_options;
  all_options.limit = 0;
  EXPECT_CODE(store().open_all_cursor(all_options), invalid_argument);
}

TEST_P(StoreConformance, CursorsOnAnEmptyStoreEndAtOnce) {
  for (const Direction direction : {Direction::forward, Direction::backward}) {
    AllReadOptions options;
    options.direction = direction;
    const Drained drained = drain_all(store(), options);
    EXPECT_TRUE(drained.events.empty());
    EXPECT_EQ(drained.resume_from, std::nullopt);
  }
  AllReadOptions beyond;
  beyond.from = 1'000'000;
  EXPECT_TRUE(drain_all(store(), beyond).events.empty());
}

}  // namespace
}  // namespace evsrc_test
