#include "kinesis/kinesis_test_helpers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "aws/aws_test_env.h"
#include "directory/commands.h"
#include "directory/projections.h"

namespace evsrc::kinesis_test {

KinesisEndpoint fresh_stream(const std::string& base, int shards) {
  KinesisEndpoint endpoint;
  endpoint.url = testing::kinesis_test_endpoint();
  endpoint.stream = testing::fresh_kinesis_stream_name(base);
  Status created = create_kinesis_stream(endpoint, shards);
  if (!created.ok()) throw std::runtime_error("create_kinesis_stream: " + created.to_string());
  return endpoint;
}

std::unique_ptr<KinesisClient> client_for(const KinesisEndpoint& endpoint) {
  auto client = make_kinesis_client(endpoint);
  if (!client.ok()) throw std::runtime_error("make_kinesis_client: " + client.status().to_string());
  return std::move(*client);
}

std::map<std::string, std::vector<RecordedEvent>> read_every_shard(const KinesisEndpoint& endpoint) {
  auto client = client_for(endpoint);
  auto shards = client->list_shards(endpoint.stream);
  if (!shards.ok()) throw std::runtime_error("list_shards: " + shards.status().to_string());
  std::map<std::string, std::vector<RecordedEvent>> result;
  for (const std::string& shard : *shards) {
    auto iterator = client->get_shard_iterator(endpoint.stream, shard, std::nullopt);
    if (!iterator.ok()) throw std::runtime_error("get_shard_iterator: " + iterator.status().to_string());
    std::optional<std::string> next = *iterator;
    auto& events = result[shard];
    while (next) {
      auto output = client->get_records(*next, 10000);
      if (!output.ok()) throw std::runtime_error("get_records: " + output.status().to_string());
      if (output->records.empty()) break;
      for (const KinesisRecord& record : output->records) {
        auto event = decode_kinesis_event(record.data);
        if (!event.ok()) throw std::runtime_error("decode: " + event.status().to_string());
        EXPECT_EQ(record.partition_key, event->stream);
        events.push_back(std::move(*event));
      }
      next = output->next_iterator;
    }
  }
  return result;
}

void write_directory_events(EventStore& store, int users) {
  directory::DirectoryService service(store, "tester");
  auto check = [](const auto& result, const char* what) {
    if (!result.ok()) throw std::runtime_error(std::string(what) + ": " + result.status().to_string());
  };
  check(service.create_group("admins", "Admins"), "create_group");
  for (int i = 0; i < users; ++i) {
    const std::string id = "u" + std::to_string(i);
    check(service.create_user({id, "User " + std::to_string(i), "user" + std::to_string(i),
                               "user" + std::to_string(i) + "@example.com"}),
          "create_user");
    check(service.set_name(id, "Renamed " + std::to_string(i)), "set_name");
    if (i % 3 == 0) check(service.add_member("admins", id), "add_member");
    if (i % 5 == 0) check(service.set_email(id, "new" + std::to_string(i) + "@Example.ORG"), "set_email");
  }
  if (users > 1) check(service.delete_user("u1"), "delete_user");
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("evsrc-kinesis-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

DirectoryReadModel::DirectoryReadModel(const std::filesystem::path& file, const std::string& consumer) {
  auto db = SqliteDatabase::open(file.string());
  if (!db.ok()) throw std::runtime_error("sqlite open: " + db.status().to_string());
  session_ = std::make_unique<SqliteSqlSession>(std::move(*db));
  std::vector<SqlKinesisConsumerSink::Target> targets;
  for (std::string_view name : directory::kDirectoryProjections) {
    projections_.push_back(directory::make_portable_directory_projection(name, 1));
    targets.push_back({projections_.back().get(), "_v1"});
  }
  auto sink = SqlKinesisConsumerSink::open(*session_, consumer, std::move(targets));
  if (!sink.ok()) throw std::runtime_error("sink open: " + sink.status().to_string());
  sink_ = std::move(*sink);
}

DirectoryReadModel::~DirectoryReadModel() = default;

std::string DirectoryReadModel::dump() { return dump_directory_tables(*session_, "_v1"); }

std::string dump_directory_tables(SqlSession& session, std::string_view suffix) {
  std::string out;
  for (std::string_view name : directory::kDirectoryProjections) {
    for (const std::string& table : directory::directory_tables(name, suffix)) {
      auto rows = session.query("SELECT * FROM " + table);
      if (!rows.ok()) throw std::runtime_error("dump: " + rows.status().to_string());
      std::vector<std::string> lines;
      for (const auto& row : rows->rows) {
        std::string line = table + ":";
        for (const auto& value : row) line += " " + value.value_or("NULL");
        lines.push_back(line);
      }
      std::sort(lines.begin(), lines.end());
      for (const std::string& line : lines) out += line + "\n";
    }
  }
  return out;
}

namespace {

void replay_into(EventStore& store, SqlKinesisConsumerSink& sink) {
  AllReadOptions read;
  for (;;) {
    auto page = store.read_all(read);
    if (!page.ok()) throw std::runtime_error("read_all: " + page.status().to_string());
    for (const RecordedEvent& event : page->events) {
      Status applied = sink.apply(event.stream, std::span<const RecordedEvent>(&event, 1), event.revision);
      if (!applied.ok()) throw std::runtime_error("replay apply: " + applied.to_string());
    }
    if (!page->next) break;
    read.from = page->next;
  }
}

}  // namespace

std::string replay_dump(EventStore& store, const std::filesystem::path& file) {
  DirectoryReadModel model(file, "replay");
  replay_into(store, model.sink());
  return model.dump();
}

std::string replay_directory_tables(EventStore& store, SqlSession& session, std::string_view suffix) {
  std::vector<std::unique_ptr<TableProjection<SqlSession>>> projections;
  std::vector<SqlKinesisConsumerSink::Target> targets;
  for (std::string_view name : directory::kDirectoryProjections) {
    projections.push_back(directory::make_portable_directory_projection(name, 1));
    targets.push_back({projections.back().get(), std::string(suffix)});
  }
  auto sink = SqlKinesisConsumerSink::open(session, "replay", std::move(targets));
  if (!sink.ok()) throw std::runtime_error("sink open: " + sink.status().to_string());
  replay_into(store, **sink);
  return dump_directory_tables(session, suffix);
}

}  // namespace evsrc::kinesis_test
