// Reads: streams and $all, forwards and backwards, inclusive starts, paging
// through `next`, filters, list_streams and stats (DESIGN §1 "Reads").
#include <map>
#include <string>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

std::vector<StreamRevision> revisions_of(const std::vector<RecordedEvent>& events) {
  std::vector<StreamRevision> revisions;
  for (const RecordedEvent& event : events) revisions.push_back(event.revision);
  return revisions;
}

TEST_P(StoreConformance, ReadStreamForwardPagesWithNext) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(10)));
  StreamReadOptions options;
  options.limit = 4;
  std::vector<StreamRevision> seen;
  std::vector<std::optional<StreamRevision>> nexts;
  while (true) {
    Result<StreamPage> page = store().read_stream("s-1", options);
    ASSERT_OK(page);
    EXPECT_EQ(page->last_revision, 9u);
    EXPECT_LE(page->events.size(), 4u);
    for (const RecordedEvent& event : page->events) seen.push_back(event.revision);
    nexts.push_back(page->next);
    if (!page->next) break;
    options.from = page->next;
  }
  EXPECT_EQ(seen, (std::vector<StreamRevision>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(nexts, (std::vector<std::optional<StreamRevision>>{4, 8, std::nullopt}));
}

TEST_P(StoreConformance, ReadStreamBackwardPagesWithNext) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(7)));
  StreamReadOptions options;
  options.direction = Direction::backward;
  options.limit = 3;
  Result<StreamPage> page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{6, 5, 4}));
  EXPECT_EQ(page->next, std::optional<StreamRevision>(3));
  options.from = page->next;
  page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{3, 2, 1}));
  options.from = page->next;
  page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{0}));
  EXPECT_EQ(page->next, std::nullopt);
}

TEST_P(StoreConformance, ReadStreamStartsAreInclusiveAndClamped) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(5)));
  StreamReadOptions options;
  options.from = 2;
  options.limit = 2;
  Result<StreamPage> page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{2, 3}));
  options.limit = 3;  // exactly reaches the end: no next page
  page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{2, 3, 4}));
  EXPECT_EQ(page->next, std::nullopt);
  options.from = 5;
  page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_TRUE(page->events.empty());
  EXPECT_EQ(page->next, std::nullopt);
  EXPECT_EQ(page->last_revision, 4u);
  options.from = 100;
  options.direction = Direction::backward;
  page = store().read_stream("s-1", options);
  ASSERT_OK(page);
  EXPECT_EQ(revisions_of(page->events), (std::vector<StreamRevision>{4, 3, 2}));
}

TEST_P(StoreConformance, ReadOfMissingStreamIsNotFound) {
  EXPECT_CODE(store().read_stream("nobody-1", {}), not_found);
  EXPECT_CODE(store().stream_info("nobody-1"), not_found);
}

TEST_P(StoreConformance, ZeroLimitIsInvalid) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  StreamReadOptions stream_options;
  stream_options.limit = 0;
  EXPECT_CODE(store().read_stream("s-1", stream_options), invalid_argument);
  AllReadOptions all_options;
  all_options.limit = 0;
  EXPECT_CODE(store().read_all(all_options), invalid_argument);
}

TEST_P(StoreConformance, AllIsOrderedByPositionAndConsistentPerStream) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(store().append("mix-" + std::to_string(i % 4), ExpectedRevision::any(), make_events(1 + i % 3)));
  }
  const std::vector<RecordedEvent> events = read_whole_all(store());
  std::map<std::string, std::vector<StreamRevision>> per_stream;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(events[i - 1].position, events[i].position);
    }
    per_stream[events[i].stream].push_back(events[i].revision);
  }
  std::size_t total = 0;
  for (const auto& [stream, revisions] : per_stream) {
    for (std::size_t r = 0; r < revisions.size(); ++r) EXPECT_EQ(revisions[r], r) << stream;
    const std::vector<RecordedEvent> stream_events = read_whole_stream(store(), stream);
    ASSERT_EQ(stream_events.size(), revisions.size());
    total += revisions.size();
  }
  EXPECT_EQ(total, 60u);
}

TEST_P(StoreConformance, ReadAllPagesForwardAndBackward) {
  for (int i = 0; i < 4; ++i)
    ASSERT_OK(store().append("p-" + std::to_string(i), ExpectedRevision::any(), make_events(3)));
  const std::vector<RecordedEvent> forward = read_whole_all(store());
  ASSERT_EQ(forward.size(), 12u);

  std::vector<RecordedEvent> backward;
  AllReadOptions options;
  options.direction = Direction::backward;
  options.limit = 5;
  while (true) {
    Result<AllPage> page = store().read_all(options);
    ASSERT_OK(page);
    backward.insert(backward.end(), page->events.begin(), page->events.end());
    if (!page->next) break;
    options.from = page->next;
  }
  ASSERT_EQ(backward.size(), forward.size());
  for (std::size_t i = 0; i < forward.size(); ++i) EXPECT_EQ(backward[backward.size() - 1 - i], forward[i]);
}

