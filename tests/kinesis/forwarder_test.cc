// KinesisForwarder against kinesalite: every event once per pass, per-stream
// order in the shards, the checkpoint only after acknowledgement, partial
// PutRecords failures retried, restarts resend at most one batch.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "evsrc/kinesis.h"
#include "kinesis/kinesis_client.h"
#include "kinesis/kinesis_test_helpers.h"

namespace evsrc {
namespace {

using kinesis_test::WrappedClient;

std::unique_ptr<EventStore> store_with_events(int streams, int events_per_stream) {
  auto store = open_store("memory:");
  EXPECT_TRUE(store.ok());
  // Interleaved: stream i gets its k-th event in round k.
  for (int round = 0; round < events_per_stream; ++round) {
    for (int s = 0; s < streams; ++s) {
      EventData event;
      event.type = "Happened";
      event.data = "{\"round\":" + std::to_string(round) + "}";
      Status ok =
          (*store)->append("thing-" + std::to_string(s), ExpectedRevision::any(), std::span(&event, 1)).status();
      EXPECT_TRUE(ok.ok()) << ok.to_string();
    }
  }
  return std::move(*store);
}

struct Forwarding {
  std::unique_ptr<EventStore> store;
  kinesis_test::TempDir dir;
  std::unique_ptr<CheckpointStore> checkpoints;
  KinesisEndpoint endpoint;
};

KinesisForwarder::Options options_for(Forwarding& f, std::size_t batch_size = 500) {
  KinesisForwarder::Options options;
  options.store = f.store.get();
  options.kinesis = f.endpoint;
  options.checkpoints = f.checkpoints.get();
  options.batch_size = batch_size;
  options.put_retry_base_delay = std::chrono::milliseconds(1);
  return options;
}

void setup(Forwarding& f, const std::string& name, int shards, int streams, int events_per_stream) {
  f.store = store_with_events(streams, events_per_stream);
  f.checkpoints = std::move(open_file_checkpoints(f.dir.path().string()).value());
  f.endpoint = kinesis_test::fresh_stream(name, shards);
}

// Checks that each stream's events are in one shard, in revision order, and
// returns how many records each (stream, revision) has.
std::map<std::pair<std::string, StreamRevision>, int> copies_in(const KinesisEndpoint& endpoint,
                                                                bool strictly_ordered) {
  std::map<std::pair<std::string, StreamRevision>, int> copies;
  std::map<std::string, std::string> shard_of;
  for (const auto& [shard, events] : kinesis_test::read_every_shard(endpoint)) {
    std::map<std::string, StreamRevision> last;
    for (const RecordedEvent& event : events) {
      auto [where, inserted] = shard_of.emplace(event.stream, shard);
      EXPECT_EQ(where->second, shard) << event.stream << " is in two shards";
      if (strictly_ordered && last.contains(event.stream)) {
        EXPECT_EQ(event.revision, last[event.stream] + 1) << event.stream << " out of order in " << shard;
      }
      last[event.stream] = event.revision;
      ++copies[{event.stream, event.revision}];
    }
  }
  return copies;
}

TEST(KinesisForwarder, PublishesEveryEventOnceInStreamOrderAcrossShards) {
  Forwarding f;
  setup(f, "once", 4, 12, 10);
  auto forwarder = KinesisForwarder::open(options_for(f, 25));
  ASSERT_TRUE(forwarder.ok()) << forwarder.status().to_string();
  auto pass = (*forwarder)->forward_available();
  ASSERT_TRUE(pass.ok()) << pass.status().to_string();
  EXPECT_EQ(*pass, 120u);
  auto stats = (*forwarder)->stats();
  EXPECT_EQ(stats.events_forwarded, 120u);
  EXPECT_EQ(stats.put_requests, 120u / 25 + 1);
  auto head = f.store->stats();
  EXPECT_EQ(stats.checkpoint, head->last_position);
  EXPECT_EQ(f.checkpoints->load("kinesis-forwarder").value(), head->last_position);

  // A second pass has nothing to send.
  EXPECT_EQ((*forwarder)->forward_available().value(), 0u);
  auto copies = copies_in(f.endpoint, /*strictly_ordered=*/true);
  EXPECT_EQ(copies.size(), 120u);
  for (const auto& [event, count] : copies) EXPECT_EQ(count, 1) << event.first << "@" << event.second;
  std::set<std::string> shards_used;
  for (const auto& [shard, events] : kinesis_test::read_every_shard(f.endpoint)) {
    if (!events.empty()) shards_used.insert(shard);
  }
  EXPECT_GT(shards_used.size(), 1u);

  // New events go out on the next pass, from the checkpoint on.
  EventData more{Uuid(), "Happened", "{}", "", "application/json"};
  ASSERT_TRUE(f.store->append("thing-0", ExpectedRevision::any(), std::span(&more, 1)).ok());
  EXPECT_EQ((*forwarder)->forward_available().value(), 1u);
  EXPECT_EQ(copies_in(f.endpoint, true).size(), 121u);
}

TEST(KinesisForwarder, FilterSkipsEventsButAdvancesTheCheckpoint) {
  Forwarding f;
  setup(f, "filter", 1, 4, 5);
  auto options = options_for(f, 3);
  options.filter.stream_prefix = "thing-2";
  auto forwarder = KinesisForwarder::open(options);
  ASSERT_TRUE(forwarder.ok());
  EXPECT_EQ((*forwarder)->forward_available().value(), 5u);
  EXPECT_EQ(f.checkpoints->load("kinesis-forwarder").value(), f.store->stats()->last_position);
  EXPECT_EQ(copies_in(f.endpoint, true).size(), 5u);
}

// Fails the records at the given indexes of the first `failing_calls` calls.
class PartiallyFailingClient : public WrappedClient {
 public:
  PartiallyFailingClient(std::unique_ptr<KinesisClient> inner, std::set<std::size_t> failing, int failing_calls)
      : WrappedClient(std::move(inner)), failing_(std::move(failing)), failing_calls_(failing_calls) {}
  Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                     std::span<const KinesisPutEntry> entries) override {
    ++calls;
    if (failing_calls_ == 0) return inner_->put_records(stream, entries);
    --failing_calls_;
    // Send the others (those succeed for real), fail the chosen ones.
    std::vector<KinesisPutEntry> sent;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!failing_.contains(i)) sent.push_back(entries[i]);
    }
    std::vector<KinesisPutOutcome> acknowledged;
    if (!sent.empty()) {
      auto result = inner_->put_records(stream, sent);
      if (!result.ok()) return result.status();
      acknowledged = std::move(*result);
    }
    std::vector<KinesisPutOutcome> outcomes;
    std::size_t next = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (failing_.contains(i)) {
        outcomes.push_back({"", "", "ProvisionedThroughputExceededException", "Rate exceeded for shard"});
      } else {
        outcomes.push_back(acknowledged[next++]);
      }
    }
    return outcomes;
  }
  int calls = 0;

 private:
  std::set<std::size_t> failing_;
  int failing_calls_;
};

