// The default paged cursors (src/core/event_cursor.cc) over a store whose
// pages can come back empty without progress (DynamoDB may return an empty
// page whose `next` is where it started, e.g. at a position not yet visible):
// the cursor reads it again after growing pauses (not at once), and ends
// there after about two seconds without progress.
#include <gtest/gtest.h>

#include "evsrc/event_store.h"

namespace evsrc {
namespace {

// A store of `events` events in $all whose reads from `stall_at` on return
// an empty page with next == from; counts its read_all calls.
class StallingStore final : public EventStore {
 public:
  StallingStore(std::uint64_t events, Position stall_at) : events_(events), stall_at_(stall_at) {}

  int reads = 0;

  Result<AllPage> read_all(const AllReadOptions& options) override {
    ++reads;
    AllPage page;
    if (reads > 1000) return Status::io_error("read the same page 1000 times");
    if (options.direction == Direction::backward) {
      page.events.push_back(event_at(events_ - 1));
      return page;
    }
    const Position from = options.from.value_or(0);
    if (from >= stall_at_) {
      page.next = from;  // no progress
      return page;
    }
    for (Position p = from; p < stall_at_ && page.events.size() < options.limit; ++p)
      page.events.push_back(event_at(p));
    page.next = from + page.events.size();
    return page;
  }

  Result<AppendResult> append(std::string_view, ExpectedRevision, std::span<const EventData>) override {
    return unsupported();
  }
  Result<TransactionResult> commit(std::span<const TransactionPart>) override { return unsupported(); }
  Result<StreamPage> read_stream(std::string_view, const StreamReadOptions&) override { return unsupported(); }
  Result<StreamInfo> stream_info(std::string_view) override { return unsupported(); }
  Status set_stream_metadata(std::string_view, const StreamMetadata&) override { return unsupported(); }
  Status delete_stream(std::string_view, ExpectedRevision) override { return unsupported(); }
  Status tombstone_stream(std::string_view, ExpectedRevision) override { return unsupported(); }
  Result<std::vector<std::string>> list_streams(std::string_view, std::string_view, std::size_t) override {
    return unsupported();
  }
  Result<StoreStats> stats() override { return unsupported(); }
  bool wait_for_commit(std::optional<Position>, std::chrono::milliseconds) override { return false; }
  SnapshotStore& snapshots() override { std::abort(); }
  Status close() override { return Status(); }

 private:
  static Status unsupported() { return Status::invalid_argument("not in this test store"); }
  static RecordedEvent event_at(Position position) {
    RecordedEvent event;
    event.stream = "s";
    event.revision = position;
    event.position = position;
    event.type = "T";
    event.data = "{}";
    return event;
  }

  const std::uint64_t events_;
  const Position stall_at_;
};

TEST(PagedCursor, AnEmptyPageWithoutProgressEndsTheCursor) {
  StallingStore store(3000, 1500);
  AllReadOptions options;
  options.limit = kNoLimit;
  Result<std::unique_ptr<EventCursor>> cursor = store.open_all_cursor(options);
  ASSERT_TRUE(cursor.ok()) << cursor.status().to_string();
  std::uint64_t seen = 0;
  while (true) {
    Result<const EventView*> next = (*cursor)->next();
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    if (*next == nullptr) break;
    EXPECT_EQ((*next)->position, seen);
    ++seen;
  }
  EXPECT_EQ(seen, 1500u);
  EXPECT_EQ((*cursor)->resume_from(), std::optional<std::uint64_t>(1500));
  // Pages of 1000, the head, then about a dozen pauses of 1..100 ms.
  EXPECT_LT(store.reads, 40);
}

// AllReadOptions::scan_limit bounds the whole cursor, as a page's: the
// pages after the first get what is left of it, and the cursor ends where
// the window ends (resume_from() says where to go on).
TEST(PagedCursor, ScanLimitBoundsTheWholeCursor) {
  Result<std::unique_ptr<EventStore>> opened = open_store("memory:");
  ASSERT_TRUE(opened.ok());
  EventStore& store = **opened;
  for (int i = 0; i < 3000; ++i) {
    std::vector<EventData> events(1);
    events[0].id = Uuid::random();
    events[0].type = "T";
    events[0].data = "{}";
    ASSERT_TRUE(store.append(i < 2999 ? "a-1" : "b-1", ExpectedRevision::any(), events).ok());
  }
  const auto read = [&](const AllReadOptions& options, std::uint64_t& events) -> std::optional<std::uint64_t> {
    Result<std::unique_ptr<EventCursor>> cursor = store.open_all_cursor(options);
    EXPECT_TRUE(cursor.ok()) << cursor.status().to_string();
    events = 0;
    while (true) {
      Result<const EventView*> next = (*cursor)->next();
      EXPECT_TRUE(next.ok());
      if (!next.ok() || *next == nullptr) break;
      ++events;
    }
    return (*cursor)->resume_from();
  };
  std::uint64_t events = 0;
  AllReadOptions filtered;
  filtered.limit = kNoLimit;
  filtered.filter.stream_prefix = "b-";
  filtered.scan_limit = 1000;
  EXPECT_EQ(read(filtered, events), std::optional<std::uint64_t>(1000));
  EXPECT_EQ(events, 0u);

  AllReadOptions unfiltered;
  unfiltered.limit = kNoLimit;
  unfiltered.scan_limit = 1500;
  EXPECT_EQ(read(unfiltered, events), std::optional<std::uint64_t>(1500));
  EXPECT_EQ(events, 1500u);
}

}  // namespace
}  // namespace evsrc