TEST_P(StoreConformance, ReadAllStartIsInclusive) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(6)));
  const std::vector<RecordedEvent> all = read_whole_all(store());
  AllReadOptions options;
  options.from = all[3].position;
  options.limit = 2;
  Result<AllPage> page = store().read_all(options);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0], all[3]);
  EXPECT_EQ(page->events[1], all[4]);
  ASSERT_TRUE(page->next.has_value());
  options.from = page->next;
  options.limit = 10;
  page = store().read_all(options);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0], all[5]);
  EXPECT_EQ(page->next, std::nullopt);
  options.from = all[5].position + 1;  // resuming after the last event
  page = store().read_all(options);
  ASSERT_OK(page);
  EXPECT_TRUE(page->events.empty());
  options.from = all[2].position;
  options.direction = Direction::backward;
  page = store().read_all(options);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 3u);
  EXPECT_EQ(page->events[0], all[2]);
  EXPECT_EQ(page->events[2], all[0]);
}

TEST_P(StoreConformance, ReadAllFilters) {
  ASSERT_OK(store().append("user-1", ExpectedRevision::any(), make_events(2, "UserCreated")));
  ASSERT_OK(store().append("users-9", ExpectedRevision::any(), make_events(1, "UserCreated")));
  ASSERT_OK(store().append("order-1", ExpectedRevision::any(), make_events(3, "OrderPlaced")));
  ASSERT_OK(store().append("user-2", ExpectedRevision::any(), make_events(2, "UserRenamed")));
  ASSERT_OK(store().append("user", ExpectedRevision::any(), make_events(1, "UserRenamed")));

  auto streams_of = [&](const EventFilter& filter) {
    std::vector<std::string> streams;
    for (const RecordedEvent& event : read_whole_all(store(), filter)) streams.push_back(event.stream);
    return streams;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(streams_of(make_filter("user")), (Names{"user-1", "user-1", "users-9", "user-2", "user-2", "user"}));
  EXPECT_EQ(streams_of(make_filter("", "user")), (Names{"user-1", "user-1", "user-2", "user-2", "user"}));
  EXPECT_EQ(streams_of(make_filter("", "", "OrderPlaced")), (Names{"order-1", "order-1", "order-1"}));
  EXPECT_EQ(streams_of(make_filter("", "user", "UserCreated")), (Names{"user-1", "user-1"}));
  EXPECT_EQ(streams_of(make_filter("user-2", "", "UserRenamed")), (Names{"user-2", "user-2"}));
  EXPECT_TRUE(streams_of(make_filter("", "", "Nothing")).empty());

  AllReadOptions options;  // backward with a filter
  options.direction = Direction::backward;
  options.filter.category = "order";
  options.limit = 2;
  Result<AllPage> page = store().read_all(options);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].revision, 2u);
  EXPECT_EQ(page->events[1].revision, 1u);
}

TEST_P(StoreConformance, ListStreamsInByteOrderWithPrefixAndPaging) {
  for (const char* name : {"b-2", "a-1", "b-10", "b-1", "c-1", "b\xc3\xa9-1"}) {
    ASSERT_OK(store().append(name, ExpectedRevision::any(), make_events(1)));
  }
  Result<std::vector<std::string>> all = store().list_streams("", "", 100);
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::vector<std::string>{"a-1", "b-1", "b-10", "b-2", "b\xc3\xa9-1", "c-1"}));
  Result<std::vector<std::string>> b = store().list_streams("b-", "", 2);
  ASSERT_OK(b);
  EXPECT_EQ(*b, (std::vector<std::string>{"b-1", "b-10"}));
  b = store().list_streams("b-", "b-10", 2);
  ASSERT_OK(b);
  EXPECT_EQ(*b, (std::vector<std::string>{"b-2"}));
  Result<std::vector<std::string>> after = store().list_streams("", "b-2", 100);
  ASSERT_OK(after);
  EXPECT_EQ(*after, (std::vector<std::string>{"b\xc3\xa9-1", "c-1"}));
  Result<std::vector<std::string>> none = store().list_streams("z", "", 100);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreConformance, StatsCountEventsAndStreams) {
  Result<StoreStats> empty = store().stats();
  ASSERT_OK(empty);
  EXPECT_EQ(empty->events, 0u);
  EXPECT_EQ(empty->streams, 0u);
  EXPECT_EQ(empty->last_position, std::nullopt);
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(3)));
  Result<AppendResult> last = store().append("s-2", ExpectedRevision::any(), make_events(2));
  ASSERT_OK(last);
  Result<StoreStats> stats = store().stats();
  ASSERT_OK(stats);
  EXPECT_EQ(stats->events, 5u);
  EXPECT_EQ(stats->streams, 2u);
  EXPECT_GT(stats->bytes, 0u);
  EXPECT_EQ(stats->last_position, std::optional<Position>(last->position));
}

