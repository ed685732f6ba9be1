#include "dynamodb/dynamo_writer.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "core/write_plan.h"
#include "dynamodb/dynamo_requests.h"

namespace evsrc::dynamo {
namespace {

// A group leaves room for the head item and two log items.
constexpr std::size_t kGroupItems = kMaxTransactionItems - 3;
// Event bytes of a group: every event is stored twice (events and log
// items), and a transaction holds at most 4 MB.
constexpr std::size_t kGroupBytes = 1536 * 1024;
// Event bytes of one log item (items hold at most 400 KB).
constexpr std::size_t kLogItemBytes = 350 * 1024;
// A write contending with other processes for the head item retries (with
// backoff) until this long has passed since its group started.
constexpr auto kContentionDeadline = std::chrono::seconds(30);
// Stream heads the writer keeps; the cache starts over beyond this.
constexpr std::size_t kMaxCachedStreams = 100'000;

std::size_t items_of(const std::vector<TransactionPart>& parts) {
  std::size_t items = 0;
  for (const TransactionPart& part : parts) items += 2 * part.events.size() + 1;
  return items;
}

std::size_t bytes_of(const std::vector<TransactionPart>& parts) {
  std::size_t bytes = 0;
  for (const TransactionPart& part : parts) {
    for (const EventData& event : part.events) bytes += event_size(event);
  }
  return bytes;
}

// The store as the group sees it: the stream heads read (or cached) plus the
// writes planned so far in the group, and the events recorded under the
// group's ids (known only after a fresh read).
class GroupLookup final : public WriteLookup {
 public:
  std::map<std::string, StreamRow, std::less<>> rows;
  std::map<Uuid, RecordedEvent> recorded_events;

  const StreamState& state(std::string_view stream) override {
    const auto it = rows.find(stream);
    return it == rows.end() ? absent_ : it->second.state;
  }
  std::optional<RecordedEvent> recorded(const Uuid& id) override {
    const auto it = recorded_events.find(id);
    if (it == recorded_events.end()) return std::nullopt;
    return it->second;
  }

 private:
  const StreamState absent_{};
};

Json names(std::initializer_list<const char*> attributes) { return attribute_names(attributes); }

Json put(const std::string& table, Json item, const char* absent_key) {
  return Json{{"Put",
               {{"TableName", table},
                {"Item", std::move(item)},
                {"ConditionExpression", std::string("attribute_not_exists(#") + absent_key + ")"},
                {"ExpressionAttributeNames", names({absent_key})}}}};
}

// The condition a stream item's writer puts: unchanged since it was read.
void add_version_condition(Json& operation, std::uint64_t version_read) {
  if (version_read == 0) {
    operation["ConditionExpression"] = "attribute_not_exists(#s)";
    operation["ExpressionAttributeNames"] = names({"s"});
  } else {
    operation["ConditionExpression"] = "#v = :v";
    operation["ExpressionAttributeNames"] = names({"v"});
    operation["ExpressionAttributeValues"] = Json{{":v", attr_n(version_read)}};
  }
}

// The indexes of the items whose condition failed in a cancelled
// transaction; nullopt when the response does not list its reasons.
std::optional<std::vector<std::size_t>> failed_conditions(const aws::AwsResponse& response) {
  const Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("CancellationReasons") ||
      !body["CancellationReasons"].is_array()) {
    return std::nullopt;
  }
  std::vector<std::size_t> failed;
  const Json& reasons = body["CancellationReasons"];
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (!reasons[i].is_object() || !reasons[i].contains("Code") || !reasons[i]["Code"].is_string()) continue;
    if (reasons[i]["Code"].get<std::string>() == "ConditionalCheckFailed") failed.push_back(i);
  }
  return failed;
}

void backoff(int attempt) {
  if (attempt < 3) return;
  thread_local std::minstd_rand random(std::random_device{}());
  const int ceiling = 1 << std::min(attempt, 7);  // 8 .. 128 ms
  std::this_thread::sleep_for(std::chrono::milliseconds(1 + static_cast<int>(random() % ceiling)));
}

}  // namespace

struct DynamoWriter::Pending {
  std::vector<TransactionPart> parts;
  bool single_append = false;
  std::optional<Result<TransactionResult>> outcome;
};

