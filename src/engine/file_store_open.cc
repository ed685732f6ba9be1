// Opening the embedded engine: recovery of the log's tail and of the index
// (see file_store_impl.h and docs/storage-format.md "Recovery").
//
// Pass 1 reads the log from the index checkpoint (or from the beginning when
// StoreOptions::verify_all_on_open) to its end, verifying every record, and
// decides what a damaged spot means: in the last group of the log it is a
// torn write (cut it: it was never acknowledged); anywhere else it is
// corruption (refuse to open). Pass 2 applies the records after the index
// checkpoint to the index.
#include <algorithm>
#include <cstdio>

#include "engine/coding.h"
#include "engine/file_store_impl.h"

namespace evsrc {
namespace {

constexpr std::size_t kScanChunk = 1 << 20;
// Records are applied to the index in batches of about this many entries,
// always cut at a group boundary.
constexpr std::size_t kReplayBatchEntries = 200'000;

struct TailScan {
  bool group_found = false;  // a valid group header exists after the spot
  std::uint64_t found_at = 0;
  std::uint64_t nonzero_end = 0;  // end of the non-zero bytes after the spot
};

// Looks for a valid group header in `segment` at or after `headers_from`,
// tracking non-zero bytes from `from`, until a run of
// `zero_run` zero bytes (the preallocated, never written part) or the end.
Result<TailScan> scan_after(const Segment& segment, std::uint64_t from, std::uint64_t headers_from,
                            std::uint64_t zero_run) {
  TailScan scan;
  scan.nonzero_end = from;
  std::string chunk;
  const std::uint64_t capacity = segment.header.capacity;
  for (std::uint64_t offset = from; offset < capacity;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(kScanChunk + log::kGroupHeaderSize, capacity - offset));
    chunk.resize(want);
    std::size_t read = 0;
    if (Status status = segment.file->read_at(offset, want, chunk.data(), &read); !status.ok()) return status;
    chunk.resize(read);
    if (read == 0) break;
    const std::size_t step = std::min<std::size_t>(read, kScanChunk);
    for (std::size_t i = 0; i < step; ++i) {
      if (chunk[i] == 0) continue;
      scan.nonzero_end = offset + i + 1;
      if (i + 4 <= read && coding::get_le<std::uint32_t>(chunk.data() + i) == log::kGroupMagic &&
          offset + i >= headers_from && log::decode_group_header(std::string_view(chunk).substr(i))) {
        scan.group_found = true;
        scan.found_at = offset + i;
        return scan;
      }
    }
    offset += step;
    if (offset - scan.nonzero_end >= zero_run) break;
  }
  return scan;
}

}  // namespace

Result<std::unique_ptr<EventStore>> FileStore::open(const std::string& directory, const StoreOptions& options) {
  Env* env = options.env != nullptr ? options.env : Env::posix();
  if (options.segment_bytes < (64u << 10) || options.segment_bytes > UINT32_MAX) {
    return Status::invalid_argument("segment_bytes must be between 64 KiB and 4 GiB");
  }
  if (options.limits.max_event_bytes + 2048 > log::kMaxRecordBody) {
    return Status::invalid_argument("limits.max_event_bytes must be at most " +
                                    std::to_string(log::kMaxRecordBody - 2048) + " bytes");
  }
  if (Status status = env->create_dirs(directory + "/log"); !status.ok()) return status;
  auto lock = env->lock_file(directory + "/LOCK");
  if (!lock.ok()) return lock.status();
  std::unique_ptr<FileStore> store(new FileStore(directory, options, env));
  store->lock_ = std::move(*lock);
  if (Status status = store->recover(); !status.ok()) {
    store->closed_.store(true);
    store->index_.reset();
    return status;
  }
  if (options.mmap_reads) store->segments_.map_for_readers();
  store->start_threads();
  return std::unique_ptr<EventStore>(std::move(store));
}