TEST(KinesisForwarder, RetriesPartialFailuresAndKeepsTheLastCopiesInOrder) {
  Forwarding f;
  setup(f, "partial", 2, 3, 4);  // 12 events, one batch
  auto client =
      std::make_unique<PartiallyFailingClient>(kinesis_test::client_for(f.endpoint), std::set<std::size_t>{1, 4}, 2);
  PartiallyFailingClient* flaky = client.get();
  auto forwarder = KinesisForwarder::open(options_for(f), std::move(client));
  ASSERT_TRUE(forwarder.ok());
  auto pass = (*forwarder)->forward_available();
  ASSERT_TRUE(pass.ok()) << pass.status().to_string();
  EXPECT_EQ(*pass, 12u);
  EXPECT_EQ(flaky->calls, 3);
  auto stats = (*forwarder)->stats();
  EXPECT_GT(stats.records_retried, 0u);
  EXPECT_EQ(stats.put_requests, 3u);
  EXPECT_EQ(stats.checkpoint, f.store->stats()->last_position);
  // Every event arrived; a stream with a failed record was sent again from
  // that record on, so the last copy of each revision is in order.
  auto shards = kinesis_test::read_every_shard(f.endpoint);
  std::map<std::pair<std::string, StreamRevision>, int> copies;
  for (const auto& [shard, events] : shards) {
    std::map<std::string, std::vector<StreamRevision>> tail;  // per stream, after dropping earlier copies
    for (const RecordedEvent& event : events) ++copies[{event.stream, event.revision}];
    // The last occurrence of each revision, in shard order, is ascending.
    std::map<std::pair<std::string, StreamRevision>, std::size_t> last_index;
    for (std::size_t i = 0; i < events.size(); ++i) last_index[{events[i].stream, events[i].revision}] = i;
    std::map<std::string, std::pair<StreamRevision, std::size_t>> previous;
    for (const auto& [key, index] : last_index) {
      if (previous.contains(key.first)) {
        EXPECT_GT(index, previous[key.first].second) << key.first << "@" << key.second;
      }
      previous[key.first] = {key.second, index};
    }
  }
  EXPECT_EQ(copies.size(), 12u);
}

