// Kinesis: committed events out to an Amazon Kinesis data stream, and
// consumers that apply them to read models (DESIGN §6, the seed's Lambda +
// query synchroniser). Spoken over Kinesis's HTTP JSON API with SigV4 (no AWS
// SDK); credentials as for the DynamoDB backend (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else ~/.aws/credentials).
//
// Record format (the Data of every Kinesis record, version 1): one JSON object
// in UTF-8, written by encode_kinesis_event():
//   {"v":1, "stream":S, "revision":N, "position":N, "id":"<uuid>",
//    "type":T, "contentType":C, "recordedAt":"<RFC 3339 UTC, µs>",
//    "recordedAtMicros":N, "data":"<base64>", "metadata":"<base64>"}
// data and metadata are the event's bytes in base64 (standard alphabet,
// padded), so every byte survives; recordedAtMicros is authoritative,
// recordedAt is for people. Readers ignore members they do not know; a
// reader of version 1 rejects other versions. The partition key of a record
// is the event's stream name, so one stream's events land in one shard.
//
// Delivery: the forwarder publishes every committed event at least once; a
// consumer sees duplicates (retries, restarts) and, after a partial
// PutRecords failure, a stream's events out of order. It applies each event
// exactly once per stream in revision order: revisions at or below the
// stream's applied revision are skipped, a revision above applied + 1 is a
// gap that it fills from the event store (read_stream) before applying.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/checkpoint_store.h"
#include "evsrc/event_store.h"
#include "evsrc/read_model_sql.h"
#include "evsrc/status.h"
#include "evsrc/subscription.h"
#include "evsrc/types.h"

namespace evsrc {

// The Kinesis API calls the forwarder and consumer make (src/kinesis/
// kinesis_client.h). Tests and custom transports pass their own.
class KinesisClient;

struct KinesisEndpoint {
  std::string region = "us-east-1";  // signing region, and the AWS endpoint when url is empty
  std::string url;                   // empty: https://kinesis.<region>.amazonaws.com
  std::string stream;                // [A-Za-z0-9_.-]{1,128}
};

// A record's Data for `event` (see the format above).
std::string encode_kinesis_event(const RecordedEvent& event);
// corruption naming what is wrong for data that is not a version-1 record.
Result<RecordedEvent> decode_kinesis_event(std::string_view data);

// Creates endpoint.stream with `shard_count` shards when absent (an existing
// stream is left as it is) and waits until it is ACTIVE (at most `wait`).
// invalid_argument for a bad name or count; io_error when unreachable.
Status create_kinesis_stream(const KinesisEndpoint& endpoint, int shard_count,
                             std::chrono::milliseconds wait = std::chrono::seconds(60));

// The ids of the stream's open and closed shards, in the service's order.
// not_found when the stream does not exist.
Result<std::vector<std::string>> list_kinesis_shards(const KinesisEndpoint& endpoint);

// ---- forwarder ------------------------------------------------------------

struct KinesisForwarderStats {
  std::uint64_t events_forwarded = 0;  // acknowledged by Kinesis (retries not counted twice)
  std::uint64_t put_requests = 0;      // PutRecords requests (every attempt)
  std::uint64_t records_retried = 0;   // records sent again after a partial failure
  std::optional<Position> checkpoint;  // the saved checkpoint
};

// Follows $all from the checkpoint `name` and publishes every committed event
// matching `filter` to the Kinesis stream with PutRecords, partition key =
// the event's stream.
//
// Batches: up to batch_size events (and at most 5 MiB) read from $all after
// the checkpoint form one PutRecords request. A batch is complete when Kinesis
// acknowledged every record; only then is the checkpoint advanced (saved) to
// the batch's end, and only then is the next batch sent. So after a crash at
// most the unacknowledged batch is sent again (at least once), and a stream's
// events of different batches reach its shard in revision order.
//
// Partial failure (FailedRecordCount > 0): for each event stream with a
// failed record, its records from the first failed one on (acknowledged later
// ones included, to keep the last copies in order) are sent again, with
// exponential backoff, until all are acknowledged or max_put_attempts ran
// out (then the pass fails with timeout and the checkpoint stays).
//
// The checkpoint is the last position whose events (those matching the
// filter) are all acknowledged; positions the filter skipped count as done.
//
// Thread-safety: forward_available() and run() are called from one thread at
// a time; stop() and stats() from any thread (stop() is async-signal-safe).
class KinesisForwarder {
 public:
  struct Options {
    EventStore* store = nullptr;             // REQUIRED; outlives the forwarder
    KinesisEndpoint kinesis;                 // REQUIRED: stream
    CheckpointStore* checkpoints = nullptr;  // REQUIRED; outlives the forwarder
    std::string name = "kinesis-forwarder";  // the checkpoint's name
    EventFilter filter;                      // which events to publish; default all
    std::size_t batch_size = 500;            // records per PutRecords, 1..500
    // run(): how long one wait for new commits lasts before stop() is checked.
    std::chrono::milliseconds poll_interval{200};
    // run(): after a failed pass that may heal (io_error, timeout: Kinesis or
    // the store unreachable, throttled) wait this long and try again; other
    // errors (stream not found, access denied, corruption) end run().
    std::chrono::milliseconds retry_after{1000};
    // Attempts of one batch's failed records (partial failures) per pass.
    int max_put_attempts = 10;
    std::chrono::milliseconds put_retry_base_delay{50};
    std::chrono::milliseconds put_retry_max_delay{2000};
    // Called after every pass of run() with the events it forwarded (maybe
    // 0) and the stats; on the run() thread.
    std::function<void(std::uint64_t forwarded, const KinesisForwarderStats&)> on_pass;
  };