Status FileStore::recover() {
  if (Status status = segments_.load(); !status.ok()) return status;
  const std::string index_path = directory_ + "/index";
  const std::string snapshots_path = directory_ + "/snapshots";
  if (segments_.snapshot()->empty()) {
    // A new store (or a log that never got its first segment): any index
    // left behind cannot describe it.
    if (Status status = Index::destroy(index_path, env_->in_memory()); !status.ok()) return status;
    if (Status status = SnapshotDb::destroy(snapshots_path, env_->in_memory()); !status.ok()) return status;
    auto segment = segments_.create(0, 0, options_.segment_bytes);
    if (!segment.ok()) return segment.status();
  }
  // The entry of log/ in the store's directory, so that synced segments
  // cannot vanish with their directory — on every open, not only the first:
  // a crash between creating the first segment and this sync would otherwise
  // leave it unsynced for good. (The store directory's own entry is its
  // creator's business: the parent may not be ours to open.)
  if (Status status = env_->sync_dir(directory_); !status.ok()) return status;
  auto snapshots = SnapshotDb::open(snapshots_path, env_->in_memory());
  if (!snapshots.ok()) return snapshots.status();
  snapshots_ = std::move(*snapshots);
  auto checkpoint = open_index();
  if (!checkpoint.ok()) return checkpoint.status();
  IndexCheckpoint start;
  start.next_group = LogLocation{0, static_cast<std::uint32_t>(log::kSegmentHeaderSize)};
  const IndexCheckpoint fresh = start;
  if (*checkpoint) start = **checkpoint;
  Status status = replay_log(start, options_.verify_all_on_open);
  if (status.code() == ErrorCode::not_found) {
    // The index does not match the log (it is ahead of it, or points where no
    // group starts): rebuild it from the log.
    index_.reset();
    if (Status destroyed = Index::destroy(index_path, env_->in_memory()); !destroyed.ok()) return destroyed;
    auto rebuilt = Index::open(index_path, env_->in_memory(), options_.index_cache_bytes);
    if (!rebuilt.ok()) return rebuilt.status();
    index_ = std::move(*rebuilt);
    streams_.clear();
    stream_cache_bytes_ = 0;
    status = replay_log(fresh, true);
    if (status.code() == ErrorCode::not_found) return Status::corruption("log does not start at position 0");
  }
  return status;
}

Result<std::optional<IndexCheckpoint>> FileStore::open_index() {
  const std::string index_path = directory_ + "/index";
  Status damage;
  auto index = Index::open(index_path, env_->in_memory(), options_.index_cache_bytes);
  if (index.ok()) {
    index_ = std::move(*index);
    auto checkpoint = index_->checkpoint();
    if (checkpoint.ok() && options_.verify_all_on_open) damage = index_->verify_checksums();
    if (!checkpoint.ok()) damage = checkpoint.status();
    if (damage.ok()) return checkpoint;
  } else {
    damage = index.status();
  }
  // The log is the truth and the index is derived from it: a damaged index
  // is never trusted, it is rebuilt.
  const char* why = damage.code() == ErrorCode::invalid_argument ? "has another layout" : "is damaged";
  std::fprintf(stderr, "evsrc: warning: the index %s %s (%s); rebuilding it from the log\n", index_path.c_str(), why,
               damage.message().c_str());
  index_.reset();
  if (Status status = Index::destroy(index_path, env_->in_memory()); !status.ok()) return status;
  auto rebuilt = Index::open(index_path, env_->in_memory(), options_.index_cache_bytes);
  if (!rebuilt.ok()) return rebuilt.status();
  index_ = std::move(*rebuilt);
  return std::optional<IndexCheckpoint>();
}

