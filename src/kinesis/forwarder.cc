// KinesisForwarder: $all from a checkpoint to PutRecords, at least once (see
// evsrc/kinesis.h for the batch, retry and checkpoint rules).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "evsrc/kinesis.h"
#include "kinesis/kinesis_client.h"

namespace evsrc {
namespace {

bool may_heal(const Status& status) {
  return status.code() == ErrorCode::io_error || status.code() == ErrorCode::timeout;
}

}  // namespace

struct KinesisForwarder::Impl {
  Options options;
  std::unique_ptr<KinesisClient> client;
  std::atomic<bool> stop_requested{false};

  // Owned by the forwarding thread.
  bool checkpoint_loaded = false;
  std::optional<Position> checkpoint;

  mutable std::mutex stats_mutex;
  KinesisForwarderStats stats;  // GUARDED_BY(stats_mutex)

  bool stopped() const { return stop_requested.load(std::memory_order_relaxed); }

  // Sleeps `duration` in short slices; false when stop() came meanwhile.
  bool sleep_unless_stopped(std::chrono::milliseconds duration) const {
    return evsrc::sleep_unless_stopped(stop_requested, duration);
  }

  template <class F>
  void update_stats(F&& change) {
    std::lock_guard lock(stats_mutex);
    change(stats);
  }

  // Sends `events` until every record is acknowledged (see the header).
  Status put_batch(std::span<const RecordedEvent> events, std::span<const KinesisPutEntry> entries) {
    std::vector<std::size_t> pending(events.size());
    for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
    std::chrono::milliseconds delay = options.put_retry_base_delay;
    for (int attempt = 1;; ++attempt) {
      std::vector<KinesisPutEntry> request;
      request.reserve(pending.size());
      for (std::size_t index : pending) request.push_back(entries[index]);
      auto outcomes = client->put_records(options.kinesis.stream, request);
      update_stats([](KinesisForwarderStats& s) { ++s.put_requests; });
      if (!outcomes.ok()) return outcomes.status();
      // For each event stream with a failure: its records from the first
      // failed one on go again, in their order.
      std::set<std::string_view> failed_streams;
      std::vector<std::size_t> again;
      const KinesisPutOutcome* first_failure = nullptr;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        const std::string_view stream = events[pending[i]].stream;
        if (!(*outcomes)[i].ok()) {
          if (first_failure == nullptr) first_failure = &(*outcomes)[i];
          failed_streams.insert(stream);
        }
        if (failed_streams.contains(stream)) again.push_back(pending[i]);
      }
      if (again.empty()) return Status();
      if (attempt >= options.max_put_attempts || stopped()) {
        return Status::timeout("PutRecords to Kinesis stream '" + options.kinesis.stream + "': " +
                               std::to_string(again.size()) + " records of the batch still unacknowledged after " +
                               std::to_string(attempt) + " attempts (" + first_failure->error_code + ": " +
                               first_failure->error_message + "); the checkpoint stays before the batch");
      }
      update_stats([&](KinesisForwarderStats& s) { s.records_retried += again.size(); });
      pending = std::move(again);
      if (!sleep_unless_stopped(delay)) continue;  // the next attempt then reports the stop
      delay = std::min(delay * 2, options.put_retry_max_delay);
    }
  }

  Status save_checkpoint(Position position) {
    if (checkpoint && *checkpoint >= position) return Status();
    if (Status saved = options.checkpoints->save(options.name, position); !saved.ok()) return saved;
    checkpoint = position;
    update_stats([&](KinesisForwarderStats& s) { s.checkpoint = position; });
    return Status();
  }

