// Stream lifecycle and store lifecycle: soft delete, tombstone, metadata,
// close, and persistence across reopen (DESIGN §1 "Stream lifecycle").
#include <atomic>
#include <thread>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

TEST_P(StoreConformance, SoftDeletedStreamReadsAsAbsent) {
  ASSERT_OK(store().append("cart-1", ExpectedRevision::any(), make_events(3)));
  EXPECT_CODE(store().delete_stream("cart-1", ExpectedRevision::exact(1)), wrong_expected_revision);
  EXPECT_EQ(read_whole_stream(store(), "cart-1").size(), 3u);
  ASSERT_OK(store().delete_stream("cart-1", ExpectedRevision::exact(2)));
  EXPECT_CODE(store().read_stream("cart-1", {}), not_found);
  Result<StreamInfo> info = store().stream_info("cart-1");
  ASSERT_OK(info);
  EXPECT_TRUE(info->soft_deleted);
  EXPECT_FALSE(info->tombstoned);
  EXPECT_EQ(info->last_revision, std::optional<StreamRevision>(2));
  Result<AppendResult> exact = store().append("cart-1", ExpectedRevision::exact(2), make_events(1));
  ASSERT_CODE(exact, wrong_expected_revision);
  EXPECT_EQ(exact.status().actual_revision(), std::nullopt);
  EXPECT_CODE(store().append("cart-1", ExpectedRevision::stream_exists(), make_events(1)), wrong_expected_revision);
  EXPECT_CODE(store().delete_stream("cart-1", ExpectedRevision::any()), not_found);
  Result<std::vector<std::string>> listed = store().list_streams("cart", "", 10);
  ASSERT_OK(listed);
  EXPECT_TRUE(listed->empty());
  // $all keeps the soft-deleted events until space is reclaimed.
  EXPECT_EQ(read_whole_all(store(), make_filter("cart-1")).size(), 3u);
}