  // invalid_argument for missing or bad options or credentials.
  static Result<std::unique_ptr<KinesisForwarder>> open(Options options);
  // With `client` instead of one made from options.kinesis.
  static Result<std::unique_ptr<KinesisForwarder>> open(Options options, std::unique_ptr<KinesisClient> client);
  ~KinesisForwarder();
  KinesisForwarder(const KinesisForwarder&) = delete;
  KinesisForwarder& operator=(const KinesisForwarder&) = delete;

  // One pass: publishes everything committed after the checkpoint, batch by
  // batch, saving the checkpoint after each. Returns the events forwarded;
  // on error the checkpoint is that of the last complete batch.
  Result<std::uint64_t> forward_available();

  // forward_available() then follows live commits until stop(); returns ok
  // after stop(), or the error that ended it (see retry_after).
  Status run();
  void stop();

  KinesisForwarderStats stats() const;

 private:
  struct Impl;
  explicit KinesisForwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- consumer -------------------------------------------------------------

// Where a consumer keeps its read model and its progress. Implementations make
// apply() atomic: the read-model updates and the new applied revision commit
// together (SqlKinesisConsumerSink), so each event changes the read model
// exactly once whatever the consumer saw twice.
class KinesisConsumerSink {
 public:
  virtual ~KinesisConsumerSink() = default;
  // The last revision of `stream` applied (durable); nullopt when none.
  virtual Result<std::optional<StreamRevision>> applied_revision(std::string_view stream) = 0;
  // Applies `events` of `stream` — those of revisions applied_revision + 1 ..
  // last_revision that pass the consumer's filter, in revision order, maybe
  // none — and records last_revision as applied, atomically.
  virtual Status apply(std::string_view stream, std::span<const RecordedEvent> events,
                       StreamRevision last_revision) = 0;
  // The sequence number of the last record of `shard` whose event is
  // applied; nullopt when none.
  virtual Result<std::optional<std::string>> shard_checkpoint(std::string_view shard) = 0;
  virtual Status save_shard_checkpoint(std::string_view shard, std::string_view sequence_number) = 0;
};

struct KinesisConsumerStats {
  std::uint64_t records_read = 0;     // Kinesis records decoded
  std::uint64_t events_applied = 0;   // passed to the sink (filtered ones not counted)
  std::uint64_t events_filtered = 0;  // skipped by the filter (their revisions still advance)
  std::uint64_t duplicates_skipped = 0;
  std::uint64_t gaps = 0;               // gaps found
  std::uint64_t events_backfilled = 0;  // read from the event store to fill gaps
  std::uint64_t get_records_requests = 0;
  std::uint64_t iterators_renewed = 0;  // after ExpiredIteratorException
};

// Reads every shard of the Kinesis stream (GetShardIterator + GetRecords),
// applies the events to a sink with per-stream revision dedupe and gap
// backfill (see the top of this file), and saves each shard's checkpoint
// after the records up to it are applied. A restart resumes AFTER_SEQUENCE_
// NUMBER of each shard's checkpoint (TRIM_HORIZON when none): what was read
// but not checkpointed is read again and skipped as duplicates.
//
// Events a gap needs come from `store` (backfill and replay read the event
// store directly); without a store a gap fails with corruption. A record
// that is not a version-1 event record fails with corruption (nothing
// after it in its shard is applied).
//
// Cross-stream order: events of one stream are applied in revision order;
// events of different streams (different shards) in no particular order.
//
// Thread-safety: catch_up() and run() from one thread at a time; stop() and
// stats() from any thread (stop() is async-signal-safe).
class KinesisConsumer {
 public:
  struct Options {
    KinesisEndpoint kinesis;              // REQUIRED: stream
    KinesisConsumerSink* sink = nullptr;  // REQUIRED; outlives the consumer
    EventStore* store = nullptr;          // for gaps; outlives the consumer
    EventFilter filter;                   // events the sink does not want
    int limit = 1000;                     // records per GetRecords, 1..10000
    // run(): the pause after a round in which no shard had records (Kinesis
    // allows 5 GetRecords per second per shard).
    std::chrono::milliseconds poll_interval{1000};
    // run(): after an io_error or timeout wait this long and resume from the
    // checkpoints; other errors end run().
    std::chrono::milliseconds retry_after{1000};
    // Called after every GetRecords batch was applied (tests stop here).
    std::function<void(std::string_view shard, std::size_t records)> on_batch;
  };

