#include "postgres/group_writer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "core/write_plan.h"
#include "postgres/binary_format.h"
#include "postgres/event_rows.h"

namespace evsrc::pg {
namespace {

// A group is cut at about these sizes (a single larger write still goes alone).
constexpr std::size_t kGroupEvents = 20'000;
constexpr std::size_t kGroupBytes = 16 << 20;

std::size_t count_events(const std::vector<TransactionPart>& parts) {
  std::size_t events = 0;
  for (const TransactionPart& part : parts) events += part.events.size();
  return events;
}

std::size_t count_bytes(const std::vector<TransactionPart>& parts) {
  std::size_t bytes = 0;
  for (const TransactionPart& part : parts) {
    for (const EventData& event : part.events) bytes += event_size(event);
  }
  return bytes;
}

// The store as seen under the head lock, plus the writes planned so far in
// the group (a later write of the group sees the earlier ones).
class GroupLookup final : public WriteLookup {
 public:
  std::map<std::string, StreamRow, std::less<>> streams;
  std::unordered_map<Uuid, RecordedEvent, UuidHash> recorded_events;

  const StreamState& state(std::string_view stream) override {
    const auto it = streams.find(stream);
    return it == streams.end() ? absent_ : it->second.state;
  }
  std::optional<RecordedEvent> recorded(const Uuid& id) override {
    const auto it = recorded_events.find(id);
    if (it == recorded_events.end()) return std::nullopt;
    return it->second;
  }

