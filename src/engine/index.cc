#include "engine/index.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "engine/coding.h"

namespace evsrc {
namespace {

using coding::get_le;
using coding::put_le;

constexpr char kCheckpointKey[] = "c";
// Layout of the index's keys and values. 2: a stream's custom metadata under
// its own "m" key (version 1 kept it in the "s" value). An index of another
// layout is rebuilt from the log on open.
constexpr std::uint32_t kCheckpointVersion = 2;

Status to_status(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status();
  if (status.IsCorruption()) return Status::corruption("index " + std::string(what) + ": " + status.ToString());
  return Status::io_error("index " + std::string(what) + ": " + status.ToString());
}

std::string stream_key(std::string_view name) {
  std::string key("s");
  key.append(name);
  return key;
}

std::string custom_metadata_key(std::string_view name) {
  std::string key("m");
  key.append(name);
  return key;
}

std::string event_key(std::uint64_t stream_id, StreamRevision revision) {
  std::string key("e");
  coding::put_be64(key, stream_id);
  coding::put_be64(key, revision);
  return key;
}

std::string event_id_key(const Uuid& id) {
  std::string key("i");
  key.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
  return key;
}

std::string sparse_key(Position position) {
  std::string key("p");
  coding::put_be64(key, position);
  return key;
}

std::string encode_location(const EventLocation& location) {
  std::string value;
  put_le<std::uint64_t>(value, location.position);
  put_le<std::uint32_t>(value, location.record.segment);
  put_le<std::uint32_t>(value, location.record.offset);
  return value;
}

std::optional<EventLocation> decode_location(std::string_view value) {
  if (value.size() != 16) return std::nullopt;
  return EventLocation{get_le<std::uint64_t>(value.data()),
                       LogLocation{get_le<std::uint32_t>(value.data() + 8), get_le<std::uint32_t>(value.data() + 12)}};
}

std::string encode_stream(const StreamEntry& entry) {
  const StreamState& state = entry.state;
  std::string value;
  put_le<std::uint64_t>(value, entry.id);
  std::uint8_t flags = 0;
  if (state.last_revision) flags |= 1;
  if (state.soft_deleted) flags |= 2;
  if (state.tombstoned) flags |= 4;
  if (state.metadata.max_count) flags |= 8;
  if (state.metadata.max_age) flags |= 16;
  if (state.metadata.truncate_before) flags |= 32;
  coding::put_u8(value, flags);
  put_le<std::uint64_t>(value, state.last_revision.value_or(0));
  put_le<std::uint64_t>(value, state.visible_from);
  put_le<std::uint64_t>(value, state.metadata.max_count.value_or(0));
  put_le<std::int64_t>(value, state.metadata.max_age ? state.metadata.max_age->count() : 0);
  put_le<std::uint64_t>(value, state.metadata.truncate_before.value_or(0));
  return value;
}

Result<StreamEntry> decode_stream(std::string_view value) {
  coding::Reader reader(value);
  StreamEntry entry;
  entry.id = reader.le<std::uint64_t>();
  const auto flags = reader.le<std::uint8_t>();
  const auto last_revision = reader.le<std::uint64_t>();
  entry.state.visible_from = reader.le<std::uint64_t>();
  const auto max_count = reader.le<std::uint64_t>();
  const auto max_age = reader.le<std::int64_t>();
  const auto truncate_before = reader.le<std::uint64_t>();
  if (!reader.ok() || reader.remaining() != 0) return Status::corruption("index stream entry is malformed");
  if (flags & 1) entry.state.last_revision = last_revision;
  entry.state.soft_deleted = (flags & 2) != 0;
  entry.state.tombstoned = (flags & 4) != 0;
  if (flags & 8) entry.state.metadata.max_count = max_count;
  if (flags & 16) entry.state.metadata.max_age = std::chrono::seconds(max_age);
  if (flags & 32) entry.state.metadata.truncate_before = truncate_before;
  return entry;
}

rocksdb::Options make_options(rocksdb::Env* env, std::size_t cache_bytes) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.env = env;
  options.max_background_jobs = 2;
  options.write_buffer_size = 64 << 20;
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

IndexBatch::IndexBatch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
IndexBatch::~IndexBatch() = default;

void IndexBatch::put_stream(std::string_view name, const StreamEntry& entry) {
  (void)batch_->Put(stream_key(name), encode_stream(entry));
}

void IndexBatch::put_custom_metadata(std::string_view name, std::string_view custom) {
  if (custom.empty()) {
    (void)batch_->Delete(custom_metadata_key(name));
  } else {
    (void)batch_->Put(custom_metadata_key(name), rocksdb::Slice(custom.data(), custom.size()));
  }
}

void IndexBatch::put_event_run(std::uint64_t stream_id, const EventRun& run) {
  std::string value = encode_location(run.first);
  put_le<std::uint32_t>(value, run.count);
  (void)batch_->Put(event_key(stream_id, run.first_revision), value);
}

void IndexBatch::put_event_id(const Uuid& id, const EventLocation& location) {
  (void)batch_->Put(event_id_key(id), encode_location(location));
}

void IndexBatch::put_sparse(Position position, const SparseEntry& entry) {
  std::string value;
  put_le<std::uint32_t>(value, entry.group.segment);
  put_le<std::uint32_t>(value, entry.group.offset);
  put_le<std::uint32_t>(value, entry.record.segment);
  put_le<std::uint32_t>(value, entry.record.offset);
  (void)batch_->Put(sparse_key(position), value);
}

void IndexBatch::put_checkpoint(const IndexCheckpoint& checkpoint) {
  std::string value;
  put_le<std::uint32_t>(value, kCheckpointVersion);
  put_le<std::uint64_t>(value, checkpoint.next_position);
  put_le<std::uint32_t>(value, checkpoint.next_group.segment);
  put_le<std::uint32_t>(value, checkpoint.next_group.offset);
  put_le<std::uint64_t>(value, checkpoint.next_stream_id);
  put_le<std::uint64_t>(value, checkpoint.events);
  put_le<std::uint64_t>(value, checkpoint.streams);
  put_le<std::uint64_t>(value, checkpoint.bytes);
  put_le<std::int64_t>(value, checkpoint.last_recorded_at.time_since_epoch().count());
  (void)batch_->Put(kCheckpointKey, value);
}

void IndexBatch::clear() { batch_->Clear(); }
std::size_t IndexBatch::count() const { return static_cast<std::size_t>(batch_->Count()); }

Result<std::unique_ptr<Index>> Index::open(const std::string& path, bool in_memory, std::size_t cache_bytes) {
  std::unique_ptr<Index> index(new Index());
  rocksdb::Env* env = rocksdb::Env::Default();
  if (in_memory) {
    index->memory_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    env = index->memory_env_.get();
  }
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(make_options(env, cache_bytes), path, &db);
  if (!status.ok()) return to_status(status, "open");
  index->db_.reset(db);
  return index;
}

Status Index::destroy(const std::string& path, bool in_memory) {
  if (in_memory) return Status();  // a fresh memory env starts empty
  // DestroyDB removes the files RocksDB recognises; a damaged CURRENT or
  // MANIFEST can leave others behind, so the directory goes as a whole.
  (void)rocksdb::DestroyDB(path, rocksdb::Options());
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) return Status::io_error("index destroy: cannot remove " + path + ": " + error.message());
  return Status();
}

Status Index::check(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return Status::corruption("index " + path + " is missing");
  rocksdb::Options options = make_options(rocksdb::Env::Default(), 1 << 20);
  options.create_if_missing = false;
  options.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::OpenForReadOnly(options, path, &raw);
  if (!status.ok()) return to_status(status, "open " + path);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  status = db->Get(rocksdb::ReadOptions(), kCheckpointKey, &value);
  if (!status.ok() && !status.IsNotFound()) return to_status(status, "read checkpoint in " + path);
  status = db->VerifyChecksum();
  Status result = to_status(status, "verify checksums in " + path);
  (void)db->Close();
  return result;
}

Status Index::verify_checksums() { return to_status(db_->VerifyChecksum(), "verify checksums"); }

Index::~Index() {
  if (db_) (void)db_->Close();
}

Status Index::write(IndexBatch& batch) {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  return to_status(db_->Write(options, batch.batch_.get()), "write");
}

Status Index::flush() { return to_status(db_->Flush(rocksdb::FlushOptions()), "flush"); }

Result<std::optional<IndexCheckpoint>> Index::checkpoint() {
  std::string value;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), kCheckpointKey, &value);
  if (status.IsNotFound()) return std::optional<IndexCheckpoint>();
  if (!status.ok()) return to_status(status, "read checkpoint");
  coding::Reader reader(value);
  if (const auto version = reader.le<std::uint32_t>(); version != kCheckpointVersion) {
    // Not damage: an index of another layout (invalid_argument tells them apart).
    return Status::invalid_argument("index layout version " + std::to_string(version) + " is not this build's " +
                                    std::to_string(kCheckpointVersion));
  }
  IndexCheckpoint checkpoint;
  checkpoint.next_position = reader.le<std::uint64_t>();
  checkpoint.next_group.segment = reader.le<std::uint32_t>();
  checkpoint.next_group.offset = reader.le<std::uint32_t>();
  checkpoint.next_stream_id = reader.le<std::uint64_t>();
  checkpoint.events = reader.le<std::uint64_t>();
  checkpoint.streams = reader.le<std::uint64_t>();
  checkpoint.bytes = reader.le<std::uint64_t>();
  checkpoint.last_recorded_at = Timestamp(std::chrono::microseconds(reader.le<std::int64_t>()));
  if (!reader.ok()) return Status::corruption("index checkpoint is malformed");
  return std::optional<IndexCheckpoint>(checkpoint);
}

