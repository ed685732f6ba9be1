// The vocabulary of the store contract (DESIGN §1): revisions, positions,
// expectations, events as appended and as recorded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "evsrc/uuid.h"

namespace evsrc {

// Number of an event within its stream: 0, 1, 2, ... contiguous, never reused.
using StreamRevision = std::uint64_t;

// Store-wide position of a committed event. Strictly increases in commit
// order and is never reused; positions need not be contiguous (system records
// such as metadata writes take positions too). Reading "from" a position is
// inclusive: read_all(from = p + 1) resumes right after the event at p.
using Position = std::uint64_t;

// Time assigned by the store at commit, in microseconds since the Unix epoch
// (UTC). Never decreases along positions.
using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

// RFC 3339 UTC with microseconds: "2026-11-29T08:34:08.123456Z".
std::string format_rfc3339(Timestamp time);

// What the caller believes about a stream before appending to it.
class ExpectedRevision {
 public:
  enum class Kind : std::uint8_t { any, no_stream, stream_exists, exact };

  static ExpectedRevision any() { return ExpectedRevision(Kind::any, 0); }
  // The stream must not exist (never written, or soft-deleted).
  static ExpectedRevision no_stream() { return ExpectedRevision(Kind::no_stream, 0); }
  static ExpectedRevision stream_exists() { return ExpectedRevision(Kind::stream_exists, 0); }
  // The stream's last revision must be exactly `revision`.
  static ExpectedRevision exact(StreamRevision revision) { return ExpectedRevision(Kind::exact, revision); }

  // Parses "any", "no-stream", "exists" or a decimal revision.
  static std::optional<ExpectedRevision> parse(std::string_view text);

  Kind kind() const { return kind_; }
  // REQUIRES: kind() == Kind::exact.
  StreamRevision revision() const { return revision_; }
  // "any", "no-stream", "exists" or the revision.
  std::string to_string() const;

  friend bool operator==(const ExpectedRevision&, const ExpectedRevision&) = default;

 private:
  ExpectedRevision(Kind kind, StreamRevision revision) : kind_(kind), revision_(revision) {}
  Kind kind_;
  StreamRevision revision_;
};

// An event as a client appends it.
struct EventData {
  // Identity used for idempotent retries. A nil id is replaced by a random one
  // by the store.
  Uuid id;
  std::string type;          // 1..255 bytes
  std::string data;          // usually JSON
  std::string metadata;      // usually a JSON object; may be empty
  std::string content_type = "application/json";

  friend bool operator==(const EventData&, const EventData&) = default;
};

// An event as the store recorded it.
struct RecordedEvent {
  std::string stream;
  StreamRevision revision = 0;
  Position position = 0;
  Timestamp recorded_at{};
  Uuid id;
  std::string type;
  std::string data;
  std::string metadata;
  std::string content_type;

  friend bool operator==(const RecordedEvent&, const RecordedEvent&) = default;
};

// Category of a stream: the part before the first '-' ("user-42" -> "user");
// the whole name when it has no '-'.
std::string_view stream_category(std::string_view stream);

}  // namespace evsrc