DynamoWriter::DynamoWriter(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

DynamoWriter::~DynamoWriter() { stop(); }

void DynamoWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DynamoWriter::forget_stream(std::string_view stream) {
  std::lock_guard lock(cache_mutex_);
  if (const auto it = streams_.find(stream); it != streams_.end()) streams_.erase(it);
}

Result<TransactionResult> DynamoWriter::write(std::vector<TransactionPart> parts, bool single_append) {
  Pending pending{std::move(parts), single_append, std::nullopt};
  std::unique_lock lock(mutex_);
  if (stopping_) return Status::closed("store is closed");
  queue_.push_back(&pending);
  queued_.notify_one();
  done_.wait(lock, [&] { return pending.outcome.has_value(); });
  return std::move(*pending.outcome);
}

void DynamoWriter::run() {
  std::unique_lock lock(mutex_);
  // As in the PostgreSQL backend: after a commit, wait a little (a quarter of
  // the commit, at most 2 ms) for the writers it released to queue again, so
  // concurrent writers share one transaction instead of taking turns.
  std::size_t gather_target = 0;
  std::chrono::steady_clock::duration gather_limit{};
  while (true) {
    queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    if (gather_target > queue_.size()) {
      queued_.wait_for(lock, gather_limit, [&] { return stopping_ || queue_.size() >= gather_target; });
    }
    std::vector<Pending*> group;
    std::size_t items = 0;
    std::size_t bytes = 0;
    while (!queue_.empty()) {
      Pending* next = queue_.front();
      const std::size_t next_items = items_of(next->parts);
      const std::size_t next_bytes = bytes_of(next->parts);
      if (!group.empty() && (items + next_items > kGroupItems || bytes + next_bytes > kGroupBytes)) break;
      group.push_back(next);
      queue_.pop_front();
      items += next_items;
      bytes += next_bytes;
    }
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    commit_group(group);
    const auto took = std::chrono::steady_clock::now() - started;
    lock.lock();
    done_.notify_all();
    gather_target = queue_.size() + group.size();
    gather_limit = std::min<std::chrono::steady_clock::duration>(took / 4, std::chrono::milliseconds(2));
  }
}

Status DynamoWriter::refresh(const std::vector<Pending*>& group, bool fresh, bool reread_head,
                             std::map<Uuid, RecordedEvent>& recorded) {
  DynamoClient& client = *options_.client;
  const DynamoUri& uri = options_.uri;
  bool need_head = fresh || reread_head;
  std::set<std::string, std::less<>> wanted;
  {
    std::lock_guard lock(cache_mutex_);
    need_head = need_head || !head_;
    if (streams_.size() > kMaxCachedStreams) streams_.clear();
    for (const Pending* pending : group) {
      for (const TransactionPart& part : pending->parts) {
        if (fresh || !streams_.contains(part.stream)) wanted.insert(part.stream);
      }
    }
  }
  if (need_head) {
    Result<Head> head = read_head(client, uri);
    if (!head.ok()) return head.status();
    std::lock_guard lock(cache_mutex_);
    head_ = *head;
  }
  if (!wanted.empty()) {
    std::vector<Json> keys;
    keys.reserve(wanted.size());
    for (const std::string& name : wanted) keys.push_back(stream_key(name));
    Result<std::vector<Json>> items = batch_get(client, uri.table("streams"), keys);
    if (!items.ok()) return items.status();
    std::map<std::string, StreamRow, std::less<>> found;
    for (const Json& item : *items) {
      Result<std::string> name = get_s(item, "s");
      if (!name.ok()) return name.status();
      Result<StreamRow> row = decode_stream_item(item);
      if (!row.ok()) return row.status();
      found[*name] = std::move(row).value();
    }
    std::lock_guard lock(cache_mutex_);
    for (const std::string& name : wanted) {
      const auto it = found.find(name);
      streams_[name] = it == found.end() ? StreamRow{} : it->second;
    }
  }
  if (!fresh) return Status();
  // The events already recorded under the group's ids.
  // Each id once: BatchGetItem refuses duplicate keys (a retried write may
  // share a group with its first attempt).
  std::set<Uuid> ids_wanted;
  for (const Pending* pending : group) {
    for (const TransactionPart& part : pending->parts) {
      for (const EventData& event : part.events) ids_wanted.insert(event.id);
    }
  }
  std::vector<Json> id_keys;
  id_keys.reserve(ids_wanted.size());
  for (const Uuid& id : ids_wanted) id_keys.push_back(Json{{"id", attr_s(id.to_string())}});
  if (id_keys.empty()) return Status();
  Result<std::vector<Json>> ids = batch_get(client, uri.table("ids"), id_keys);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status();
  std::vector<Json> event_keys;
  for (const Json& item : *ids) {
    Result<std::string> stream = get_s(item, "s");
    Result<std::uint64_t> revision = get_n(item, "r");
    if (!stream.ok()) return stream.status();
    if (!revision.ok()) return revision.status();
    event_keys.push_back(Json{{"s", attr_s(*stream)}, {"r", attr_n(*revision)}});
  }
  Result<std::vector<Json>> events = batch_get(client, uri.table("events"), event_keys);
  if (!events.ok()) return events.status();
  for (const Json& item : *events) {
    Result<RecordedEvent> event = decode_event_item(item);
    if (!event.ok()) return event.status();
    recorded[event->id] = std::move(event).value();
  }
  return Status();
}

void DynamoWriter::finish(std::vector<Pending*>& group,
                          std::vector<std::optional<Result<TransactionResult>>>& outcomes) {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!group[i]->outcome && outcomes[i]) group[i]->outcome = std::move(*outcomes[i]);
  }
}

