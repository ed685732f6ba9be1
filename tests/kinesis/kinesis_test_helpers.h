// Helpers of the Kinesis tests: a store with directory events, a Kinesis
// stream of its own in the local kinesalite, the records of every shard, and
// read models dumped as text to compare a consumer's with a replay's.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/kinesis.h"
#include "evsrc/sqlite_read_model.h"
#include "kinesis/kinesis_client.h"

namespace evsrc::kinesis_test {

// A fresh stream with `shards` shards in the test kinesalite.
KinesisEndpoint fresh_stream(const std::string& base, int shards);

std::unique_ptr<KinesisClient> client_for(const KinesisEndpoint& endpoint);

// Every record of every shard, decoded, per shard in shard order.
std::map<std::string, std::vector<RecordedEvent>> read_every_shard(const KinesisEndpoint& endpoint);

// Writes directory traffic (users, renames, groups, members) to `store`.
void write_directory_events(EventStore& store, int users);

// A temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A SQLite database with the three directory projections (suffix "_v1") fed
// through a SqlKinesisConsumerSink named `consumer`.
class DirectoryReadModel {
 public:
  DirectoryReadModel(const std::filesystem::path& file, const std::string& consumer);
  ~DirectoryReadModel();
  SqlKinesisConsumerSink& sink() { return *sink_; }
  // Every row of the projections' tables, as text, sorted.
  std::string dump();

 private:
  std::unique_ptr<SqliteSqlSession> session_;
  std::vector<std::unique_ptr<TableProjection<SqlSession>>> projections_;
  std::unique_ptr<SqlKinesisConsumerSink> sink_;
};

// The read model a replay of the store gives: every event of $all applied
// through the sink directly (no Kinesis).
std::string replay_dump(EventStore& store, const std::filesystem::path& file);

// Every row of the tables of the directory projections' build `suffix` in
// `session` (SQLite or PostgreSQL), as text, sorted: "<table>: <col> ...".
std::string dump_directory_tables(SqlSession& session, std::string_view suffix);

// As replay_dump, into the tables of build `suffix` in `session` (which must
// not hold them yet), through a sink named "replay"; returns their dump.
std::string replay_directory_tables(EventStore& store, SqlSession& session, std::string_view suffix);

// A client that forwards to `inner` but lets a test change PutRecords.
class WrappedClient : public KinesisClient {
 public:
  explicit WrappedClient(std::unique_ptr<KinesisClient> inner) : inner_(std::move(inner)) {}
  Status create_stream(std::string_view stream, int shard_count) override {
    return inner_->create_stream(stream, shard_count);
  }
  Result<std::string> stream_status(std::string_view stream) override { return inner_->stream_status(stream); }
  Result<std::vector<std::string>> list_shards(std::string_view stream) override { return inner_->list_shards(stream); }
  Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                     std::span<const KinesisPutEntry> entries) override {
    return inner_->put_records(stream, entries);
  }
  Result<std::string> get_shard_iterator(std::string_view stream, std::string_view shard,
                                         const std::optional<std::string>& after) override {
    return inner_->get_shard_iterator(stream, shard, after);
  }
  Result<KinesisGetRecordsOutput> get_records(std::string_view iterator, int limit) override {
    return inner_->get_records(iterator, limit);
  }

 protected:
  std::unique_ptr<KinesisClient> inner_;
};

}  // namespace evsrc::kinesis_test
