// KinesisConsumer: shards -> per-stream dedupe and gap backfill -> a sink (see
// evsrc/kinesis.h).
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "evsrc/kinesis.h"
#include "kinesis/kinesis_client.h"

namespace evsrc {
namespace {

// Events of one stream collected from a GetRecords batch, not yet applied.
struct PendingRun {
  std::vector<RecordedEvent> events;      // those the filter wants
  std::optional<StreamRevision> last;     // the last revision covered (applied or filtered)
  std::optional<StreamRevision> applied;  // the sink's applied revision before the run
};

// Flush a run before it holds more events than this (a long backfill).
constexpr std::size_t kMaxRunEvents = 1000;
// Forget cached applied revisions beyond this many streams.
constexpr std::size_t kMaxCachedStreams = 100000;

}  // namespace

struct KinesisConsumer::Impl {
  struct Shard {
    std::string id;
    std::optional<std::string> iterator;
    bool closed = false;  // read to its end
  };
  struct PollResult {
    std::size_t records = 0;
    bool caught_up = false;
  };

  Options options;
  std::unique_ptr<KinesisClient> client;
  std::atomic<bool> stop_requested{false};

  // Owned by the consuming thread.
  std::vector<Shard> shards;
  bool shards_loaded = false;
  std::map<std::string, std::optional<StreamRevision>, std::less<>> applied_cache;

  mutable std::mutex stats_mutex;
  KinesisConsumerStats stats;  // GUARDED_BY(stats_mutex)

  bool stopped() const { return stop_requested.load(std::memory_order_relaxed); }

  bool sleep_unless_stopped(std::chrono::milliseconds duration) const {
    return evsrc::sleep_unless_stopped(stop_requested, duration);
  }

  template <class F>
  void update_stats(F&& change) {
    std::lock_guard lock(stats_mutex);
    change(stats);
  }

  KinesisConsumerStats stats_copy() const {
    std::lock_guard lock(stats_mutex);
    return stats;
  }

  // After a failure nothing in memory is trusted: iterators restart from the
  // durable checkpoints and applied revisions are read from the sink again.
  void reset() {
    shards_loaded = false;
    shards.clear();
    applied_cache.clear();
  }

  Status load_shards() {
    if (shards_loaded) return Status();
    auto ids = client->list_shards(options.kinesis.stream);
    if (!ids.ok()) return ids.status();
    shards.clear();
    for (std::string& id : *ids) shards.push_back(Shard{std::move(id), std::nullopt, false});
    shards_loaded = true;
    return Status();
  }

  Result<std::optional<StreamRevision>> applied_revision(const std::string& stream) {
    if (auto found = applied_cache.find(stream); found != applied_cache.end()) return found->second;
    auto applied = options.sink->applied_revision(stream);
    if (!applied.ok()) return applied.status();
    if (applied_cache.size() >= kMaxCachedStreams) applied_cache.clear();
    applied_cache.emplace(stream, *applied);
    return *applied;
  }

  // Adds `event` (the next revision of its stream) to its run.
  void add_to_run(PendingRun& run, RecordedEvent event) {
    run.last = event.revision;
    if (options.filter.matches(event)) {
      run.events.push_back(std::move(event));
    } else {
      update_stats([](KinesisConsumerStats& s) { ++s.events_filtered; });
    }
  }

  Status flush(const std::string& stream, PendingRun& run) {
    if (!run.last || run.last == run.applied) return Status();
    if (Status applied = options.sink->apply(stream, run.events, *run.last); !applied.ok()) {
      return Status(applied.code(),
                    "applying " + stream + " up to revision " + std::to_string(*run.last) + ": " + applied.message());
    }
    update_stats([&](KinesisConsumerStats& s) { s.events_applied += run.events.size(); });
    applied_cache[stream] = run.last;
    run.applied = run.last;
    run.events.clear();
    return Status();
  }