void DynamoWriter::commit_group(std::vector<Pending*>& group) {
  DynamoClient& client = *options_.client;
  const DynamoUri& uri = options_.uri;
  const auto fail_all = [&](const Status& status) {
    std::vector<std::optional<Result<TransactionResult>>> outcomes(group.size(), Result<TransactionResult>(status));
    finish(group, outcomes);
  };
  bool fresh = false;
  bool reread_head = false;
  std::string last_failure;
  const auto deadline = std::chrono::steady_clock::now() + kContentionDeadline;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1 && std::chrono::steady_clock::now() > deadline) {
      fail_all(Status::io_error("dynamodb: gave up a write after " + std::to_string(attempt - 1) + " attempts in " +
                                std::to_string(kContentionDeadline.count()) +
                                " s: other writers kept changing the same items (last: " + last_failure +
                                "); nothing was written"));
      return;
    }
    GroupLookup lookup;
    if (Status status = refresh(group, fresh, reread_head, lookup.recorded_events); !status.ok()) {
      fail_all(status);
      return;
    }
    Head head;
    bool forgotten = false;  // forget_stream() ran between refresh() and here
    {
      std::lock_guard lock(cache_mutex_);
      head = *head_;
      for (const Pending* pending : group) {
        for (const TransactionPart& part : pending->parts) {
          const auto cached = streams_.find(part.stream);
          if (cached == streams_.end()) {
            forgotten = true;
          } else {
            lookup.rows[part.stream] = cached->second;
          }
        }
      }
    }
    if (forgotten) continue;  // read it again
    std::map<std::string, std::uint64_t, std::less<>> versions_read;
    for (const auto& [name, row] : lookup.rows) versions_read[name] = row.version;

    // Decide each write in queue order; the decisions see the earlier ones.
    const std::int64_t recorded_at = std::max(now_timestamp().time_since_epoch().count(), head.last_recorded_at);
    Position next_position = head.last_position ? *head.last_position + 1 : 0;
    std::vector<RecordedEvent> written;
    std::set<std::string, std::less<>> written_streams;
    std::set<std::string, std::less<>> checked_streams;
    std::uint64_t new_streams = 0;
    std::uint64_t new_bytes = 0;
    bool needs_fresh = false;
    std::vector<std::optional<Result<TransactionResult>>> outcomes(group.size());
    for (std::size_t g = 0; g < group.size(); ++g) {
      const Pending& pending = *group[g];
      Result<WritePlan> plan = plan_write(pending.parts, lookup, !pending.single_append);
      if (!plan.ok()) {
        needs_fresh = true;  // a refusal is only answered from fresh reads
        outcomes[g] = plan.status();
        continue;
      }
      TransactionResult result;
      result.parts.resize(pending.parts.size());
      bool wrote = false;
      for (std::size_t i = 0; i < pending.parts.size(); ++i) {
        const TransactionPart& part = pending.parts[i];
        const PlannedPart& planned = plan->parts[i];
        if (planned.kind == PlannedPart::Kind::replayed) {
          needs_fresh = true;
          const AppendResult& replayed = *planned.replayed;
          result.parts[i] = {replayed.first_revision, replayed.last_revision, replayed.position};
          result.position = std::max(result.position, replayed.position);
        } else if (planned.kind == PlannedPart::Kind::write) {
          StreamRow& stream = lookup.rows[part.stream];
          if (!stream.state.last_revision) ++new_streams;
          for (std::size_t e = 0; e < part.events.size(); ++e) {
            const EventData& event = part.events[e];
            RecordedEvent recorded{part.stream,
                                   planned.first_revision + e,
                                   next_position++,
                                   Timestamp(std::chrono::microseconds(recorded_at)),
                                   event.id,
                                   event.type,
                                   event.data,
                                   event.metadata,
                                   event.content_type};
            new_bytes += event_size(event);
            lookup.recorded_events[event.id] = recorded;
            written.push_back(std::move(recorded));
          }
          stream.state.last_revision = planned.first_revision + part.events.size() - 1;
          stream.state.soft_deleted = false;
          stream.last_position = next_position - 1;
          written_streams.insert(part.stream);
          result.parts[i] = {planned.first_revision, stream.state.last_revision, next_position - 1};
          result.position = next_position - 1;
          wrote = true;
        } else {
          checked_streams.insert(part.stream);
        }
      }
      if (!wrote && !plan->replay) needs_fresh = true;  // only conditions: answer from fresh reads
      if (!plan->replay && !wrote) result.position = next_position > 0 ? next_position - 1 : 0;
      for (std::size_t i = 0; i < pending.parts.size(); ++i) {
        if (plan->parts[i].kind != PlannedPart::Kind::condition) continue;
        const auto it = lookup.rows.find(pending.parts[i].stream);
        const std::optional<StreamRevision> at =
            it == lookup.rows.end() ? std::nullopt : it->second.state.visible_revision();
        Position position = result.position;
        if (pending.single_append) position = it == lookup.rows.end() ? 0 : it->second.last_position.value_or(0);
        result.parts[i] = {at, at, position};
      }
      outcomes[g] = std::move(result);
    }
    if (needs_fresh && !fresh) {
      fresh = true;
      continue;
    }
    if (written.empty()) {
      finish(group, outcomes);
      return;
    }

    // The transaction.
    const std::string meta = uri.table("meta");
    Json items = Json::array();
    const std::int64_t old_last = head.last_position ? static_cast<std::int64_t>(*head.last_position) : -1;
    items.push_back(Json{
        {"Update",
         {{"TableName", meta},
          {"Key", head_key()},
          {"UpdateExpression", "SET #lp = :lp, #la = :la ADD #ev :ev, #st :st, #by :by"},
          {"ConditionExpression", "#lp = :old"},
          {"ExpressionAttributeNames", names({"lp", "la", "ev", "st", "by"})},
          {"ExpressionAttributeValues",
           {{":lp", attr_n(next_position - 1)},
            {":la", attr_n_signed(recorded_at)},
            {":ev", attr_n(written.size())},
            {":st", attr_n(new_streams)},
            {":by", attr_n(new_bytes)},
            {":old", attr_n_signed(old_last)}}}}}});
    std::size_t log_begin = 0;
    std::size_t log_bytes = 0;
    for (std::size_t i = 0; i <= written.size(); ++i) {
      const std::size_t bytes = i < written.size() ? event_item_bytes(written[i]) : 0;
      if (i == written.size() || (i > log_begin && log_bytes + bytes > kLogItemBytes)) {
        std::vector<RecordedEvent> chunk(written.begin() + log_begin, written.begin() + i);
        items.push_back(put(uri.table("log"), encode_log_item(chunk), "p"));
        log_begin = i;
        log_bytes = 0;
      }
      log_bytes += bytes;
    }
    for (const RecordedEvent& event : written) {
      items.push_back(put(uri.table("events"), encode_event_item(event), "r"));
      items.push_back(put(uri.table("ids"),
                          Json{{"id", attr_s(event.id.to_string())},
                               {"s", attr_s(event.stream)},
                               {"r", attr_n(event.revision)},
                               {"p", attr_n(event.position)}},
                          "id"));
    }
    for (const std::string& name : written_streams) {
      StreamRow row = lookup.rows[name];
      row.version = versions_read[name] + 1;
      Json operation{{"TableName", uri.table("streams")}, {"Item", encode_stream_item(name, row)}};
      add_version_condition(operation, versions_read[name]);
      items.push_back(Json{{"Put", std::move(operation)}});
    }
    for (const std::string& name : checked_streams) {
      if (written_streams.contains(name)) continue;  // its Put carries the condition
      Json operation{{"TableName", uri.table("streams")}, {"Key", stream_key(name)}};
      add_version_condition(operation, versions_read[name]);
      items.push_back(Json{{"ConditionCheck", std::move(operation)}});
    }
    if (items.size() > kMaxTransactionItems) {
      if (group.size() > 1) {
        // Rare (grouping estimates the items): commit the halves on their own.
        std::vector<Pending*> first(group.begin(), group.begin() + group.size() / 2);
        std::vector<Pending*> second(group.begin() + group.size() / 2, group.end());
        commit_group(first);
        commit_group(second);
        return;
      }
      fail_all(Status::too_large(
          "dynamodb: this write needs " + std::to_string(items.size()) +
          " items in one TransactWriteItems, which takes at most 100 (each event is 2 items, plus one per stream and "
          "the log and head items: at most 48 events per append); split it into smaller appends"));
      return;
    }

    const Json request{{"TransactItems", std::move(items)}, {"ClientRequestToken", Uuid::random().to_string()}};
    Result<aws::AwsResponse> response = client.call_raw("TransactWriteItems", request);
    if (!response.ok()) {
      {
        std::lock_guard lock(cache_mutex_);
        head_.reset();
        streams_.clear();
      }
      fail_all(Status::io_error("dynamodb: no answer to TransactWriteItems; whether the write took effect is "
                                "unknown: retry it with the same event ids (an idempotent retry never writes "
                                "twice): " + response.status().message()));
      return;
    }
    if (response->ok()) {
      {
        std::lock_guard lock(cache_mutex_);
        head_ = Head{next_position - 1, recorded_at, head.events + written.size(), head.streams + new_streams,
                     head.bytes + new_bytes};
        for (const std::string& name : written_streams) {
          StreamRow row = lookup.rows[name];
          row.version = versions_read[name] + 1;
          streams_[name] = std::move(row);
        }
      }
      finish(group, outcomes);
      if (options_.committed) options_.committed(next_position - 1);
      return;
    }
    const std::string& type = response->error_type;
    const std::string& message = response->error_message;
    last_failure = type + ": " + message;
    const bool contention = (type == "TransactionCanceledException" &&
                             (message.find("ConditionalCheckFailed") != std::string::npos ||
                              message.find("TransactionConflict") != std::string::npos ||
                              message.find("ThrottlingError") != std::string::npos ||
                              message.find("ProvisionedThroughputExceeded") != std::string::npos)) ||
                            type == "TransactionConflictException" || type == "TransactionInProgressException";
    if (contention) {
      // Only the head's condition failed: another process committed, the
      // streams of this group are as cached; read the head again. Otherwise
      // read everything again.
      const std::optional<std::vector<std::size_t>> failed = failed_conditions(*response);
      if (failed && failed->size() == 1 && failed->front() == 0 && !fresh) {
        reread_head = true;
      } else {
        fresh = true;
      }
      backoff(attempt);
      continue;
    }
    // A request the service refused may be one write's fault: retry alone.
    if (group.size() > 1) {
      for (Pending* pending : group) {
        std::vector<Pending*> alone{pending};
        commit_group(alone);
      }
      return;
    }
    Status status = aws::error_status("TransactWriteItems", *response);
    if (message.find("Item size") != std::string::npos || message.find("size has exceeded") != std::string::npos) {
      status = Status::too_large("dynamodb: " + message);
    }
    fail_all(status);
    return;
  }
}

}  // namespace evsrc::dynamo