// Returns not_found when `start` (the index checkpoint) does not match the log.
Status FileStore::replay_log(const IndexCheckpoint& start, bool verify_all) {
  const auto segments = segments_.snapshot();
  const std::uint64_t zero_run = std::max<std::uint64_t>(2u << 20, 2 * options_.limits.max_event_bytes + 4096);
  if (start.next_group.segment >= segments->size()) return Status::not_found("checkpoint beyond the log");

  // Pass 1: verify and find the end of the log.
  const bool from_beginning = verify_all || start.next_position == 0;
  LogCursor scan =
      from_beginning
          ? LogCursor(segments, LogLocation{0, static_cast<std::uint32_t>(log::kSegmentHeaderSize)}, 0, UINT64_MAX)
          : LogCursor(segments, start.next_group, start.next_position, UINT64_MAX);
  bool checkpoint_seen =
      start.next_position == 0 && start.next_group.segment == 0 && start.next_group.offset == log::kSegmentHeaderSize;
  log::LogRecord record;
  Status damage;
  std::optional<GroupSpan> last_group;  // the last whole group read
  while (true) {
    if (scan.between_groups() && scan.position() == start.next_position &&
        scan.next_group_location() == start.next_group) {
      checkpoint_seen = true;
    }
    auto more = scan.next(&record);
    if (!more.ok()) {
      damage = more.status();
      break;
    }
    if (!*more) break;
    if (scan.between_groups()) last_group = GroupSpan{scan.group_location(), scan.next_group_location().offset};
  }
  if (damage.ok() && scan.position() == start.next_position && scan.next_group_location() == start.next_group) {
    checkpoint_seen = true;  // the log ends exactly at the checkpoint
  }
  const LogLocation damaged_group = scan.between_groups() ? scan.next_group_location() : scan.group_location();
  const bool at_checkpoint_start = !from_beginning && scan.position() == start.next_position && scan.between_groups();
  if (damage.code() == ErrorCode::io_error) return damage;
  // Where the readable log ends, and whether anything valid lies beyond it.
  const std::uint32_t last = static_cast<std::uint32_t>(segments->size() - 1);
  const LogLocation end = damage.ok() ? scan.next_group_location() : damaged_group;
  if (end.segment != last) {
    if (!damage.ok()) return damage;  // damage in a sealed segment
  }
  // A group header inside the damaged group's own records (event data can
  // hold any bytes) proves nothing: look for headers after its claimed end.
  const std::uint64_t headers_from = damage.ok() || scan.between_groups() ? end.offset + 1 : scan.group_end();
  auto tail = scan_after(*(*segments)[end.segment], end.offset, headers_from, zero_run);
  if (!tail.ok()) return tail.status();
  if (tail->group_found) {
    if (!damage.ok()) return damage;
    return Status::corruption("log is damaged in " + (*segments)[end.segment]->path + " at offset " +
                              std::to_string(end.offset) + ": valid data follows at offset " +
                              std::to_string(tail->found_at));
  }
  if (!damage.ok() && at_checkpoint_start && start.next_position > 0) {
    return Status::not_found("index checkpoint does not point at a group");
  }
  // Everything before `target` is whole; a damaged group is cut as a whole.
  const Position target = damage.ok() || scan.between_groups() ? scan.position() : scan.group_first_position();
  const bool torn = !damage.ok() || tail->nonzero_end > end.offset;
  if (torn && options_.sync && start.next_position > target) {
    // The index was written only after the damaged group was synced: the
    // group was acknowledged, so this is not a torn write.
    if (!damage.ok()) return damage;
    return Status::corruption("log is damaged in " + (*segments)[end.segment]->path + " at offset " +
                              std::to_string(end.offset) + " before position " + std::to_string(start.next_position) +
                              ", which the index says was committed");
  }
  if (!checkpoint_seen || start.next_position > target) return Status::not_found("index ahead of the log");
  if (tail->nonzero_end > end.offset) {
    // A torn last group: never acknowledged, so cut it.
    if (Status status = cut_torn_tail(end.segment, end.offset, tail->nonzero_end); !status.ok()) return status;
  }
  if (Status status = resync_tail(start, last_group); !status.ok()) return status;

  // Pass 2: apply what the index has not seen.
  totals_ = start;
  LogCursor apply_cursor(segments, start.next_group, start.next_position, target);
  group_ids_.clear();
  while (true) {
    auto more = apply_cursor.next(&record);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (Status status =
            apply(record, apply_cursor.group_location(), apply_cursor.record_location(), apply_cursor.record_size());
        !status.ok()) {
      return status;
    }
    if (apply_cursor.between_groups()) {
      totals_.next_group = apply_cursor.next_group_location();
      if (batch_.count() >= kReplayBatchEntries) {
        group_ids_.clear();
        if (Status status = finish_batch(); !status.ok()) return status;
      }
    }
  }
  group_ids_.clear();
  totals_.next_group = end;
  if (Status status = finish_batch(); !status.ok()) return status;
  // The open group starts where the log ends.
  group_location_ = totals_.next_group;
  group_first_position_ = totals_.next_position;
  group_records_ = 0;
  committed_end_.store(totals_.next_position, std::memory_order_release);
  published_totals_ = totals_;
  return Status();
}