  // Reads revisions [from, before) of `stream` from the store into `run`.
  // Revisions the store no longer holds (truncated, deleted) are skipped:
  // a replay of the store would not see them either.
  Status backfill(const std::string& stream, PendingRun& run, StreamRevision from, StreamRevision before) {
    if (options.store == nullptr) {
      return Status::corruption("gap in stream " + stream + ": revisions " + std::to_string(from) + ".." +
                                std::to_string(before - 1) +
                                " are missing from Kinesis and the consumer has no event store to read them from");
    }
    update_stats([](KinesisConsumerStats& s) { ++s.gaps; });
    StreamReadOptions read;
    read.from = from;
    read.limit = kMaxRunEvents;
    for (;;) {
      auto page = options.store->read_stream(stream, read);
      if (!page.ok()) {
        const ErrorCode code = page.status().code();
        if (code == ErrorCode::not_found || code == ErrorCode::stream_deleted) return Status();
        return Status(code, "filling a gap in stream " + stream + " from the event store: " + page.status().message());
      }
      for (RecordedEvent& event : page->events) {
        if (event.revision >= before) return Status();
        add_to_run(run, std::move(event));
        update_stats([](KinesisConsumerStats& s) { ++s.events_backfilled; });
        if (run.events.size() >= kMaxRunEvents) {
          if (Status flushed = flush(stream, run); !flushed.ok()) return flushed;
        }
      }
      if (!page->next) return Status();
      read.from = page->next;
    }
  }

  Status apply_records(std::string_view shard, const std::vector<KinesisRecord>& records) {
    std::map<std::string, PendingRun, std::less<>> runs;
    for (const KinesisRecord& record : records) {
      auto decoded = decode_kinesis_event(record.data);
      if (!decoded.ok()) {
        return Status::corruption("Kinesis stream '" + options.kinesis.stream + "' shard " + std::string(shard) +
                                  " record " + record.sequence_number + ": " + decoded.status().message());
      }
      update_stats([](KinesisConsumerStats& s) { ++s.records_read; });
      RecordedEvent& event = *decoded;
      auto found = runs.find(event.stream);
      if (found == runs.end()) {
        auto applied = applied_revision(event.stream);
        if (!applied.ok()) return applied.status();
        PendingRun run;
        run.applied = *applied;
        run.last = *applied;
        found = runs.emplace(event.stream, std::move(run)).first;
      }
      PendingRun& run = found->second;
      if (run.last && event.revision <= *run.last) {
        update_stats([](KinesisConsumerStats& s) { ++s.duplicates_skipped; });
        continue;
      }
      const StreamRevision expected = run.last ? *run.last + 1 : 0;
      if (event.revision > expected) {
        if (Status filled = backfill(event.stream, run, expected, event.revision); !filled.ok()) return filled;
      }
      const std::string stream = event.stream;
      add_to_run(run, std::move(event));
      if (run.events.size() >= kMaxRunEvents) {
        if (Status flushed = flush(stream, run); !flushed.ok()) return flushed;
      }
    }
    for (auto& [stream, run] : runs) {
      if (Status flushed = flush(stream, run); !flushed.ok()) return flushed;
    }
    return Status();
  }

  // One GetRecords of `shard`, applied and checkpointed.
  Result<PollResult> poll(Shard& shard) {
    for (int renewals = 0;; ++renewals) {
      if (!shard.iterator) {
        auto checkpoint = options.sink->shard_checkpoint(shard.id);
        if (!checkpoint.ok()) return checkpoint.status();
        auto iterator = client->get_shard_iterator(options.kinesis.stream, shard.id, *checkpoint);
        if (!iterator.ok()) return iterator.status();
        shard.iterator = std::move(*iterator);
      }
      auto output = client->get_records(*shard.iterator, options.limit);
      update_stats([](KinesisConsumerStats& s) { ++s.get_records_requests; });
      if (!output.ok()) return output.status();
      if (output->iterator_expired) {
        shard.iterator.reset();
        update_stats([](KinesisConsumerStats& s) { ++s.iterators_renewed; });
        if (renewals >= 3) return Status::io_error("Kinesis shard " + shard.id + ": iterators keep expiring");
        continue;
      }
      if (Status applied = apply_records(shard.id, output->records); !applied.ok()) return applied;
      if (!output->records.empty()) {
        if (Status saved = options.sink->save_shard_checkpoint(shard.id, output->records.back().sequence_number);
            !saved.ok()) {
          return saved;
        }
      }
      shard.iterator = std::move(output->next_iterator);
      if (!shard.iterator) shard.closed = true;
      if (options.on_batch) options.on_batch(shard.id, output->records.size());
      PollResult result;
      result.records = output->records.size();
      result.caught_up = shard.closed || (output->records.empty() && output->millis_behind_latest == 0);
      return result;
    }
  }

