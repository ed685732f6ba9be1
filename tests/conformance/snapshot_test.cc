// Contract of the snapshot store every backend keeps beside its events
// (include/evsrc/snapshot_store.h, DESIGN §1 "Snapshots").
#include <thread>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

Snapshot snapshot_of(std::string stream, std::string view, std::uint32_t version, StreamRevision revision,
                     std::string state) {
  return Snapshot{std::move(stream), std::move(view), version, revision, std::move(state)};
}

TEST_P(StoreConformance, SnapshotFindReturnsNewestAtOrBeforeRevision) {
  SnapshotStore& snapshots = store().snapshots();
  for (StreamRevision revision : {9u, 19u, 29u}) {
    ASSERT_OK(snapshots.put(snapshot_of("user-1", "user", 1, revision, "state@" + std::to_string(revision))));
  }
  auto found = snapshots.find("user-1", "user", 1, 25);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->revision, 19u);
  EXPECT_EQ((*found)->state, "state@19");
  EXPECT_EQ((*found)->stream, "user-1");
  EXPECT_EQ((*found)->view, "user");

  found = snapshots.find("user-1", "user", 1, 19);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->revision, 19u);

  found = snapshots.find("user-1", "user", 1, UINT64_MAX);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->revision, 29u);

  found = snapshots.find("user-1", "user", 1, 8);
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(StoreConformance, SnapshotsOfOtherViewsVersionsAndStreamsAreNeverReturned) {
  SnapshotStore& snapshots = store().snapshots();
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "user", 1, 5, "v1")));
  ASSERT_OK(snapshots.put(snapshot_of("user-10", "user", 2, 3, "other stream")));
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "user-summary", 2, 4, "other view")));
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "use", 2, 4, "prefix view")));

  auto found = snapshots.find("user-1", "user", 2, UINT64_MAX);
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value()) << (*found)->state;
  found = snapshots.find("user-1", "user", 1, UINT64_MAX);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, "v1");
  found = snapshots.find("user", "user", 1, UINT64_MAX);
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
}

TEST_P(StoreConformance, SnapshotPutReplacesOnlyItsOwnKey) {
  SnapshotStore& snapshots = store().snapshots();
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "user", 1, 100, "newer")));
  // A slow writer storing an older snapshot afterwards cannot hide the newer one.
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "user", 1, 50, "older")));
  ASSERT_OK(snapshots.put(snapshot_of("user-1", "user", 1, 50, "older again")));
  auto found = snapshots.find("user-1", "user", 1, UINT64_MAX);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, "newer");
  auto listed = snapshots.list("user-1", "user", 1);
  ASSERT_OK(listed);
  EXPECT_EQ(*listed, (std::vector<StreamRevision>{50, 100}));
  found = snapshots.find("user-1", "user", 1, 60);
  ASSERT_OK(found);
  EXPECT_EQ((*found)->state, "older again");
}

TEST_P(StoreConformance, SnapshotEraseRemovesOneRevision) {
  SnapshotStore& snapshots = store().snapshots();
  for (StreamRevision revision : {1u, 2u, 3u}) ASSERT_OK(snapshots.put(snapshot_of("s-1", "v", 1, revision, "x")));
  ASSERT_OK(snapshots.erase("s-1", "v", 1, 2));
  ASSERT_OK(snapshots.erase("s-1", "v", 1, 42));  // absent: still ok
  auto listed = snapshots.list("s-1", "v", 1);
  ASSERT_OK(listed);
  EXPECT_EQ(*listed, (std::vector<StreamRevision>{1, 3}));
}

TEST_P(StoreConformance, SnapshotRejectsInvalidNames) {
  SnapshotStore& snapshots = store().snapshots();
  EXPECT_CODE(snapshots.put(snapshot_of("", "v", 1, 0, "x")), invalid_argument);
  EXPECT_CODE(snapshots.put(snapshot_of("s-1", "", 1, 0, "x")), invalid_argument);
  EXPECT_CODE(snapshots.put(snapshot_of("s-1", std::string("a\0b", 3), 1, 0, "x")), invalid_argument);
  EXPECT_CODE(snapshots.find("s-1", std::string(256, 'v'), 1, 0), invalid_argument);
}

TEST_P(StoreConformance, SnapshotStateIsBinarySafe) {
  const std::string state("\0\xff{}\n", 5);
  ASSERT_OK(store().snapshots().put(snapshot_of("s-1", "v", 7, 0, state)));
  auto found = store().snapshots().find("s-1", "v", 7, 0);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, state);
}

TEST_P(StoreConformance, SnapshotsSurviveReopenWhereTheStorePersists) {
  ASSERT_OK(store().append("s-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().snapshots().put(snapshot_of("s-1", "v", 1, 0, "kept")));
  if (!GetParam().persists) return;
  reopen();
  auto found = store().snapshots().find("s-1", "v", 1, 0);
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->state, "kept");
}

TEST_P(StoreConformance, SnapshotCallsFailClosedAfterClose) {
  SnapshotStore& snapshots = store().snapshots();
  ASSERT_OK(store().close());
  EXPECT_CODE(snapshots.put(snapshot_of("s-1", "v", 1, 0, "x")), closed);
  EXPECT_CODE(snapshots.find("s-1", "v", 1, 0), closed);
  EXPECT_CODE(snapshots.list("s-1", "v", 1), closed);
}

TEST_P(StoreConformance, ConcurrentSnapshotWritersAllLand) {
  std::vector<std::thread> writers;
  for (int thread = 0; thread < 4; ++thread) {
    writers.emplace_back([&, thread] {
      for (StreamRevision revision = 0; revision < 50; ++revision) {
        EXPECT_OK(store().snapshots().put(snapshot_of("s-" + std::to_string(thread), "v", 1, revision, "x")));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  for (int thread = 0; thread < 4; ++thread) {
    auto listed = store().snapshots().list("s-" + std::to_string(thread), "v", 1);
    ASSERT_OK(listed);
    EXPECT_EQ(listed->size(), 50u);
  }
}

}  // namespace
}  // namespace evsrc_test
