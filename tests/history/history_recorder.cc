#include "history/history_recorder.h"

#include <utility>

namespace evsrc::history {

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::wrong_expected_revision:
      return "wrong_expected_revision";
    case Outcome::failed:
      return "failed";
    case Outcome::unknown:
      return "unknown";
  }
  return "?";
}

Outcome outcome_of(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ok:
      return Outcome::ok;
    case ErrorCode::wrong_expected_revision:
      return Outcome::wrong_expected_revision;
    case ErrorCode::io_error:
    case ErrorCode::timeout:
    case ErrorCode::closed:
    case ErrorCode::corruption:
    // Over HTTP a closed store is 503 unavailable too.
    case ErrorCode::unavailable:
      return Outcome::unknown;
    default:
      return Outcome::failed;
  }
}

SeenEvent seen(const RecordedEvent& event) { return SeenEvent{event.id, event.stream, event.revision, event.position}; }

namespace {

std::vector<Uuid> ids_of(std::span<const EventData> events) {
  std::vector<Uuid> ids;
  ids.reserve(events.size());
  for (const EventData& event : events) ids.push_back(event.id);
  return ids;
}

std::vector<SeenEvent> seen_all(const std::vector<RecordedEvent>& events) {
  std::vector<SeenEvent> result;
  result.reserve(events.size());
  for (const RecordedEvent& event : events) result.push_back(seen(event));
  return result;
}

}  // namespace

HistoryRecorder::HistoryRecorder() : start_(std::chrono::steady_clock::now()) {}

Time HistoryRecorder::now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
}

HistoryRecorder::OpId HistoryRecorder::invoke_append(std::size_t client, std::string_view stream,
                                                     ExpectedRevision expected, std::span<const EventData> events) {
  WriteOp op;
  op.client = client;
  WritePart part;
  part.stream = std::string(stream);
  part.expected = expected;
  part.ids = ids_of(events);
  op.parts.push_back(std::move(part));
  std::lock_guard lock(mutex_);
  op.invoke = now();
  writes_.push_back(std::move(op));
  return writes_.size() - 1;
}

void HistoryRecorder::complete_append(OpId id, const Result<AppendResult>& result) {
  const Time complete = now();
  std::lock_guard lock(mutex_);
  WriteOp& op = writes_[id];
  op.complete = complete;
  op.completed = true;
  op.outcome = outcome_of(result.status());
  if (result.ok()) {
    WritePart& part = op.parts[0];
    part.first_revision = result->first_revision;
    part.last_revision = result->last_revision;
    part.position = result->position;
    return;
  }
  op.error = result.status().to_string();
  if (op.outcome == Outcome::wrong_expected_revision) {
    op.actual_known = true;
    op.actual_revision = result.status().actual_revision();
  }
}

HistoryRecorder::OpId HistoryRecorder::invoke_commit(std::size_t client, std::span<const TransactionPart> parts) {
  WriteOp op;
  op.client = client;
  op.transaction = true;
  for (const TransactionPart& input : parts) {
    WritePart part;
    part.stream = input.stream;
    part.expected = input.expected;
    part.ids = ids_of(input.events);
    op.parts.push_back(std::move(part));
  }
  std::lock_guard lock(mutex_);
  op.invoke = now();
  writes_.push_back(std::move(op));
  return writes_.size() - 1;
}

void HistoryRecorder::complete_commit(OpId id, const Result<TransactionResult>& result) {
  const Time complete = now();
  std::lock_guard lock(mutex_);
  WriteOp& op = writes_[id];
  op.complete = complete;
  op.completed = true;
  op.outcome = outcome_of(result.status());
  if (!result.ok()) {
    op.error = result.status().to_string();
    return;
  }
  if (result->parts.size() != op.parts.size()) {
    // The checker cannot take a malformed answer for an acknowledgement.
    op.outcome = Outcome::failed;
    op.error = "commit answered " + std::to_string(result->parts.size()) + " part results for " +
               std::to_string(op.parts.size()) + " parts";
    return;
  }
  for (std::size_t i = 0; i < op.parts.size(); ++i) {
    op.parts[i].first_revision = result->parts[i].first_revision;
    op.parts[i].last_revision = result->parts[i].last_revision;
    op.parts[i].position = result->parts[i].position;
  }
}

HistoryRecorder::OpId HistoryRecorder::invoke_read_stream(std::size_t client, std::string_view stream,
                                                          const StreamReadOptions& options) {
  StreamReadOp op;
  op.client = client;
  op.stream = std::string(stream);
  op.from = options.from;
  op.direction = options.direction;
  op.limit = options.limit;
  std::lock_guard lock(mutex_);
  op.invoke = now();
  stream_reads_.push_back(std::move(op));
  return stream_reads_.size() - 1;
}

void HistoryRecorder::complete_read_stream(OpId id, const Result<StreamPage>& result) {
  const Time complete = now();
  std::vector<SeenEvent> events = result.ok() ? seen_all(result->events) : std::vector<SeenEvent>{};
  std::lock_guard lock(mutex_);
  StreamReadOp& op = stream_reads_[id];
  op.complete = complete;
  if (result.ok()) {
    op.ok = true;
    op.events = std::move(events);
    op.next = result->next;
    op.last_revision = result->last_revision;
  } else if (result.status().code() == ErrorCode::not_found) {
    op.ok = true;
    op.absent = true;
  } else {
    op.error = result.status().to_string();
  }
}

HistoryRecorder::OpId HistoryRecorder::begin_scan(std::size_t client) {
  std::lock_guard lock(mutex_);
  scans_.push_back(AllScan{client, {}});
  return scans_.size() - 1;
}

void HistoryRecorder::invoke_scan_page(OpId scan, const AllReadOptions& options) {
  AllPageRead page;
  page.from = options.from;
  page.limit = options.limit;
  std::lock_guard lock(mutex_);
  page.invoke = now();
  scans_[scan].pages.push_back(std::move(page));
}

void HistoryRecorder::complete_scan_page(OpId scan, const Result<AllPage>& result) {
  const Time complete = now();
  std::vector<SeenEvent> events = result.ok() ? seen_all(result->events) : std::vector<SeenEvent>{};
  std::lock_guard lock(mutex_);
  AllPageRead& page = scans_[scan].pages.back();
  page.complete = complete;
  page.ok = result.ok();
  if (result.ok()) {
    page.events = std::move(events);
    page.next = result->next;
  } else {
    page.error = result.status().to_string();
  }
}

History HistoryRecorder::history() const {
  std::lock_guard lock(mutex_);
  return History{{writes_.begin(), writes_.end()},
                 {stream_reads_.begin(), stream_reads_.end()},
                 {scans_.begin(), scans_.end()}};
}

}  // namespace evsrc::history