  static Result<std::unique_ptr<KinesisConsumer>> open(Options options);
  static Result<std::unique_ptr<KinesisConsumer>> open(Options options, std::unique_ptr<KinesisClient> client);
  ~KinesisConsumer();
  KinesisConsumer(const KinesisConsumer&) = delete;
  KinesisConsumer& operator=(const KinesisConsumer&) = delete;

  // Reads every shard until it returns no records and MillisBehindLatest is
  // 0 (or stop()). Returns the events applied.
  Result<std::uint64_t> catch_up();

  // Follows every shard until stop(); ok after stop(), else the error that
  // ended it (see retry_after).
  Status run();
  void stop();

  KinesisConsumerStats stats() const;

 private:
  struct Impl;
  explicit KinesisConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The exactly-once sink over SQL tables: in ONE transaction of `session`, the
// projections' apply() for each event they want (their filter()), then the
// stream's row of
//   evsrc_consumer_revisions(consumer, stream, revision) PK (consumer, stream)
// Shard checkpoints are rows of
//   evsrc_consumer_shards(consumer, shard, sequence_number) PK (consumer, shard)
// and the projections' tables are created once per consumer (recorded in
// evsrc_consumer_projections(consumer, projection, version, suffix)).
// Several consumers (names) may share one database.
//
// Thread-safety: as the session (one thread at a time).
class SqlKinesisConsumerSink final : public KinesisConsumerSink {
 public:
  struct Target {
    TableProjection<SqlSession>* projection = nullptr;  // outlives the sink
    std::string table_suffix;                           // e.g. "_v1"
  };
  // Creates the tables above and the targets' tables when new. REQUIRES:
  // `session` outlives the sink.
  static Result<std::unique_ptr<SqlKinesisConsumerSink>> open(SqlSession& session, std::string consumer,
                                                              std::vector<Target> targets);

  Result<std::optional<StreamRevision>> applied_revision(std::string_view stream) override;
  Status apply(std::string_view stream, std::span<const RecordedEvent> events, StreamRevision last_revision) override;
  Result<std::optional<std::string>> shard_checkpoint(std::string_view shard) override;
  Status save_shard_checkpoint(std::string_view shard, std::string_view sequence_number) override;

 private:
  SqlKinesisConsumerSink(SqlSession& session, std::string consumer, std::vector<Target> targets);
  SqlSession& session_;
  const std::string consumer_;
  const std::vector<Target> targets_;
};

}  // namespace evsrc
