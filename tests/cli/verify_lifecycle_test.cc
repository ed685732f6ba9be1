// evsrc verify on stores whose streams went through every lifecycle state:
// soft-deleted, tombstoned, truncated, max-count, max-age and recreated
// streams keep their hidden events in $all, and verify accepts them; an
// index that disagrees with the log is still reported.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cli/cli_runner.h"
#include "engine/index.h"
#include "evsrc/event_store.h"

namespace evsrc::cli_test {
namespace {

class VerifyLifecycle : public ::testing::Test {
 protected:
  // The store, opened in this process, with a healthy stream beside the
  // one under test.
  std::unique_ptr<EventStore> open() {
    auto store = open_store(dir_.store_uri());
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static void append(EventStore& store, const std::string& stream, int count) {
    std::vector<EventData> events;
    for (int i = 0; i < count; ++i) {
      EventData event;
      event.type = "Numbered";
      event.data = R"({"n":)" + std::to_string(i) + "}";
      events.push_back(std::move(event));
    }
    auto result = store.append(stream, ExpectedRevision::any(), events);
    ASSERT_TRUE(result.ok()) << result.status().to_string();
  }

  // Writes `healthy` (10 events) and `stream` (3 events), runs `change` on
  // `stream`, closes the store.
  void prepare(const std::string& stream, const std::function<void(EventStore&)>& change) {
    auto store = open();
    ASSERT_TRUE(store);
    append(*store, "healthy", 10);
    append(*store, stream, 3);
    change(*store);
    ASSERT_TRUE(store->close().ok());
  }

  CliResult verify() { return run_cli({"--store=" + dir_.store_uri(), "verify"}); }

  // verify exits 0 with ok:true and every event of $all counted.
  void expect_healthy(std::uint64_t events, std::uint64_t deleted_streams) {
    const CliResult result = verify();
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
    const Json summary = result.json();
    EXPECT_EQ(summary["ok"], true) << summary.dump();
    EXPECT_EQ(summary["events"], events) << summary.dump();
    EXPECT_EQ(summary["problemCount"], 0) << summary.dump();
    EXPECT_EQ(summary["deletedStreams"], deleted_streams) << summary.dump();
  }

  TempDir dir_;
};

TEST_F(VerifyLifecycle, SoftDeletedStream) {
  prepare("a-1", [](EventStore& store) { ASSERT_TRUE(store.delete_stream("a-1", ExpectedRevision::any()).ok()); });
  expect_healthy(13, 1);
}

TEST_F(VerifyLifecycle, TombstonedStream) {
  prepare("a-1", [](EventStore& store) { ASSERT_TRUE(store.tombstone_stream("a-1", ExpectedRevision::any()).ok()); });
  expect_healthy(13, 1);
}

TEST_F(VerifyLifecycle, SoftDeletedThenRecreatedStream) {
  prepare("a-1", [](EventStore& store) {
    ASSERT_TRUE(store.delete_stream("a-1", ExpectedRevision::any()).ok());
    append(store, "a-1", 2);
  });
  expect_healthy(15, 0);
}

TEST_F(VerifyLifecycle, TruncatedStream) {
  prepare("a-1", [](EventStore& store) {
    StreamMetadata metadata;
    metadata.truncate_before = 2;
    ASSERT_TRUE(store.set_stream_metadata("a-1", metadata).ok());
  });
  expect_healthy(13, 0);
}

TEST_F(VerifyLifecycle, MaxCountStream) {
  prepare("a-1", [](EventStore& store) {
    StreamMetadata metadata;
    metadata.max_count = 1;
    ASSERT_TRUE(store.set_stream_metadata("a-1", metadata).ok());
  });
  expect_healthy(13, 0);
}

TEST_F(VerifyLifecycle, MaxAgeStreamWithEveryEventExpired) {
  prepare("a-1", [](EventStore& store) {
    StreamMetadata metadata;
    metadata.max_age = std::chrono::seconds(1);
    ASSERT_TRUE(store.set_stream_metadata("a-1", metadata).ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  expect_healthy(13, 0);
}

// Every lifecycle state in one store, with the healthy stream beside them.
TEST_F(VerifyLifecycle, AllStatesInOneStore) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    for (const char* name : {"healthy", "deleted", "tombstoned", "truncated", "counted"}) append(*store, name, 4);
    ASSERT_TRUE(store->delete_stream("deleted", ExpectedRevision::exact(3)).ok());
    ASSERT_TRUE(store->tombstone_stream("tombstoned", ExpectedRevision::exact(3)).ok());
    StreamMetadata truncated;
    truncated.truncate_before = 3;
    ASSERT_TRUE(store->set_stream_metadata("truncated", truncated).ok());
    StreamMetadata counted;
    counted.max_count = 2;
    ASSERT_TRUE(store->set_stream_metadata("counted", counted).ok());
    ASSERT_TRUE(store->close().ok());
  }
  expect_healthy(20, 2);
}

// A real disagreement still fails: the index says a deleted stream ends
// before its last event in $all.
TEST_F(VerifyLifecycle, DeletedStreamWhoseIndexHeadLagsTheLogIsReported) {
  prepare("a-1", [](EventStore& store) { ASSERT_TRUE(store.delete_stream("a-1", ExpectedRevision::any()).ok()); });
  {
    auto index = Index::open((std::filesystem::path(dir_.path()) / "store" / "index").string(), false, 1 << 20);
    ASSERT_TRUE(index.ok()) << index.status().to_string();
    auto entry = (*index)->stream("a-1");
    ASSERT_TRUE(entry.ok() && *entry);
    StreamEntry lagging = **entry;
    ASSERT_TRUE(lagging.state.soft_deleted);
    lagging.state.last_revision = 0;  // the log holds revisions 0..2
    IndexBatch batch;
    batch.put_stream("a-1", lagging);
    ASSERT_TRUE((*index)->write(batch).ok());
    ASSERT_TRUE((*index)->flush().ok());
  }
  const CliResult result = verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  const Json summary = result.json();
  EXPECT_EQ(summary["ok"], false) << summary.dump();
  EXPECT_NE(summary["problems"].dump().find("a-1 (deleted)"), std::string::npos) << summary.dump();
}

}  // namespace
}  // namespace evsrc::cli_test
