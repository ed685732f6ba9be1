// The writers' "ack log" of the kill tests and the check of a store against it.
//
// The log is an append-only file, one write(2) per line (the page cache
// survives SIGKILL, so no fsync is needed; lines of different threads never
// interleave):
//   I <batch> <part>...   intent, written BEFORE the append/commit call;
//                         part = <stream>:<event count>
//   A <batch> <result>... acknowledged; result = <first>:<last>:<position>,
//                         or "-" for a condition-only part
//   F <batch> <code> ...  the call failed for sure (wrong_expected_revision
//                         expected; anything else is a problem)
//   U <batch> <code> ...  outcome unknown (the connection was lost): the call
//                         may be retried with the same event ids, which logs
//                         A, F or U again for the same batch
//   X <message>           a writer or subscriber could not run (a problem)
// A line without its '\n' was torn by the kill and is ignored.
// Event ids encode their batch (round, thread, sequence) and their index in
// it, so every event found in the store names the attempt it came from.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc::crash {

struct BatchKey {
  std::uint16_t round = 0;
  std::uint8_t thread = 0;
  std::uint32_t sequence = 0;
  auto operator<=>(const BatchKey&) const = default;
  std::string to_string() const;
  static std::optional<BatchKey> parse(const std::string& text);
};

Uuid event_id(const BatchKey& key, std::uint16_t index);
std::optional<std::pair<BatchKey, std::uint16_t>> decode_event_id(const Uuid& id);

// `count` events of batch `key`, indexes first_index..; JSON data of random
// size (a few bytes to ~300).
std::vector<EventData> make_events(const BatchKey& key, std::uint16_t first_index, int count, std::mt19937& rng);

// Cuts a line torn by a kill (bytes after the last '\n') off the end of
// `path`, so that lines appended later start on a line of their own.
// Missing file: nothing to do.
void drop_torn_tail(const std::string& path);

// An append-only line file (ack log, subscriber logs). Thread-safe: one
// write(2) per line. A failing write ends the process (exit 90): the log is
// the test's evidence.
class LineLog {
 public:
  explicit LineLog(const std::string& path);  // drops a torn tail first
  ~LineLog();
  LineLog(const LineLog&) = delete;
  LineLog& operator=(const LineLog&) = delete;
  bool ok() const { return fd_ >= 0; }
  void line(std::string text);

 private:
  int fd_;
};

// The complete lines of `path` (a torn last line is left out).
std::vector<std::string> read_complete_lines(const std::string& path);

struct Intent {
  std::vector<std::pair<std::string, int>> parts;  // stream, event count
  int events() const;
};

struct PartAck {
  bool condition_only = true;
  StreamRevision first = 0;
  StreamRevision last = 0;
  Position position = 0;
};

struct AckHistory {
  std::map<BatchKey, Intent> intents;
  std::map<BatchKey, std::vector<PartAck>> acks;
  std::map<BatchKey, std::string> failures;  // code name of the definite failure
  std::map<BatchKey, int> unknown;           // attempts whose outcome was lost
  std::vector<std::string> problems;
};

AckHistory parse_ack_log(const std::string& path);

struct BatchCheck {
  std::size_t batches_present = 0;
  std::size_t present_unacknowledged = 0;  // attempted, no answer, written whole
  std::size_t present_after_unknown = 0;   // of those and the acknowledged: an attempt's outcome was lost
  std::string summary() const;
};

// Checks `events` (the whole store in $all order) against the log: every
// acknowledged batch is present exactly once, with the acknowledged revisions
// and positions; every batch found is complete (all parts, all events,
// contiguous revisions, in order) and was attempted; no failed batch is
// visible. Problems are appended to `problems`.
BatchCheck check_batches(const std::vector<RecordedEvent>& events, const AckHistory& history,
                         std::vector<std::string>* problems);

}  // namespace evsrc::crash