 private:
  const StreamState absent_{};
};

// The rows a group inserts and upserts, as binary arrays for unnest().
struct GroupRows {
  ArrayBuilder positions{kInt8}, streams{kText}, revisions{kInt8}, ids{kUuid}, types{kBytea}, data{kBytea},
      metadata{kBytea}, content_types{kBytea};
  std::map<std::string, StreamRow, std::less<>> written_streams;  // final heads
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t new_streams = 0;
};

constexpr const char* kWriteStatement = R"sql(
WITH inserted AS (
  INSERT INTO evsrc_events (position, stream, revision, id, type, data, metadata, content_type, recorded_at)
  SELECT p, s, r, i, t, d, m, c, $9::int8
  FROM unnest($1::int8[], $2::text[], $3::int8[], $4::uuid[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bytea[])
    AS e(p, s, r, i, t, d, m, c)),
heads AS (
  INSERT INTO evsrc_streams (name, last_revision, last_position)
  SELECT n, lr, lp FROM unnest($10::text[], $11::int8[], $12::int8[]) AS h(n, lr, lp)
  ON CONFLICT (name) DO UPDATE
    SET last_revision = EXCLUDED.last_revision, last_position = EXCLUDED.last_position, soft_deleted = false)
UPDATE evsrc_head
SET last_position = $13::int8, last_recorded_at = $9::int8, events = events + $14::int8, bytes = bytes + $15::int8,
    streams = streams + $16::int8
WHERE id = 1
RETURNING pg_notify($17::text, $18::text))sql";

}  // namespace

struct GroupWriter::Pending {
  std::vector<TransactionPart> parts;
  bool single_append = false;
  std::optional<Result<TransactionResult>> outcome;
};

GroupWriter::GroupWriter(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

GroupWriter::~GroupWriter() { stop(); }

void GroupWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  if (thread_.joinable()) thread_.join();
  connection_.reset();
}

Result<TransactionResult> GroupWriter::write(std::vector<TransactionPart> parts, bool single_append) {
  Pending pending{std::move(parts), single_append, std::nullopt};
  std::unique_lock lock(mutex_);
  if (stopping_) return Status::closed("store is closed");
  queue_.push_back(&pending);
  queued_.notify_one();
  done_.wait(lock, [&] { return pending.outcome.has_value(); });
  return std::move(*pending.outcome);
}

void GroupWriter::run() {
  std::unique_lock lock(mutex_);
  // Writers released by a commit usually append again at once. Without a
  // pause they would miss the next group (cut as soon as the commit ends)
  // and the writers would settle into two halves taking turns, each group
  // half as large. So after a commit the writer waits for the released
  // writers to queue again — at most a quarter of the last commit's duration
  // (and 1 ms): never long when they do not come back, and free when they do,
  // since the next group could not start without them anyway.
  std::size_t gather_target = 0;
  std::chrono::steady_clock::duration gather_limit{};
  while (true) {
    queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued is done
    if (gather_target > queue_.size()) {
      queued_.wait_for(lock, gather_limit, [&] { return stopping_ || queue_.size() >= gather_target; });
    }
    std::vector<Pending*> group;
    std::size_t events = 0;
    std::size_t bytes = 0;
    while (!queue_.empty()) {
      Pending* next = queue_.front();
      const std::size_t next_events = count_events(next->parts);
      const std::size_t next_bytes = count_bytes(next->parts);
      if (!group.empty() && (events + next_events > kGroupEvents || bytes + next_bytes > kGroupBytes)) break;
      group.push_back(next);
      queue_.pop_front();
      events += next_events;
      bytes += next_bytes;
    }
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    commit_group(group);
    const auto took = std::chrono::steady_clock::now() - started;
    lock.lock();
    done_.notify_all();
    gather_target = queue_.size() + group.size();
    gather_limit = std::min<std::chrono::steady_clock::duration>(took / 4, std::chrono::milliseconds(1));
  }
}

Status GroupWriter::ensure_connection() {
  if (connection_ && !connection_->broken()) return Status();
  connection_.reset();
  Result<PostgresConnection> connection = PostgresConnection::connect(options_.uri, options_.connect);
  if (!connection.ok()) return connection.status();
  connection_ = std::move(connection).value();
  return Status();
}

void GroupWriter::commit_group(std::vector<Pending*>& group) {
  const auto fail_all = [&](std::vector<Pending*>& writes, const Status& status) {
    std::lock_guard lock(mutex_);
    for (Pending* pending : writes) {
      if (!pending->outcome) pending->outcome = Result<TransactionResult>(status);
    }
  };
  if (Status status = ensure_connection(); !status.ok()) {
    fail_all(group, status);
    return;
  }
  bool at_commit = false;
  Status status = try_group(group, at_commit);
  if (status.ok()) return;
  if (connection_ && connection_->in_transaction()) (void)connection_->rollback();
  const bool connection_error = status.code() == ErrorCode::io_error || !connection_ || connection_->broken();
  if (connection_error) {
    connection_.reset();
    fail_all(group, Status::io_error(at_commit ? "the connection to PostgreSQL was lost during COMMIT; whether the "
                                                 "write took effect is unknown: retry it with the same event ids "
                                                 "(an idempotent retry never writes twice): " + status.message()
                                               : "the connection to PostgreSQL was lost; nothing was written: " +
                                                     status.message()));
    return;
  }
  // A statement the server refused may be one write's fault: retry alone, so
  // that only that write fails. Anything else (a timeout waiting for the head
  // lock, corruption) is the group's.
  if (group.size() == 1 || status.code() != ErrorCode::invalid_argument) {
    fail_all(group, status);
    return;
  }
  for (Pending* pending : group) {
    std::vector<Pending*> alone{pending};
    commit_group(alone);
  }
}

Status GroupWriter::try_group(std::vector<Pending*>& group, bool& at_commit) {
  PostgresConnection& db = *connection_;
  // Round trip 1: BEGIN, the head lock, then (each statement with a snapshot
  // taken after the lock was granted) the streams' rows and the events
  // already recorded under the group's ids.
  ArrayBuilder names(kText);
  ArrayBuilder ids(kUuid);
  {
    std::map<std::string_view, bool, std::less<>> seen;
    for (const Pending* pending : group) {
      for (const TransactionPart& part : pending->parts) {
        if (seen.emplace(part.stream, true).second) names.add_bytes(part.stream);
        for (const EventData& event : part.events) ids.add_uuid(event.id);
      }
    }
  }
  const PostgresValue stream_params[] = {PostgresValue::binary(names.finish(), kTextArray)};
  const PostgresValue id_params[] = {PostgresValue::binary(ids.finish(), kUuidArray)};
  // Joins with unnest(), not "= ANY($1)": a generic plan of ANY may scan the
  // whole table and compare each row with every element; the join probes the
  // unique index once per element, whatever the table's size.
  const std::string streams_sql = std::string("SELECT s.name, ") + kStreamColumns +
                                  " FROM unnest($1::text[]) AS q(wanted) JOIN evsrc_streams s ON s.name = q.wanted";
  const std::string ids_sql = std::string("SELECT ") + kEventColumns +
                              " FROM unnest($1::uuid[]) AS q(wanted) JOIN evsrc_events e ON e.id = q.wanted";
  const PostgresStatement reads[] = {
      {"BEGIN", {}, false, false},
      {"SELECT last_position, last_recorded_at FROM evsrc_head WHERE id = 1 FOR UPDATE", {}, true, true},
      {streams_sql, stream_params, true, true},
      {ids_sql, id_params, true, true},
  };
  Result<std::vector<PostgresRows>> read = db.pipeline(reads);
  if (!read.ok()) return read.status();
  const PostgresRows& head = (*read)[1];
  if (head.rows() != 1) return Status::corruption("postgres: the evsrc_head row is missing");
  const std::int64_t head_position = read_int8(head.value(0, 0));
  const std::int64_t head_recorded_at = read_int8(head.value(0, 1));
  GroupLookup lookup;
  const PostgresRows& streams = (*read)[2];
  for (int row = 0; row < streams.rows(); ++row) {
    lookup.streams.emplace(streams.text(row, 0), decode_stream(streams, row, 1));
  }
  const PostgresRows& recorded = (*read)[3];
  for (int row = 0; row < recorded.rows(); ++row) {
    RecordedEvent event = decode_event(recorded, row);
    lookup.recorded_events.emplace(event.id, std::move(event));
  }

  // Decide each write in queue order; the decisions see the earlier ones.
  const std::int64_t now_micros = now_timestamp().time_since_epoch().count();
  const std::int64_t recorded_at = std::max(now_micros, head_recorded_at);
  Position next_position = static_cast<Position>(head_position + 1);
  GroupRows rows;
  std::vector<Result<TransactionResult>> outcomes;
  outcomes.reserve(group.size());
  for (Pending* pending : group) {
    Result<WritePlan> plan = plan_write(pending->parts, lookup, !pending->single_append);
    if (!plan.ok()) {
      outcomes.emplace_back(plan.status());
      continue;
    }
    TransactionResult result;
    result.parts.resize(pending->parts.size());
    bool wrote = false;
    for (std::size_t i = 0; i < pending->parts.size(); ++i) {
      const TransactionPart& part = pending->parts[i];
      const PlannedPart& planned = plan->parts[i];
      if (planned.kind == PlannedPart::Kind::replayed) {
        const AppendResult& replayed = *planned.replayed;
        result.parts[i] = {replayed.first_revision, replayed.last_revision, replayed.position};
        result.position = std::max(result.position, replayed.position);
      } else if (planned.kind == PlannedPart::Kind::write) {
        StreamRow& stream = lookup.streams[part.stream];
        if (!stream.state.last_revision) ++rows.new_streams;
        for (std::size_t e = 0; e < part.events.size(); ++e) {
          const EventData& event = part.events[e];
          const StreamRevision revision = planned.first_revision + e;
          const Position position = next_position++;
          rows.positions.add_int8(static_cast<std::int64_t>(position));
          rows.streams.add_bytes(part.stream);
          rows.revisions.add_int8(static_cast<std::int64_t>(revision));
          rows.ids.add_uuid(event.id);
          rows.types.add_bytes(event.type);
          rows.data.add_bytes(event.data);
          rows.metadata.add_bytes(event.metadata);
          rows.content_types.add_bytes(event.content_type);
          rows.bytes += event_size(event);
          ++rows.events;
          lookup.recorded_events[event.id] =
              RecordedEvent{part.stream, revision, position, Timestamp(std::chrono::microseconds(recorded_at)),
                            event.id, event.type, event.data, event.metadata, event.content_type};
        }
        stream.state.last_revision = planned.first_revision + part.events.size() - 1;
        stream.state.soft_deleted = false;
        stream.last_position = next_position - 1;
        rows.written_streams[part.stream] = stream;
        result.parts[i] = {planned.first_revision, stream.state.last_revision, next_position - 1};
        result.position = next_position - 1;
        wrote = true;
      }
    }
    // Condition-only parts: the stream as checked, at the write's position
    // (for an append of no events: the stream's last event's position).
    if (!plan->replay && !wrote) result.position = next_position > 0 ? next_position - 1 : 0;
    for (std::size_t i = 0; i < pending->parts.size(); ++i) {
      if (plan->parts[i].kind != PlannedPart::Kind::condition) continue;
      const auto it = lookup.streams.find(pending->parts[i].stream);
      const std::optional<StreamRevision> at =
          it == lookup.streams.end() ? std::nullopt : it->second.state.visible_revision();
      Position position = result.position;
      if (pending->single_append) position = it == lookup.streams.end() ? 0 : it->second.last_position.value_or(0);
      result.parts[i] = {at, at, position};
    }
    outcomes.emplace_back(std::move(result));
  }

  if (rows.events > 0) {
    ArrayBuilder written_names(kText), last_revisions(kInt8), last_positions(kInt8);
    for (const auto& [name, stream] : rows.written_streams) {
      written_names.add_bytes(name);
      last_revisions.add_int8(static_cast<std::int64_t>(*stream.state.last_revision));
      last_positions.add_int8(static_cast<std::int64_t>(*stream.last_position));
    }
    const std::int64_t last_position = static_cast<std::int64_t>(next_position - 1);
    const std::string payload = std::to_string(last_position);
    const PostgresValue params[] = {
        PostgresValue::binary(rows.positions.finish(), kInt8Array),
        PostgresValue::binary(rows.streams.finish(), kTextArray),
        PostgresValue::binary(rows.revisions.finish(), kInt8Array),
        PostgresValue::binary(rows.ids.finish(), kUuidArray),
        PostgresValue::binary(rows.types.finish(), kByteaArray),
        PostgresValue::binary(rows.data.finish(), kByteaArray),
        PostgresValue::binary(rows.metadata.finish(), kByteaArray),
        PostgresValue::binary(rows.content_types.finish(), kByteaArray),
        recorded_at,
        PostgresValue::binary(written_names.finish(), kTextArray),
        PostgresValue::binary(last_revisions.finish(), kInt8Array),
        PostgresValue::binary(last_positions.finish(), kInt8Array),
        last_position,
        static_cast<std::int64_t>(rows.events),
        static_cast<std::int64_t>(rows.bytes),
        static_cast<std::int64_t>(rows.new_streams),
        std::string_view(options_.notify_channel),
        std::string_view(payload),
    };
    if (options_.before_commit_for_testing) {
      Result<PostgresRows> written = db.query(kWriteStatement, params);
      if (!written.ok()) return written.status();
      options_.before_commit_for_testing();
      at_commit = true;
      if (Status status = db.commit(); !status.ok()) return status;
    } else {
      // Round trip 2: the write and COMMIT (skipped by the server if the
      // write fails; the caller then rolls back).
      const PostgresStatement writes[] = {{kWriteStatement, params, false, true}, {"COMMIT", {}, false, false}};
      at_commit = true;  // a connection lost now may have lost the COMMIT's answer only
      Result<std::vector<PostgresRows>> written = db.pipeline(writes);
      if (!written.ok()) {
        if (!db.broken()) at_commit = false;  // the server refused the write: nothing committed
        return written.status();
      }
    }
  } else {
    at_commit = true;
    if (Status status = db.commit(); !status.ok()) return status;
  }

  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < group.size(); ++i) group[i]->outcome = std::move(outcomes[i]);
  }
  if (rows.events > 0 && options_.committed) options_.committed(next_position - 1);
  return Status();
}

}  // namespace evsrc::pg
