// HistoryRecorder: what concurrent clients asked a store and what it
// answered, each operation stamped with its invoke and complete times from
// one monotonic clock, for the history checker (history_checker.h).
//
// An operation's invoke time is read before the call is made and its
// complete time after the answer came back, so the store's own serialisation
// point of the operation lies within [invoke, complete].
//
// Outcomes of writes: ok (acknowledged), wrong_expected_revision and other
// definite failures (nothing may have been written), unknown (io_error,
// timeout, closed, corruption: the write may or may not have happened, but
// all or nothing of it).
//
// Thread-safety: every method may be called concurrently; one operation is
// invoked and completed by one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc::history {

// Nanoseconds since the recorder was made, on std::chrono::steady_clock.
using Time = std::int64_t;

enum class Outcome : std::uint8_t { ok, wrong_expected_revision, failed, unknown };
std::string_view outcome_name(Outcome outcome);
// How a client must take an error: wrong_expected_revision, unknown (the
// call may have taken effect: io_error, timeout, closed, corruption) or
// failed (it took no effect).
Outcome outcome_of(const Status& status);

// An event as one read returned it.
struct SeenEvent {
  Uuid id;
  std::string stream;
  StreamRevision revision = 0;
  Position position = 0;
  friend bool operator==(const SeenEvent&, const SeenEvent&) = default;
};
SeenEvent seen(const RecordedEvent& event);

// One stream written by an append (a transaction has one per part).
struct WritePart {
  std::string stream;
  ExpectedRevision expected = ExpectedRevision::any();
  std::vector<Uuid> ids;  // the events' ids in order; empty: condition only
  // As acknowledged (outcome ok). A condition-only part reports the head it
  // checked (nullopt: absent) in both revisions.
  std::optional<StreamRevision> first_revision;
  std::optional<StreamRevision> last_revision;
  Position position = 0;  // of the part's last event
};

// An append (one part) or a multi-stream transaction.
struct WriteOp {
  std::size_t client = 0;
  bool transaction = false;
  std::vector<WritePart> parts;
  Time invoke = 0;
  Time complete = 0;
  bool completed = false;  // false: still pending when the history was taken
  Outcome outcome = Outcome::unknown;
  // wrong_expected_revision of a single append: the head the store reported
  // (nullopt: the stream is absent).
  bool actual_known = false;
  std::optional<StreamRevision> actual_revision;
  std::string error;
};

struct StreamReadOp {
  std::size_t client = 0;
  std::string stream;
  std::optional<StreamRevision> from;
  Direction direction = Direction::forward;
  std::uint64_t limit = 0;
  Time invoke = 0;
  Time complete = 0;
  bool ok = false;      // false: failed, nothing to check (error says why)
  bool absent = false;  // not_found: the stream did not exist
  std::vector<SeenEvent> events;
  std::optional<StreamRevision> next;
  StreamRevision last_revision = 0;
  std::string error;
};

// One page of a forward read of $all.
struct AllPageRead {
  std::optional<Position> from;
  std::uint64_t limit = 0;
  Time invoke = 0;
  Time complete = 0;
  bool ok = false;
  std::vector<SeenEvent> events;
  std::optional<Position> next;
  std::string error;
};

// Forward pages of $all read one after the other, each from the previous
// page's next, until one reports the end (or fails).
struct AllScan {
  std::size_t client = 0;
  std::vector<AllPageRead> pages;
};

struct History {
  std::vector<WriteOp> writes;
  std::vector<StreamReadOp> stream_reads;
  std::vector<AllScan> scans;
};

class HistoryRecorder {
 public:
  using OpId = std::size_t;

  HistoryRecorder();
  HistoryRecorder(const HistoryRecorder&) = delete;
  HistoryRecorder& operator=(const HistoryRecorder&) = delete;

  Time now() const;

  OpId invoke_append(std::size_t client, std::string_view stream, ExpectedRevision expected,
                     std::span<const EventData> events);
  void complete_append(OpId id, const Result<AppendResult>& result);

  OpId invoke_commit(std::size_t client, std::span<const TransactionPart> parts);
  void complete_commit(OpId id, const Result<TransactionResult>& result);

  OpId invoke_read_stream(std::size_t client, std::string_view stream, const StreamReadOptions& options);
  void complete_read_stream(OpId id, const Result<StreamPage>& result);

  OpId begin_scan(std::size_t client);
  // REQUIRES: the previous page of `scan` completed.
  void invoke_scan_page(OpId scan, const AllReadOptions& options);
  void complete_scan_page(OpId scan, const Result<AllPage>& result);

  // A copy of everything recorded so far.
  History history() const;

 private:
  const std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  // deques: elements stay in place as others are added.
  std::deque<WriteOp> writes_;
  std::deque<StreamReadOp> stream_reads_;
  std::deque<AllScan> scans_;
};

}  // namespace evsrc::history