// AllReadOptions::scan_limit: a filtered page examines at most that many
// positions, so it may come back short or empty with `next` set; paging on
// still finds every match, in order, once.
// A scan-limited read of an empty store ends at once: no `next` to page on
// forever (PostgreSQL once answered one, and a filtered subscription of an
// empty store then skipped its first events).
TEST_P(StoreConformance, ReadAllScanLimitedOnAnEmptyStoreEnds) {
  for (const Direction direction : {Direction::forward, Direction::backward}) {
    SCOPED_TRACE(direction == Direction::forward ? "forward" : "backward");
    AllReadOptions options;
    options.direction = direction;
    options.filter.stream_prefix = "b-";
    options.scan_limit = 10;
    Result<AllPage> page = store().read_all(options);
    ASSERT_OK(page);
    EXPECT_TRUE(page->events.empty());
    EXPECT_EQ(page->next, std::nullopt);
  }
}

// A cursor's scan_limit bounds the whole cursor, as a page's: it ends where
// the window ends, and resume_from() says where to go on.
TEST_P(StoreConformance, CursorScanLimitBoundsTheWholeCursor) {
  ASSERT_OK(store().append("a-1", ExpectedRevision::any(), make_events(25)));
  ASSERT_OK(store().append("b-1", ExpectedRevision::any(), make_events(1)));
  const std::vector<RecordedEvent> all = read_whole_all(store(), EventFilter{});
  ASSERT_EQ(all.size(), 26u);
  AllReadOptions options;
  options.from = all.front().position;
  options.limit = kNoLimit;
  options.filter.stream_prefix = "b-";
  options.scan_limit = 20;
  Result<std::unique_ptr<EventCursor>> cursor = store().open_all_cursor(options);
  ASSERT_OK(cursor);
  Result<const EventView*> event = (*cursor)->next();
  ASSERT_OK(event);
  EXPECT_EQ(*event, nullptr) << "the cursor read past its scan window";
  const std::optional<std::uint64_t> resume = (*cursor)->resume_from();
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(*resume, all.front().position + 20);

  options.from = *resume;
  cursor = store().open_all_cursor(options);
  ASSERT_OK(cursor);
  event = (*cursor)->next();
  ASSERT_OK(event);
  ASSERT_NE(*event, nullptr);
  EXPECT_EQ((*event)->stream, "b-1");
}

TEST_P(StoreConformance, ReadAllScanLimitBoundsTheWorkOfAFilteredPage) {
  ASSERT_OK(store().append("a-1", ExpectedRevision::any(), make_events(15)));
  ASSERT_OK(store().append("b-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().append("a-2", ExpectedRevision::any(), make_events(14)));
  const std::vector<RecordedEvent> all = read_whole_all(store(), EventFilter{});
  ASSERT_EQ(all.size(), 30u);
  const Position first = all.front().position;
  const Position last = all.back().position;
  const Position match = all[15].position;

  for (const Direction direction : {Direction::forward, Direction::backward}) {
    SCOPED_TRACE(direction == Direction::forward ? "forward" : "backward");
    const bool forward = direction == Direction::forward;
    AllReadOptions options;
    options.direction = direction;
    options.from = forward ? first : last;
    options.filter.stream_prefix = "b-";
    options.limit = 10;
    options.scan_limit = 10;
    std::vector<Position> found;
    int pages = 0;
    while (true) {
      Result<AllPage> page = store().read_all(options);
      ASSERT_OK(page);
      ++pages;
      ASSERT_LE(pages, 10) << "paging does not progress";
      if (pages == 1) {
        // The first window holds no match: an empty page that goes on.
        EXPECT_TRUE(page->events.empty());
        EXPECT_EQ(page->next, std::optional<Position>(forward ? first + 10 : last - 10));
      }
      for (const RecordedEvent& event : page->events) {
        EXPECT_EQ(event.stream, "b-1");
        found.push_back(event.position);
        // Within this page's window of 10 positions.
        if (forward) {
          EXPECT_LT(event.position, *options.from + 10);
        } else {
          EXPECT_GT(event.position + 10, *options.from);
        }
      }
      if (!page->next) break;
      if (forward) {
        ASSERT_GT(*page->next, *options.from);
      } else {
        ASSERT_LT(*page->next, *options.from);
      }
      options.from = page->next;
    }
    EXPECT_EQ(found, (std::vector<Position>{match}));
    EXPECT_EQ(pages, 3);
  }

  // Without a filter, the window bounds the events of a page too.
  AllReadOptions unfiltered;
  unfiltered.from = first;
  unfiltered.limit = 100;
  unfiltered.scan_limit = 7;
  Result<AllPage> page = store().read_all(unfiltered);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 7u);
  EXPECT_EQ(page->events.back().position, first + 6);
  EXPECT_EQ(page->next, std::optional<Position>(first + 7));
}

}  // namespace
}  // namespace evsrc_test