Result<std::optional<StreamEntry>> Index::stream(std::string_view name) {
  std::string value;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), stream_key(name), &value);
  if (status.IsNotFound()) return std::optional<StreamEntry>();
  if (!status.ok()) return to_status(status, "read stream");
  auto entry = decode_stream(value);
  if (!entry.ok()) return entry.status();
  return std::optional<StreamEntry>(std::move(*entry));
}

Result<std::optional<StreamEntry>> Index::stream_with_custom_metadata(std::string_view name) {
  // One snapshot for both keys: a metadata write between the two reads
  // would otherwise mix its limits with the custom JSON of another write.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  std::string value;
  std::string custom;
  const rocksdb::Status found = db_->Get(options, stream_key(name), &value);
  const rocksdb::Status custom_found =
      found.ok() ? db_->Get(options, custom_metadata_key(name), &custom) : rocksdb::Status::NotFound();
  db_->ReleaseSnapshot(snapshot);
  if (found.IsNotFound()) return std::optional<StreamEntry>();
  if (!found.ok()) return to_status(found, "read stream");
  if (!custom_found.ok() && !custom_found.IsNotFound()) return to_status(custom_found, "read stream metadata");
  auto entry = decode_stream(value);
  if (!entry.ok()) return entry.status();
  if (custom_found.ok()) entry->state.metadata.custom = std::move(custom);
  return std::optional<StreamEntry>(std::move(*entry));
}

