// The embedded engine's borrowing reads (event_cursor.h): cursors whose
// events are views of the log bytes they read, and the page reads built on
// them. Checksums are verified as each record is reached; nothing past the
// committed end seen at opening is ever read.
#include <algorithm>

#include "core/read_paging.h"
#include "engine/file_store_impl.h"

namespace evsrc {
namespace {

EventView view_of(const log::LogRecord& record) {
  return EventView{record.stream, record.revision, record.position, record.recorded_at, record.id,
                   record.type,   record.data,     record.metadata, record.content_type};
}

Status store_closed() { return Status::closed("store is closed"); }

// What every engine cursor shares: the limit, the end state, a sticky error
// and the closed check (a cursor used after close() fails with closed).
class CursorState {
 public:
  CursorState(const std::atomic<bool>& closed, std::uint64_t limit) : closed_(closed), limit_(limit) {}

  // Non-ok when the cursor must not read on (the error to return).
  Status check() const {
    if (!failure_.ok()) return failure_;
    if (closed_.load(std::memory_order_acquire)) return store_closed();
    return Status();
  }
  Status fail(Status status) {
    failure_ = std::move(status);
    return failure_;
  }
  bool limit_reached() const { return taken_ == limit_; }
  const EventView* take(const EventView& view) {
    view_ = view;
    ++taken_;
    return &view_;
  }
  const EventView& last() const { return view_; }

 private:
  const std::atomic<bool>& closed_;
  const std::uint64_t limit_;
  std::uint64_t taken_ = 0;
  Status failure_;
  EventView view_;
};

// $all forwards: the log read in order from the sparse index entry at or
// before `from`, records before `from`, system records and filtered events
// skipped.
class ForwardAllCursor final : public EventCursor {
 public:
  ForwardAllCursor(const std::atomic<bool>& closed, LogCursor log, const AllReadOptions& options, Position end)
      : state_(closed, options.limit), log_(std::move(log)), from_(options.from.value_or(0)), end_(end),
        last_scanned_(scan_window_end(from_, Direction::forward, options.scan_limit)), filter_(options.filter) {}

  Result<const EventView*> next() override {
    if (Status status = state_.check(); !status.ok()) return status;
    if (done_) return static_cast<const EventView*>(nullptr);
    if (!state_.limit_reached()) {
      // Past the scan window the page ends; the next one starts there.
      while (log_.position() <= last_scanned_) {
        Result<bool> more = log_.next(&record_);
        if (!more.ok()) return state_.fail(more.status());
        if (!*more) break;
        if (record_.kind != log::RecordKind::event || record_.position < from_ ||
            !filter_.matches(record_.stream, record_.type)) {
          continue;
        }
        return state_.take(view_of(record_));
      }
    }
    done_ = true;
    if (log_.position() < end_) resume_ = log_.position();
    return static_cast<const EventView*>(nullptr);
  }

  std::optional<std::uint64_t> resume_from() const override { return resume_; }

 private:
  CursorState state_;
  LogCursor log_;
  const Position from_;
  const Position end_;
  const Position last_scanned_;  // of the scan window (AllReadOptions::scan_limit)
  const EventFilter filter_;
  log::LogRecord record_;
  bool done_ = false;
  std::optional<Position> resume_;
};

}  // namespace

// $all backwards: the log is only readable forwards, so each block between
// two sparse entries (kSparseInterval positions) is scanned forwards, the
// matching records' bytes kept, and emitted in reverse; then the block before.
class FileStore::BackwardAllCursor final : public EventCursor {
 public:
  BackwardAllCursor(FileStore& store, const AllReadOptions& options, Position end)
      : store_(store), state_(store.closed_, options.limit), filter_(options.filter) {
    if (end > 0) {
      upper_ = std::min(options.from.value_or(end - 1), end - 1);
      lowest_scanned_ = scan_window_end(*upper_, Direction::backward, options.scan_limit);
    }
  }