TEST_P(StoreConformance, RecreatedStreamContinuesItsRevisions) {
  ASSERT_OK(store().append("cart-1", ExpectedRevision::any(), make_events(3)));
  ASSERT_OK(store().delete_stream("cart-1", ExpectedRevision::any()));
  Result<AppendResult> recreated = store().append("cart-1", ExpectedRevision::no_stream(), make_events(2));
  ASSERT_OK(recreated);
  EXPECT_EQ(recreated->first_revision, 3u);
  EXPECT_EQ(recreated->last_revision, 4u);
  const std::vector<RecordedEvent> events = read_whole_stream(store(), "cart-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].revision, 3u);
  EXPECT_EQ(events[1].revision, 4u);
  StreamReadOptions from_zero;
  from_zero.from = 0;
  Result<StreamPage> page = store().read_stream("cart-1", from_zero);
  ASSERT_OK(page);
  EXPECT_EQ(page->events.size(), 2u);
  EXPECT_OK(store().append("cart-1", ExpectedRevision::exact(4), make_events(1)));
  ASSERT_OK(store().delete_stream("cart-1", ExpectedRevision::any()));
  Result<AppendResult> with_any = store().append("cart-1", ExpectedRevision::any(), make_events(1));
  ASSERT_OK(with_any);
  EXPECT_EQ(with_any->first_revision, 6u);
  EXPECT_EQ(read_whole_stream(store(), "cart-1").size(), 1u);
}

TEST_P(StoreConformance, TombstonedStreamIsNeverAppendableAgain) {
  ASSERT_OK(store().append("gone-1", ExpectedRevision::any(), make_events(2)));
  EXPECT_CODE(store().tombstone_stream("gone-1", ExpectedRevision::exact(0)), wrong_expected_revision);
  ASSERT_OK(store().tombstone_stream("gone-1", ExpectedRevision::exact(1)));
  for (const ExpectedRevision expected : {ExpectedRevision::any(), ExpectedRevision::no_stream(),
                                          ExpectedRevision::stream_exists(), ExpectedRevision::exact(1)}) {
    EXPECT_CODE(store().append("gone-1", expected, make_events(1)), stream_deleted);
  }
  EXPECT_CODE(store().read_stream("gone-1", {}), stream_deleted);
  EXPECT_CODE(store().delete_stream("gone-1", ExpectedRevision::any()), stream_deleted);
  EXPECT_CODE(store().tombstone_stream("gone-1", ExpectedRevision::any()), stream_deleted);
  EXPECT_CODE(store().set_stream_metadata("gone-1", {}), stream_deleted);
  Result<StreamInfo> info = store().stream_info("gone-1");
  ASSERT_OK(info);
  EXPECT_TRUE(info->tombstoned);
  EXPECT_EQ(event_count(store()), 2u);
  if (GetParam().persists) {
    reopen();
    EXPECT_CODE(store().append("gone-1", ExpectedRevision::any(), make_events(1)), stream_deleted);
    EXPECT_CODE(store().read_stream("gone-1", {}), stream_deleted);
  }
}

// DESIGN §1: a tombstoned stream refuses every later append, also a retry of
// an append that was recorded before the tombstone (issue 15: file: replayed
// it as a success while memory: refused it).
TEST_P(StoreConformance, RetryOfAnAppendAfterTombstoneFails) {
  const std::vector<EventData> events = make_events(2);
  ASSERT_OK(store().append("gone-3", ExpectedRevision::no_stream(), events));
  ASSERT_OK(store().append("gone-3", ExpectedRevision::no_stream(), events));  // a retry replays
  ASSERT_OK(store().tombstone_stream("gone-3", ExpectedRevision::any()));
  EXPECT_CODE(store().append("gone-3", ExpectedRevision::no_stream(), events), stream_deleted);
  EXPECT_CODE(store().append("gone-3", ExpectedRevision::any(), events), stream_deleted);
  const std::vector<TransactionPart> parts{TransactionPart{"gone-3", ExpectedRevision::any(), events}};
  Result<TransactionResult> retried = store().commit(parts);
  EXPECT_CODE(retried, stream_deleted);
  EXPECT_NE(retried.status().message().find("part 0"), std::string::npos) << retried.status().to_string();
  EXPECT_EQ(event_count(store()), 2u);
  if (GetParam().persists) {
    reopen();
    EXPECT_CODE(store().append("gone-3", ExpectedRevision::any(), events), stream_deleted);
  }
}

TEST_P(StoreConformance, SoftDeletedStreamCanBeTombstoned) {
  ASSERT_OK(store().append("gone-2", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().delete_stream("gone-2", ExpectedRevision::any()));
  ASSERT_OK(store().tombstone_stream("gone-2", ExpectedRevision::no_stream()));
  EXPECT_CODE(store().append("gone-2", ExpectedRevision::no_stream(), make_events(1)), stream_deleted);
}

TEST_P(StoreConformance, MetadataTruncateBeforeHidesOlderRevisions) {
  ASSERT_OK(store().append("m-1", ExpectedRevision::any(), make_events(5)));
  StreamMetadata metadata;
  metadata.truncate_before = 3;
  ASSERT_OK(store().set_stream_metadata("m-1", metadata));
  const std::vector<RecordedEvent> events = read_whole_stream(store(), "m-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].revision, 3u);
  StreamReadOptions backward;
  backward.direction = Direction::backward;
  Result<StreamPage> page = store().read_stream("m-1", backward);
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events.back().revision, 3u);
  EXPECT_EQ(page->next, std::nullopt);
  // Hidden events do not change where the stream is.
  EXPECT_OK(store().append("m-1", ExpectedRevision::exact(4), make_events(1)));
}

TEST_P(StoreConformance, MetadataMaxCountKeepsTheNewest) {
  ASSERT_OK(store().append("m-2", ExpectedRevision::any(), make_events(5)));
  StreamMetadata metadata;
  metadata.max_count = 2;
  ASSERT_OK(store().set_stream_metadata("m-2", metadata));
  std::vector<RecordedEvent> events = read_whole_stream(store(), "m-2");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].revision, 3u);
  ASSERT_OK(store().append("m-2", ExpectedRevision::exact(4), make_events(1)));
  events = read_whole_stream(store(), "m-2");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].revision, 4u);
  EXPECT_EQ(events[1].revision, 5u);
}

TEST_P(StoreConformance, MetadataRoundTrips) {
  ASSERT_OK(store().append("m-3", ExpectedRevision::any(), make_events(1)));
  StreamMetadata metadata;
  metadata.max_count = 100;
  metadata.max_age = std::chrono::seconds(3600);
  metadata.truncate_before = 0;
  metadata.custom = R"({"owner":"billing","tags":["a","b"]})";
  ASSERT_OK(store().set_stream_metadata("m-3", metadata));
  Result<StreamInfo> info = store().stream_info("m-3");
  ASSERT_OK(info);
  EXPECT_EQ(info->metadata, metadata);
  EXPECT_EQ(info->name, "m-3");
  EXPECT_EQ(info->last_revision, std::optional<StreamRevision>(0));
  EXPECT_EQ(read_whole_stream(store(), "m-3").size(), 1u);
  if (GetParam().persists) {
    reopen();
    info = store().stream_info("m-3");
    ASSERT_OK(info);
    EXPECT_EQ(info->metadata, metadata);
  }
}