  Result<std::uint64_t> forward_available() {
    if (!checkpoint_loaded) {
      auto loaded = options.checkpoints->load(options.name);
      if (!loaded.ok()) return loaded.status();
      checkpoint = *loaded;
      checkpoint_loaded = true;
      update_stats([&](KinesisForwarderStats& s) { s.checkpoint = checkpoint; });
    }
    std::uint64_t forwarded = 0;
    while (!stopped()) {
      // Unfiltered, so the checkpoint can pass the events the filter skips.
      AllReadOptions read;
      if (checkpoint) read.from = *checkpoint + 1;
      read.limit = options.batch_size;
      auto page = options.store->read_all(read);
      if (!page.ok()) return page.status();
      if (page->events.empty()) break;

      std::vector<RecordedEvent> batch;
      std::vector<KinesisPutEntry> entries;
      std::size_t bytes = 0;
      Position end = checkpoint.value_or(0);
      for (RecordedEvent& event : page->events) {
        if (options.filter.matches(event)) {
          KinesisPutEntry entry{kinesis_partition_key(event.stream), encode_kinesis_event(event)};
          const std::size_t size = entry.data.size() + entry.partition_key.size();
          if (size > kKinesisMaxRecordBytes) {
            return Status::too_large("event " + event.stream + "@" + std::to_string(event.revision) + " (position " +
                                     std::to_string(event.position) + ") is " + std::to_string(size) +
                                     " bytes as a Kinesis record; Kinesis takes at most " +
                                     std::to_string(kKinesisMaxRecordBytes));
          }
          if (!entries.empty() && bytes + size > kKinesisMaxBytesPerPut) break;
          bytes += size;
          entries.push_back(std::move(entry));
          batch.push_back(std::move(event));
          end = batch.back().position;
        } else {
          end = event.position;
        }
      }
      if (!entries.empty()) {
        if (Status put = put_batch(batch, entries); !put.ok()) return put;
        forwarded += batch.size();
        update_stats([&](KinesisForwarderStats& s) { s.events_forwarded += batch.size(); });
      }
      if (Status saved = save_checkpoint(end); !saved.ok()) return saved;
    }
    return forwarded;
  }

  Status run() {
    bool previous_pass_read_nothing = false;
    while (!stopped()) {
      const std::optional<Position> before = checkpoint;
      auto pass = forward_available();
      if (options.on_pass) options.on_pass(pass.ok() ? *pass : 0, stats_copy());
      if (!pass.ok()) {
        if (stopped()) return Status();
        if (!may_heal(pass.status())) return pass.status();
        sleep_unless_stopped(options.retry_after);
        continue;
      }
      const bool read_nothing = checkpoint == before;
      // Positions the read cannot see (system records) may wake the wait at
      // once; then poll instead of spinning.
      if (read_nothing && previous_pass_read_nothing) sleep_unless_stopped(options.poll_interval);
      previous_pass_read_nothing = read_nothing;
      if (!stopped()) options.store->wait_for_commit(checkpoint, options.poll_interval);
    }
    return Status();
  }

  KinesisForwarderStats stats_copy() const {
    std::lock_guard lock(stats_mutex);
    return stats;
  }
};

Result<std::unique_ptr<KinesisForwarder>> KinesisForwarder::open(Options options) {
  auto client = make_kinesis_client(options.kinesis);
  if (!client.ok()) return client.status();
  return open(std::move(options), std::move(*client));
}

Result<std::unique_ptr<KinesisForwarder>> KinesisForwarder::open(Options options,
                                                                 std::unique_ptr<KinesisClient> client) {
  if (options.store == nullptr) return Status::invalid_argument("Kinesis forwarder: no event store");
  if (options.checkpoints == nullptr) return Status::invalid_argument("Kinesis forwarder: no checkpoint store");
  if (client == nullptr) return Status::invalid_argument("Kinesis forwarder: no Kinesis client");
  if (Status valid = validate_kinesis_stream_name(options.kinesis.stream); !valid.ok()) return valid;
  if (Status valid = validate_checkpoint_name(options.name); !valid.ok()) return valid;
  if (options.batch_size < 1 || options.batch_size > kKinesisMaxRecordsPerPut) {
    return Status::invalid_argument("Kinesis forwarder: batch size must be 1..500, not " +
                                    std::to_string(options.batch_size));
  }
  if (options.max_put_attempts < 1) return Status::invalid_argument("Kinesis forwarder: max_put_attempts < 1");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->client = std::move(client);
  return std::unique_ptr<KinesisForwarder>(new KinesisForwarder(std::move(impl)));
}

KinesisForwarder::KinesisForwarder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KinesisForwarder::~KinesisForwarder() = default;

Result<std::uint64_t> KinesisForwarder::forward_available() { return impl_->forward_available(); }
Status KinesisForwarder::run() { return impl_->run(); }
void KinesisForwarder::stop() { impl_->stop_requested.store(true, std::memory_order_relaxed); }
KinesisForwarderStats KinesisForwarder::stats() const { return impl_->stats_copy(); }

}  // namespace evsrc