  Result<std::uint64_t> catch_up() {
    const std::uint64_t applied_before = stats_copy().events_applied;
    ResetOnError guard{this};
    if (Status loaded = load_shards(); !loaded.ok()) return loaded;
    for (Shard& shard : shards) {
      while (!shard.closed && !stopped()) {
        auto polled = poll(shard);
        if (!polled.ok()) return polled.status();
        if (polled->caught_up) break;
      }
    }
    guard.ok = true;
    return stats_copy().events_applied - applied_before;
  }

  Status run() {
    while (!stopped()) {
      Status failure;
      bool any_records = false;
      if (Status loaded = load_shards(); !loaded.ok()) {
        failure = loaded;
      } else {
        for (Shard& shard : shards) {
          if (shard.closed || stopped()) continue;
          auto polled = poll(shard);
          if (!polled.ok()) {
            failure = polled.status();
            break;
          }
          any_records = any_records || polled->records > 0;
        }
        // Every shard read to its end: the stream was resharded; find the
        // children.
        if (failure.ok() && std::all_of(shards.begin(), shards.end(), [](const Shard& s) { return s.closed; })) {
          shards_loaded = false;
        }
      }
      if (!failure.ok()) {
        reset();
        if (stopped()) return Status();
        const ErrorCode code = failure.code();
        if (code != ErrorCode::io_error && code != ErrorCode::timeout && code != ErrorCode::wrong_expected_revision) {
          return failure;
        }
        sleep_unless_stopped(options.retry_after);
        continue;
      }
      if (!any_records) sleep_unless_stopped(options.poll_interval);
    }
    return Status();
  }

  // Resets the in-memory state unless the scope ended with ok = true.
  struct ResetOnError {
    Impl* impl;
    bool ok = false;
    ~ResetOnError() {
      if (!ok) impl->reset();
    }
  };
};

Result<std::unique_ptr<KinesisConsumer>> KinesisConsumer::open(Options options) {
  auto client = make_kinesis_client(options.kinesis);
  if (!client.ok()) return client.status();
  return open(std::move(options), std::move(*client));
}

Result<std::unique_ptr<KinesisConsumer>> KinesisConsumer::open(Options options, std::unique_ptr<KinesisClient> client) {
  if (options.sink == nullptr) return Status::invalid_argument("Kinesis consumer: no sink");
  if (client == nullptr) return Status::invalid_argument("Kinesis consumer: no Kinesis client");
  if (Status valid = validate_kinesis_stream_name(options.kinesis.stream); !valid.ok()) return valid;
  if (options.limit < 1 || options.limit > 10000) {
    return Status::invalid_argument("Kinesis consumer: limit must be 1..10000, not " + std::to_string(options.limit));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->client = std::move(client);
  return std::unique_ptr<KinesisConsumer>(new KinesisConsumer(std::move(impl)));
}

KinesisConsumer::KinesisConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KinesisConsumer::~KinesisConsumer() = default;

Result<std::uint64_t> KinesisConsumer::catch_up() { return impl_->catch_up(); }
Status KinesisConsumer::run() { return impl_->run(); }
void KinesisConsumer::stop() { impl_->stop_requested.store(true, std::memory_order_relaxed); }
KinesisConsumerStats KinesisConsumer::stats() const { return impl_->stats_copy(); }

}  // namespace evsrc
