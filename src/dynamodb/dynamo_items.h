// How the DynamoDB backend lays out its items, and their JSON encoding in
// DynamoDB's attribute-value format ({"S": ...}, {"N": ...}, {"B": base64}).
//
// Tables (<prefix>_<name>), keys first:
//   events      s (S, stream) + r (N, revision): p, id, t, d, m, c, at
//   log         b (N, position >> kLogBucketBits) + p (N, first position):
//               n (N, the position after the item's last event), e (L of
//               maps s, r, id, t, d, m, c), at. One or more items per commit,
//               chained: the item after one at p starts at its n.
//   streams     g (S, always "s") + s (S, stream): the stream's head
//               (lr, lp, vf, sd, tb, mc, ma, tr, cu) and v (N, a version
//               bumped by every change, the compare-and-set of its writers)
//   ids         id (S): s, r, p — makes event ids unique across the store
//   meta        k (S): "head" (lp: last position or -1, la: last recorded-at,
//               ev/st/by: totals) and "schema" (version)
//   snapshots   k (B, stream NUL view NUL version) + r (N): st (B)
//   checkpoints n (S): p (N)
// Binary values (event type, data, metadata, content type) are B so any
// bytes round-trip.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/stream_state.h"
#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc::dynamo {

using Json = nlohmann::json;

inline constexpr int kLogBucketBits = 16;
inline std::uint64_t log_bucket(Position position) { return position >> kLogBucketBits; }

// {"#a": "a", ...}: ExpressionAttributeNames for `names` (every name an
// expression uses goes through one: some, like "by", are reserved words).
Json attribute_names(std::initializer_list<const char*> names);

// Attribute values.
Json attr_s(std::string_view text);
Json attr_n(std::uint64_t number);
Json attr_n_signed(std::int64_t number);
Json attr_b(std::string_view bytes);
Json attr_bool(bool value);

// Readers of an item's attributes; corruption naming the attribute when it
// is missing or of another type.
Result<std::string> get_s(const Json& item, const char* name);
Result<std::uint64_t> get_n(const Json& item, const char* name);
Result<std::int64_t> get_n_signed(const Json& item, const char* name);
Result<std::string> get_b(const Json& item, const char* name);
// Empty bytes are stored as an absent attribute (DynamoDB refuses empty
// binary values in some versions); these two keep that convention.
Result<std::string> get_b_or_empty(const Json& item, const char* name);
void put_b(Json& item, const char* name, std::string_view bytes);
std::optional<std::uint64_t> get_optional_n(const Json& item, const char* name);
bool get_bool(const Json& item, const char* name);

// Bytes DynamoDB counts for an event's attributes (names + values), used to
// keep items under 400 KB.
std::size_t event_item_bytes(const RecordedEvent& event);

// An event as an item of the events table.
Json encode_event_item(const RecordedEvent& event);
Result<RecordedEvent> decode_event_item(const Json& item);

// An event inside a log item (no position: the item's p + index).
Json encode_log_entry(const RecordedEvent& event);
Result<RecordedEvent> decode_log_entry(const Json& entry, Position position, Timestamp recorded_at);

// A log item: events at positions first..first+size-1.
Json encode_log_item(const std::vector<RecordedEvent>& events);
struct LogItem {
  Position first = 0;
  Position next = 0;  // first + events.size()
  std::vector<RecordedEvent> events;
};
Result<LogItem> decode_log_item(const Json& item);

// A stream's head as stored in the streams table.
struct StreamRow {
  StreamState state;
  std::optional<Position> last_position;
  std::uint64_t version = 0;  // 0: no item yet
};
Json encode_stream_item(std::string_view stream, const StreamRow& row);
Result<StreamRow> decode_stream_item(const Json& item);
Json stream_key(std::string_view stream);

}  // namespace evsrc::dynamo
