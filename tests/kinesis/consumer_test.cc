// KinesisConsumer against kinesalite, feeding the directory example's
// projections through SqlKinesisConsumerSink: exactly once with duplicates,
// gaps filled from the store, several shards, and kill/restart mid-stream —
// every time ending equal to a replay of the store.
#include <gtest/gtest.h>

#include <set>

#include "evsrc/kinesis.h"
#include "kinesis/kinesis_client.h"
#include "kinesis/kinesis_test_helpers.h"

namespace evsrc {
namespace {

using kinesis_test::DirectoryReadModel;
using kinesis_test::WrappedClient;

struct Pipeline {
  std::unique_ptr<EventStore> store;
  kinesis_test::TempDir dir;
  std::unique_ptr<CheckpointStore> checkpoints;
  KinesisEndpoint endpoint;
  std::uint64_t events = 0;

  Pipeline(const std::string& name, int shards, int users) {
    store = std::move(open_store("memory:").value());
    kinesis_test::write_directory_events(*store, users);
    AllReadOptions all;
    all.limit = 1000000;
    events = store->read_all(all)->events.size();
    checkpoints = std::move(open_file_checkpoints((dir.path() / "checkpoints").string()).value());
    endpoint = kinesis_test::fresh_stream(name, shards);
  }

  void forward(const std::string& forwarder_name, std::unique_ptr<KinesisClient> client = nullptr) {
    KinesisForwarder::Options options;
    options.store = store.get();
    options.kinesis = endpoint;
    options.checkpoints = checkpoints.get();
    options.name = forwarder_name;
    options.batch_size = 37;
    auto forwarder = client ? KinesisForwarder::open(options, std::move(client)) : KinesisForwarder::open(options);
    ASSERT_TRUE(forwarder.ok()) << forwarder.status().to_string();
    auto pass = (*forwarder)->forward_available();
    ASSERT_TRUE(pass.ok()) << pass.status().to_string();
  }

  KinesisConsumer::Options consumer_options(DirectoryReadModel& model) {
    KinesisConsumer::Options options;
    options.kinesis = endpoint;
    options.sink = &model.sink();
    options.store = store.get();
    options.limit = 25;
    options.poll_interval = std::chrono::milliseconds(10);
    return options;
  }

  std::string replay() { return kinesis_test::replay_dump(*store, dir.path() / "replay.db"); }
};

TEST(KinesisConsumer, AppliesEveryEventOnceFromFourShards) {
  Pipeline p("four", 4, 20);
  p.forward("forwarder");
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto consumer = KinesisConsumer::open(p.consumer_options(model));
  ASSERT_TRUE(consumer.ok()) << consumer.status().to_string();
  auto applied = (*consumer)->catch_up();
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  EXPECT_EQ(*applied, p.events);
  auto stats = (*consumer)->stats();
  EXPECT_EQ(stats.records_read, p.events);
  EXPECT_EQ(stats.duplicates_skipped, 0u);
  EXPECT_EQ(stats.gaps, 0u);
  const std::string dump = model.dump();
  EXPECT_NE(dump.find("users_v1: u0"), std::string::npos) << dump;
  EXPECT_EQ(dump, p.replay());
  // Nothing new: a second catch-up applies nothing.
  EXPECT_EQ((*consumer)->catch_up().value(), 0u);
}

TEST(KinesisConsumer, SkipsDuplicatesOfTheSameRangeForwardedTwice) {
  Pipeline p("dupes", 2, 10);
  p.forward("first");
  p.forward("second");  // its own checkpoint: the whole range again
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto consumer = KinesisConsumer::open(p.consumer_options(model));
  ASSERT_TRUE(consumer.ok());
  ASSERT_EQ((*consumer)->catch_up().value(), p.events);
  auto stats = (*consumer)->stats();
  EXPECT_EQ(stats.records_read, 2 * p.events);
  EXPECT_EQ(stats.duplicates_skipped, p.events);
  EXPECT_EQ(model.dump(), p.replay());
}

// Acknowledges every third record without sending it: a gap in Kinesis.
class DroppingClient : public WrappedClient {
 public:
  using WrappedClient::WrappedClient;
  Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                     std::span<const KinesisPutEntry> entries) override {
    std::vector<KinesisPutEntry> sent;
    std::vector<bool> dropped;
    for (const KinesisPutEntry& entry : entries) {
      dropped.push_back(counter_++ % 3 == 1);
      if (!dropped.back()) sent.push_back(entry);
    }
    auto result = inner_->put_records(stream, sent);
    if (!result.ok()) return result.status();
    std::vector<KinesisPutOutcome> outcomes;
    std::size_t next = 0;
    for (bool drop : dropped)
      outcomes.push_back(drop ? KinesisPutOutcome{"1", "shardId-000000000000", "", ""} : (*result)[next++]);
    return outcomes;
  }