  Result<const EventView*> next() override {
    if (Status status = state_.check(); !status.ok()) return status;
    if (!done_ && !state_.limit_reached()) {
      while (emitted_ == offsets_.size() && upper_) {
        if (Status status = read_block(); !status.ok()) return state_.fail(status);
      }
      if (emitted_ < offsets_.size()) {
        const std::size_t offset = offsets_[offsets_.size() - 1 - emitted_++];
        if (Status status = log::decode_record(std::string_view(block_).substr(offset), &record_); !status.ok()) {
          return state_.fail(status);
        }
        return state_.take(view_of(record_));
      }
    }
    if (!done_) {
      done_ = true;
      // Stopped by the limit: the next read starts below the last event; by
      // the scan window: below the window.
      if (state_.limit_reached()) {
        if (state_.last().position > 0) resume_ = state_.last().position - 1;
      } else if (lowest_scanned_ > 0) {
        resume_ = lowest_scanned_ - 1;
      }
    }
    return static_cast<const EventView*>(nullptr);
  }

  std::optional<std::uint64_t> resume_from() const override { return resume_; }

 private:
  Status read_block() {
    const Position upper = *upper_;
    const Position block_start = upper - upper % kSparseInterval;
    upper_ = block_start <= lowest_scanned_ ? std::nullopt : std::optional<Position>(block_start - 1);
    auto cursor = store_.cursor_at(block_start, upper + 1);
    if (!cursor.ok()) return cursor.status();
    block_.clear();
    offsets_.clear();
    emitted_ = 0;
    while (true) {
      Result<bool> more = cursor->next(&record_);
      if (!more.ok()) return more.status();
      if (!*more) return Status();
      if (record_.position < std::max(block_start, lowest_scanned_) || record_.kind != log::RecordKind::event ||
          !filter_.matches(record_.stream, record_.type)) {
        continue;
      }
      offsets_.push_back(block_.size());
      block_.append(cursor->record_bytes());
    }
  }

  FileStore& store_;
  CursorState state_;
  const EventFilter filter_;
  std::optional<Position> upper_;  // highest position of the next block to read
  Position lowest_scanned_ = 0;    // of the scan window (AllReadOptions::scan_limit)
  std::string block_;              // framed bytes of the block's matching records
  std::vector<std::size_t> offsets_;
  std::size_t emitted_ = 0;
  log::LogRecord record_;
  bool done_ = false;
  std::optional<Position> resume_;
};

// One stream's events through the index's runs: runs are fetched from the
// index in batches, each run read with one (growing) read, every record
// checked to be the stream's expected revision; hidden events (soft delete,
// truncate-before, max-count, max-age) are skipped.
class FileStore::FileStreamCursor final : public StreamCursor {
 public:
  FileStreamCursor(FileStore& store, std::string stream, const StreamEntry& entry, const StreamReadOptions& options)
      : store_(store), state_(store.closed_, options.limit), stream_(std::move(stream)), entry_(entry),
        forward_(options.direction == Direction::forward), segments_(store.segments_.snapshot()),
        now_(now_timestamp()) {
    range_ = stream_read_range(entry_.state, options);
    if (range_) next_run_from_ = range_->start;
  }

  Result<const EventView*> next() override {
    if (Status status = state_.check(); !status.ok()) return status;
    while (!done_ && !state_.limit_reached()) {
      Result<const log::LogRecord*> record = next_in_range();
      if (!record.ok()) return state_.fail(record.status());
      if (*record == nullptr) break;
      last_visited_ = (*record)->revision;
      if (entry_.state.visible((*record)->revision, (*record)->recorded_at, now_)) {
        return state_.take(view_of(**record));
      }
    }
    if (!done_) {
      done_ = true;
      if (last_visited_ && range_ && *last_visited_ != range_->stop) {
        resume_ = forward_ ? *last_visited_ + 1 : *last_visited_ - 1;
      }
    }
    return static_cast<const EventView*>(nullptr);
  }