TEST(KinesisForwarder, KeepsTheCheckpointWhenRecordsStayUnacknowledged) {
  Forwarding f;
  setup(f, "stuck", 1, 2, 10);  // 20 events
  auto options = options_for(f, 8);
  options.max_put_attempts = 3;
  // Record 0 of every request fails.
  auto client =
      std::make_unique<PartiallyFailingClient>(kinesis_test::client_for(f.endpoint), std::set<std::size_t>{0}, 1000);
  auto forwarder = KinesisForwarder::open(options, std::move(client));
  ASSERT_TRUE(forwarder.ok());
  auto pass = (*forwarder)->forward_available();
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), ErrorCode::timeout);
  EXPECT_NE(pass.status().message().find("ProvisionedThroughputExceededException"), std::string::npos);
  EXPECT_FALSE(f.checkpoints->load("kinesis-forwarder").value().has_value());

  // A restart with a healthy client resends at most the failed batch.
  auto healthy = KinesisForwarder::open(options_for(f, 8));
  ASSERT_TRUE(healthy.ok());
  ASSERT_EQ((*healthy)->forward_available().value(), 20u);
  // Copies beyond the first are all of the batch that was never
  // acknowledged (its partial retries and the restart's resend).
  AllReadOptions first_batch;
  first_batch.limit = 8;
  std::set<std::pair<std::string, StreamRevision>> unacknowledged;
  auto first_page = f.store->read_all(first_batch);
  ASSERT_TRUE(first_page.ok());
  for (const RecordedEvent& event : first_page->events) {
    unacknowledged.insert({event.stream, event.revision});
  }
  auto copies = copies_in(f.endpoint, false);
  EXPECT_EQ(copies.size(), 20u);
  for (const auto& [event, count] : copies) {
    if (count > 1) {
      EXPECT_TRUE(unacknowledged.contains(event)) << event.first << "@" << event.second;
    }
  }
}

TEST(KinesisForwarder, RestartResendsAtMostTheUnacknowledgedBatch) {
  Forwarding f;
  setup(f, "restart", 2, 5, 10);  // 50 events
  // Fails every request after the first two: batches 1 and 2 are acknowledged.
  class FailingAfter : public WrappedClient {
   public:
    using WrappedClient::WrappedClient;
    Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                       std::span<const KinesisPutEntry> entries) override {
      if (++calls_ > 2) {
        // Sent, but the answer is lost: the outcome is unknown to the caller.
        (void)inner_->put_records(stream, entries);
        return Status::io_error("connection reset");
      }
      return inner_->put_records(stream, entries);
    }

   private:
    int calls_ = 0;
  };
  auto forwarder =
      KinesisForwarder::open(options_for(f, 10), std::make_unique<FailingAfter>(kinesis_test::client_for(f.endpoint)));
  ASSERT_TRUE(forwarder.ok());
  auto pass = (*forwarder)->forward_available();
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), ErrorCode::io_error);
  auto checkpoint = f.checkpoints->load("kinesis-forwarder").value();
  ASSERT_TRUE(checkpoint.has_value());
  forwarder->reset();

  auto restarted = KinesisForwarder::open(options_for(f, 10));
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ((*restarted)->forward_available().value(), 30u);
  auto copies = copies_in(f.endpoint, false);
  EXPECT_EQ(copies.size(), 50u);
  int duplicates = 0;
  for (const auto& [event, count] : copies) duplicates += count - 1;
  EXPECT_EQ(duplicates, 10);  // exactly the batch whose answer was lost
}

TEST(KinesisForwarder, RunFollowsLiveCommitsUntilStopped) {
  Forwarding f;
  setup(f, "live", 1, 1, 3);
  auto options = options_for(f);
  options.poll_interval = std::chrono::milliseconds(20);
  auto forwarder = KinesisForwarder::open(options);
  ASSERT_TRUE(forwarder.ok());
  Status ran;
  std::thread runner([&] { ran = (*forwarder)->run(); });
  EventData more{Uuid(), "Happened", "{}", "", "application/json"};
  ASSERT_TRUE(f.store->append("thing-9", ExpectedRevision::any(), std::span(&more, 1)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*forwarder)->stats().events_forwarded < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*forwarder)->stop();
  runner.join();
  EXPECT_TRUE(ran.ok()) << ran.to_string();
  EXPECT_EQ((*forwarder)->stats().events_forwarded, 4u);
  EXPECT_EQ(copies_in(f.endpoint, true).size(), 4u);
}

TEST(KinesisForwarder, MissingStreamIsNotFound) {
  Forwarding f;
  f.store = store_with_events(1, 1);
  f.checkpoints = std::move(open_file_checkpoints(f.dir.path().string()).value());
  f.endpoint.url = kinesis_test::fresh_stream("exists", 1).url;
  f.endpoint.stream = "evsrc-no-such-stream-xyz";
  auto forwarder = KinesisForwarder::open(options_for(f));
  ASSERT_TRUE(forwarder.ok());
  auto pass = (*forwarder)->forward_available();
  ASSERT_FALSE(pass.ok());
  EXPECT_EQ(pass.status().code(), ErrorCode::not_found) << pass.status().to_string();
  EXPECT_EQ(list_kinesis_shards(f.endpoint).status().code(), ErrorCode::not_found);
}

TEST(KinesisForwarder, RejectsBadOptions) {
  Forwarding f;
  f.store = store_with_events(1, 1);
  f.checkpoints = std::move(open_file_checkpoints(f.dir.path().string()).value());
  f.endpoint.stream = "bad name!";
  EXPECT_EQ(KinesisForwarder::open(options_for(f)).status().code(), ErrorCode::invalid_argument);
  f.endpoint.stream = "ok";
  EXPECT_EQ(KinesisForwarder::open(options_for(f, 501)).status().code(), ErrorCode::invalid_argument);
  auto options = options_for(f);
  options.checkpoints = nullptr;
  EXPECT_EQ(KinesisForwarder::open(options).status().code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace evsrc