TEST_P(StoreConformance, CloseMakesEveryCallFailWithClosed) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().close());
  EXPECT_CODE(store().append("s-1", ExpectedRevision::any(), make_events(1)), closed);
  const std::vector<TransactionPart> parts{{"s-2", ExpectedRevision::any(), make_events(1)}};
  EXPECT_CODE(store().commit(parts), closed);
  EXPECT_CODE(store().read_stream("s-1", {}), closed);
  EXPECT_CODE(store().read_all({}), closed);
  EXPECT_CODE(store().stream_info("s-1"), closed);
  EXPECT_CODE(store().set_stream_metadata("s-1", {}), closed);
  EXPECT_CODE(store().delete_stream("s-1", ExpectedRevision::any()), closed);
  EXPECT_CODE(store().tombstone_stream("s-1", ExpectedRevision::any()), closed);
  EXPECT_CODE(store().list_streams("", "", 10), closed);
  EXPECT_CODE(store().stats(), closed);
  EXPECT_FALSE(store().wait_for_commit(std::nullopt, std::chrono::milliseconds(1)));
}

TEST_P(StoreConformance, CloseWakesWaitersForCommits) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  Result<StoreStats> stats = store().stats();
  ASSERT_OK(stats);
  std::optional<bool> woke;
  std::thread waiter([&] { woke = store().wait_for_commit(stats->last_position, std::chrono::seconds(60)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_OK(store().close());
  waiter.join();
  EXPECT_EQ(woke, std::optional<bool>(false));
}

TEST_P(StoreConformance, WaitForCommitSeesNewEvents) {
  EXPECT_FALSE(store().wait_for_commit(std::nullopt, std::chrono::milliseconds(1)));
  Result<AppendResult> first = store().append("s-1", ExpectedRevision::any(), make_events(1));
  ASSERT_OK(first);
  EXPECT_TRUE(store().wait_for_commit(std::nullopt, std::chrono::milliseconds(1)));
  EXPECT_FALSE(store().wait_for_commit(first->position, std::chrono::milliseconds(1)));
  std::thread writer([&] { (void)store().append("s-1", ExpectedRevision::any(), make_events(1)); });
  EXPECT_TRUE(store().wait_for_commit(first->position, std::chrono::seconds(60)));
  writer.join();
}

TEST_P(StoreConformance, CloseAndReopen) {
  ASSERT_OK(store().append("keep-1", ExpectedRevision::any(), make_events(3)));
  ASSERT_OK(store().append("keep-2", ExpectedRevision::any(), make_events(2)));
  ASSERT_OK(store().delete_stream("keep-2", ExpectedRevision::any()));
  const std::vector<RecordedEvent> before = read_whole_all(store());
  reopen();
  if (GetParam().persists) {
    EXPECT_EQ(read_whole_all(store()), before);
    EXPECT_EQ(read_whole_stream(store(), "keep-1").size(), 3u);
    EXPECT_CODE(store().read_stream("keep-2", {}), not_found);
    Result<AppendResult> next = store().append("keep-1", ExpectedRevision::exact(2), make_events(1));
    ASSERT_OK(next);
    EXPECT_GT(next->position, before.back().position);
    Result<AppendResult> recreated = store().append("keep-2", ExpectedRevision::no_stream(), make_events(1));
    ASSERT_OK(recreated);
    EXPECT_EQ(recreated->first_revision, 2u);
    // An idempotent retry is recognised across a reopen.
    std::vector<EventData> again;
    for (std::size_t i = 0; i < 3; ++i) {
      EventData event{before[i].id, before[i].type, before[i].data, before[i].metadata, before[i].content_type};
      again.push_back(event);
    }
    Result<AppendResult> retry = store().append("keep-1", ExpectedRevision::no_stream(), again);
    ASSERT_OK(retry);
    EXPECT_EQ(retry->first_revision, 0u);
    EXPECT_EQ(retry->position, before[2].position);
  } else {
    // Nothing survives close() of a store that does not persist.
    EXPECT_TRUE(read_whole_all(store()).empty());
    EXPECT_CODE(store().read_stream("keep-1", {}), not_found);
  }
}

// stream_info shows one metadata write whole, never the limits of one with
// the custom JSON of another, while writes go on.
TEST_P(StoreConformance, StreamInfoShowsOneMetadataWriteWhole) {
  ASSERT_OK(store().append("meta-race", ExpectedRevision::any(), make_events(1)));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (std::uint64_t n = 1; !stop.load(); ++n) {
      StreamMetadata metadata;
      metadata.max_count = n;
      metadata.custom = "{\"n\":" + std::to_string(n) + "}";
      if (!store().set_stream_metadata("meta-race", metadata).ok()) return;
    }
  });
  std::size_t torn = 0;
  std::string example;
  for (int i = 0; i < 2000; ++i) {
    Result<StreamInfo> info = store().stream_info("meta-race");
    if (!info.ok()) {
      ADD_FAILURE() << info.status().to_string();
      break;
    }
    if (!info->metadata.max_count) continue;
    const std::string expected = "{\"n\":" + std::to_string(*info->metadata.max_count) + "}";
    if (info->metadata.custom != expected) {
      ++torn;
      example = "max_count " + std::to_string(*info->metadata.max_count) + " with " + info->metadata.custom;
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(torn, 0u) << example;
}

}  // namespace
}  // namespace evsrc_test