  std::optional<std::uint64_t> resume_from() const override { return resume_; }
  StreamRevision last_revision() const override { return *entry_.state.last_revision; }

 private:
  static constexpr std::size_t kRunsPerBatch = 64;

  bool in_range(StreamRevision revision) const {
    return forward_ ? revision >= range_->start && revision <= range_->stop
                    : revision <= range_->start && revision >= range_->stop;
  }

  // The next record of the range in read order, nullptr after the last.
  Result<const log::LogRecord*> next_in_range() {
    while (true) {
      if (forward_) {
        Result<bool> more = run_.next(&record_);
        if (!more.ok()) return more.status();
        if (*more) {
          if (Status status = check_record(); !status.ok()) return status;
          if (record_.revision > range_->stop) return static_cast<const log::LogRecord*>(nullptr);
          if (in_range(record_.revision)) return static_cast<const log::LogRecord*>(&record_);
          continue;
        }
      } else if (!reversed_.empty()) {
        const std::size_t offset = reversed_.back();
        reversed_.pop_back();
        if (Status status = run_.decode_at(offset, &record_); !status.ok()) return status;
        if (in_range(record_.revision)) return static_cast<const log::LogRecord*>(&record_);
        if (record_.revision < range_->stop) return static_cast<const log::LogRecord*>(nullptr);
        continue;
      }
      Result<bool> opened = open_next_run();
      if (!opened.ok()) return opened.status();
      if (!*opened) return static_cast<const log::LogRecord*>(nullptr);
    }
  }

  Status check_record() {
    if (record_.kind != log::RecordKind::event || record_.revision != expected_revision_ || record_.stream != stream_) {
      return Status::corruption("index run of " + stream_ + "@" + std::to_string(expected_revision_) +
                                " points to another record");
    }
    ++expected_revision_;
    return Status();
  }

  // Starts the next run; backwards, reads the whole run and queues its
  // records for emission in reverse. False when no run is left.
  Result<bool> open_next_run() {
    if (batch_index_ == batch_.size()) {
      Status status = fetch_runs();
      if (!status.ok()) return status;
      if (batch_.empty()) return false;
    }
    const EventRun& run = batch_[batch_index_++];
    run_.reset(*segments_, run.first.record, run.count);
    expected_revision_ = run.first_revision;
    if (forward_) return true;
    reversed_.clear();
    while (true) {
      Result<bool> more = run_.next(&record_);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (Status status = check_record(); !status.ok()) return status;
      reversed_.push_back(run_.record_offset());
    }
    return true;
  }

  // The next batch of runs holding revisions from next_run_from_ on (in
  // read order). A scan starts at the run at or before its start, so only
  // runs that reach next_run_from_ are taken: a run of an earlier batch is
  // never read twice.
  Status fetch_runs() {
    batch_.clear();
    batch_index_ = 0;
    if (!range_ || !next_run_from_) return Status();
    const StreamRevision from = *next_run_from_;
    Status status = store_.index_->scan_stream(entry_.id, from, range_->stop,
                                               forward_ ? Direction::forward : Direction::backward,
                                               [&](const EventRun& run) {
                                                 const bool reaches = forward_ ? run.first_revision + run.count > from
                                                                               : run.first_revision <= from;
                                                 if (reaches) batch_.push_back(run);
                                                 return batch_.size() < kRunsPerBatch;
                                               });
    if (!status.ok()) return status;
    next_run_from_.reset();
    if (batch_.size() == kRunsPerBatch) {
      // More runs may follow, unless this batch already reached the range's end.
      const EventRun& last = batch_.back();
      if (forward_ && last.first_revision + last.count <= range_->stop) {
        next_run_from_ = last.first_revision + last.count;
      } else if (!forward_ && last.first_revision > range_->stop) {
        next_run_from_ = last.first_revision - 1;
      }
    }
    return Status();
  }