namespace {

// True when `bytes` is exactly one whole group: its header and every record
// checksum match.
bool is_whole_group(std::string_view bytes) {
  const std::optional<log::GroupHeader> header = log::decode_group_header(bytes);
  if (!header || bytes.size() != log::kGroupHeaderSize + header->record_bytes) return false;
  std::string_view records = bytes.substr(log::kGroupHeaderSize);
  log::LogRecord record;
  for (std::uint32_t i = 0; i < header->record_count; ++i) {
    const std::optional<std::size_t> size = log::framed_record_size(records);
    if (!size || *size > records.size() || !log::decode_record(records.substr(0, *size), &record).ok()) return false;
    records.remove_prefix(*size);
  }
  return records.empty();
}

// Writes bytes [offset, end) of `file` again, as they read back now, and
// syncs them — only after checking them again (`is_valid`): pages that a
// failed sync left clean may be evicted between pass 1 and here, and then
// read back as the disk's old bytes, which must never be made durable.
Status rewrite_and_sync(File& file, const std::string& path, std::uint64_t offset, std::uint64_t end,
                        bool (*is_valid)(std::string_view)) {
  std::string bytes(static_cast<std::size_t>(end - offset), '\0');
  std::size_t read = 0;
  if (Status status = file.read_at(offset, bytes.size(), bytes.data(), &read); !status.ok()) return status;
  if (read != bytes.size() || !is_valid(bytes)) {
    return Status::io_error("recovery: " + path + " at offset " + std::to_string(offset) +
                            " reads back differently from a moment ago (data lost after a failed sync?); "
                            "reopen the store: the damaged last group will be cut");
  }
  if (Status status = file.write_at(offset, bytes); !status.ok()) return status;
  return file.sync();
}

bool is_segment_header(std::string_view bytes) { return log::decode_segment_header(bytes).ok(); }

bool before(const LogLocation& a, const LogLocation& b) {
  return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
}

}  // namespace

Status FileStore::resync_tail(const IndexCheckpoint& start, const std::optional<GroupSpan>& last_group) {
  // Also with options_.sync off: a group past the checkpoint applied now
  // would be before the next checkpoint, and no later open would look at it.
  const auto segments = segments_.snapshot();
  const std::uint32_t last = static_cast<std::uint32_t>(segments->size() - 1);
  bool rewrote = false;
  // A segment created after the checkpoint may be the one whose header sync
  // failed (the store stops at once, so it is the last segment).
  if (start.next_position == 0 || last > start.next_group.segment) {
    const auto& segment = (*segments)[last];
    if (Status status = rewrite_and_sync(*segment->file, segment->path, 0, log::kSegmentHeaderSize, is_segment_header);
        !status.ok()) {
      return status;
    }
    rewrote = true;
  }
  // Groups before the checkpoint were synced successfully (the index is
  // written only then); a failed one can only be the last group.
  if (last_group && !before(last_group->start, start.next_group)) {
    const auto& segment = (*segments)[last_group->start.segment];
    if (Status status =
            rewrite_and_sync(*segment->file, segment->path, last_group->start.offset, last_group->end, is_whole_group);
        !status.ok()) {
      return status;
    }
    rewrote = true;
  }
  if (rewrote) return env_->sync_dir(segments_.directory());
  return Status();
}

Status FileStore::cut_torn_tail(std::uint32_t segment_index, std::uint64_t offset, std::uint64_t nonzero_end) {
  const auto segments = segments_.snapshot();
  File& file = *(*segments)[segment_index]->file;
  const std::string zeros(static_cast<std::size_t>(nonzero_end - offset), '\0');
  if (Status status = file.write_at(offset, zeros); !status.ok()) return status;
  return file.sync();
}

}  // namespace evsrc