 private:
  std::uint64_t counter_ = 0;
};

TEST(KinesisConsumer, FillsGapsFromTheEventStore) {
  Pipeline p("gaps", 2, 12);
  p.forward("lossy", std::make_unique<DroppingClient>(kinesis_test::client_for(p.endpoint)));
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto consumer = KinesisConsumer::open(p.consumer_options(model));
  ASSERT_TRUE(consumer.ok());
  auto applied = (*consumer)->catch_up();
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  auto stats = (*consumer)->stats();
  EXPECT_GT(stats.gaps, 0u);
  EXPECT_GT(stats.events_backfilled, 0u);
  // The tail of a stream whose last events were dropped is not known to be
  // missing until a later record of that stream comes; here every event the
  // consumer knows of is applied, and the dropped ones before a received
  // record came from the store.
  EXPECT_EQ(stats.records_read + stats.events_backfilled, *applied);
  // Forwarding everything (a healthy forwarder) closes the tails: then the
  // read model equals the replay.
  p.forward("healthy");
  ASSERT_TRUE((*consumer)->catch_up().ok());
  EXPECT_EQ(model.dump(), p.replay());
  EXPECT_EQ((*consumer)->stats().events_applied, p.events);
}

TEST(KinesisConsumer, WithoutAStoreAGapIsCorruption) {
  Pipeline p("nostore", 1, 4);
  p.forward("lossy", std::make_unique<DroppingClient>(kinesis_test::client_for(p.endpoint)));
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto options = p.consumer_options(model);
  options.store = nullptr;
  auto consumer = KinesisConsumer::open(options);
  ASSERT_TRUE(consumer.ok());
  auto applied = (*consumer)->catch_up();
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), ErrorCode::corruption);
  EXPECT_NE(applied.status().message().find("gap"), std::string::npos) << applied.status().message();
}

TEST(KinesisConsumer, KilledBetweenBatchesAndRestartedEndsEqualToAReplay) {
  Pipeline p("restart", 4, 25);
  p.forward("forwarder");
  std::uint64_t applied_total = 0;
  for (int life = 0; life < 100; ++life) {
    DirectoryReadModel model(p.dir.path() / "model.db", "directory");
    auto options = p.consumer_options(model);
    options.limit = 7;
    int batches = 0;
    KinesisConsumer* self = nullptr;
    options.on_batch = [&](std::string_view, std::size_t records) {
      if (records > 0 && ++batches == 3) self->stop();
    };
    auto consumer = KinesisConsumer::open(options);
    ASSERT_TRUE(consumer.ok());
    self = consumer->get();
    auto applied = (*consumer)->catch_up();
    ASSERT_TRUE(applied.ok()) << applied.status().to_string();
    applied_total += *applied;
    if (batches < 3) break;  // caught up before the "kill"
  }
  EXPECT_EQ(applied_total, p.events);  // exactly once across the lives
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  EXPECT_EQ(model.dump(), p.replay());
}

TEST(KinesisConsumer, RunFollowsNewRecordsUntilStopped) {
  Pipeline p("live", 2, 3);
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto consumer = KinesisConsumer::open(p.consumer_options(model));
  ASSERT_TRUE(consumer.ok());
  Status ran;
  std::thread runner([&] { ran = (*consumer)->run(); });
  p.forward("forwarder");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((*consumer)->stats().events_applied < p.events && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*consumer)->stop();
  runner.join();
  EXPECT_TRUE(ran.ok()) << ran.to_string();
  EXPECT_EQ((*consumer)->stats().events_applied, p.events);
}

TEST(KinesisConsumer, FilteredEventsAdvanceRevisionsWithoutBeingApplied) {
  Pipeline p("filtered", 1, 4);
  p.forward("forwarder");
  DirectoryReadModel model(p.dir.path() / "model.db", "directory");
  auto options = p.consumer_options(model);
  options.filter.category = "group";
  auto consumer = KinesisConsumer::open(options);
  ASSERT_TRUE(consumer.ok());
  auto applied = (*consumer)->catch_up();
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  auto stats = (*consumer)->stats();
  EXPECT_GT(stats.events_filtered, 0u);
  EXPECT_EQ(stats.events_filtered + *applied, p.events);
  auto user = model.sink().applied_revision("user-u0");
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(user->has_value());
}

TEST(SqlKinesisConsumerSink, RefusesToApplyARevisionTwice) {
  kinesis_test::TempDir dir;
  DirectoryReadModel model(dir.path() / "model.db", "c");
  EXPECT_FALSE(model.sink().applied_revision("s").value().has_value());
  ASSERT_TRUE(model.sink().apply("s", {}, 3).ok());
  EXPECT_EQ(model.sink().applied_revision("s").value(), std::optional<StreamRevision>(3));
  Status again = model.sink().apply("s", {}, 3);
  EXPECT_EQ(again.code(), ErrorCode::wrong_expected_revision);
  ASSERT_TRUE(model.sink().save_shard_checkpoint("shard-1", "123").ok());
  ASSERT_TRUE(model.sink().save_shard_checkpoint("shard-1", "456").ok());
  EXPECT_EQ(model.sink().shard_checkpoint("shard-1").value(), std::optional<std::string>("456"));
  EXPECT_FALSE(model.sink().shard_checkpoint("shard-2").value().has_value());
  // Reopening keeps the tables (created once per consumer).
  DirectoryReadModel reopened(dir.path() / "model.db", "c");
  EXPECT_EQ(reopened.sink().applied_revision("s").value(), std::optional<StreamRevision>(3));
}

}  // namespace
}  // namespace evsrc