  FileStore& store_;
  CursorState state_;
  const std::string stream_;
  const StreamEntry entry_;
  const bool forward_;
  const std::shared_ptr<const SegmentList> segments_;
  const Timestamp now_;
  std::optional<KeyRange> range_;
  std::optional<StreamRevision> next_run_from_;  // where the next index batch starts
  std::vector<EventRun> batch_;
  std::size_t batch_index_ = 0;
  RunReader run_;
  StreamRevision expected_revision_ = 0;
  std::vector<std::size_t> reversed_;  // backwards: offsets of the run's records left to emit
  log::LogRecord record_;
  std::optional<StreamRevision> last_visited_;
  bool done_ = false;
  std::optional<StreamRevision> resume_;
};

Result<LogCursor> FileStore::cursor_at(Position position, Position end) {
  auto floor = index_->sparse_floor(position);
  if (!floor.ok()) return floor.status();
  auto segments = segments_.snapshot();
  if (!*floor) {
    return LogCursor(std::move(segments), LogLocation{0, static_cast<std::uint32_t>(log::kSegmentHeaderSize)}, 0,
                     end);
  }
  const auto& [start, entry] = **floor;
  return LogCursor::at_record(std::move(segments), entry.group, entry.record, start, end);
}

Result<std::unique_ptr<EventCursor>> FileStore::open_all_cursor(const AllReadOptions& options) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  const Position end = committed_end_.load(std::memory_order_acquire);
  if (options.direction == Direction::backward) {
    return std::unique_ptr<EventCursor>(std::make_unique<BackwardAllCursor>(*this, options, end));
  }
  const Position from = options.from.value_or(0);
  // Nothing committed at or after `from`: a cursor that reads nothing.
  auto log = from >= end ? Result<LogCursor>(LogCursor(segments_.snapshot(), LogLocation{}, end, end))
                         : cursor_at(from, end);
  if (!log.ok()) return log.status();
  return std::unique_ptr<EventCursor>(std::make_unique<ForwardAllCursor>(closed_, std::move(*log), options, end));
}

Result<std::unique_ptr<StreamCursor>> FileStore::open_stream_cursor(std::string_view stream,
                                                                    const StreamReadOptions& options) {
  if (Status status = check_open(); !status.ok()) return status;
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  if (Status status = check_page_limit(options.limit); !status.ok()) return status;
  auto entry = index_->stream(stream);
  if (!entry.ok()) return entry.status();
  if (Status status = check_readable(stream, *entry ? &(*entry)->state : nullptr); !status.ok()) return status;
  return std::unique_ptr<StreamCursor>(std::make_unique<FileStreamCursor>(*this, std::string(stream), **entry, options));
}

namespace {

// Fills `page` (an AllPage or StreamPage) with owned copies of the cursor's
// events and its `next`.
template <typename Page>
Status fill_page(EventCursor& cursor, Page& page) {
  while (true) {
    Result<const EventView*> event = cursor.next();
    if (!event.ok()) return event.status();
    if (*event == nullptr) break;
    page.events.push_back((*event)->to_recorded_event());
  }
  page.next = cursor.resume_from();
  return Status();
}

}  // namespace

Result<AllPage> FileStore::read_all(const AllReadOptions& options) {
  auto cursor = open_all_cursor(options);
  if (!cursor.ok()) return cursor.status();
  AllPage page;
  page.events.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(options.limit, 1024)));
  if (Status status = fill_page(**cursor, page); !status.ok()) return status;
  return page;
}

Result<StreamPage> FileStore::read_stream(std::string_view stream, const StreamReadOptions& options) {
  auto cursor = open_stream_cursor(stream, options);
  if (!cursor.ok()) return cursor.status();
  StreamPage page;
  page.last_revision = (*cursor)->last_revision();
  if (Status status = fill_page(**cursor, page); !status.ok()) return status;
  return page;
}

}  // namespace evsrc