Result<std::string> Index::custom_metadata(std::string_view name) {
  std::string value;
  const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), custom_metadata_key(name), &value);
  if (status.IsNotFound()) return std::string();
  if (!status.ok()) return to_status(status, "read stream metadata");
  return value;
}

namespace {

Result<std::optional<EventLocation>> get_location(rocksdb::DB& db, const std::string& key) {
  std::string value;
  const rocksdb::Status status = db.Get(rocksdb::ReadOptions(), key, &value);
  if (status.IsNotFound()) return std::optional<EventLocation>();
  if (!status.ok()) return to_status(status, "read event");
  auto location = decode_location(value);
  if (!location) return Status::corruption("index event entry is malformed");
  return location;
}

}  // namespace

Result<std::optional<EventLocation>> Index::event_id(const Uuid& id) { return get_location(*db_, event_id_key(id)); }

Result<std::optional<std::pair<Position, SparseEntry>>> Index::sparse_floor(Position position) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(sparse_key(position));
  if (!it->status().ok()) return to_status(it->status(), "seek");
  if (!it->Valid() || it->key().size() != 9 || it->key()[0] != 'p') {
    return std::optional<std::pair<Position, SparseEntry>>();
  }
  const rocksdb::Slice value = it->value();
  if (value.size() != 16) return Status::corruption("index sparse entry is malformed");
  SparseEntry entry{LogLocation{get_le<std::uint32_t>(value.data()), get_le<std::uint32_t>(value.data() + 4)},
                    LogLocation{get_le<std::uint32_t>(value.data() + 8), get_le<std::uint32_t>(value.data() + 12)}};
  return std::optional<std::pair<Position, SparseEntry>>(std::make_pair(coding::get_be64(it->key().data() + 1), entry));
}

Status Index::scan_stream(std::uint64_t stream_id, StreamRevision from, StreamRevision to, Direction direction,
                          const std::function<bool(const EventRun&)>& visit) {
  const std::string lower = event_key(stream_id, 0);
  const std::string upper = event_key(stream_id + 1, 0);
  rocksdb::Slice lower_slice(lower);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_lower_bound = &lower_slice;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  // The run holding `from` starts at or before it.
  it->SeekForPrev(event_key(stream_id, from));
  if (!it->Valid() && it->status().ok() && direction == Direction::forward) it->Seek(lower);
  for (; it->Valid(); direction == Direction::forward ? it->Next() : it->Prev()) {
    const rocksdb::Slice value = it->value();
    if (it->key().size() != 17 || value.size() != 20) return Status::corruption("index event run is malformed");
    EventRun run;
    run.first_revision = coding::get_be64(it->key().data() + 9);
    run.first = *decode_location(std::string_view(value.data(), 16));
    run.count = get_le<std::uint32_t>(value.data() + 16);
    if (direction == Direction::forward ? run.first_revision > to : run.first_revision + run.count <= to) break;
    if (!visit(run)) break;
  }
  return to_status(it->status(), "scan stream");
}

Status Index::scan_streams(std::string_view prefix, std::string_view after,
                           const std::function<bool(std::string_view, const StreamEntry&)>& visit) {
  const std::string start = stream_key(after.empty() || after < prefix ? prefix : after);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.empty() || key[0] != 's') break;
    const std::string_view name = key.substr(1);
    if (!name.starts_with(prefix)) break;
    if (!after.empty() && name <= after) continue;
    auto entry = decode_stream(std::string_view(it->value().data(), it->value().size()));
    if (!entry.ok()) return entry.status();
    if (!visit(name, *entry)) break;
  }
  return to_status(it->status(), "list streams");
}

}  // namespace evsrc
