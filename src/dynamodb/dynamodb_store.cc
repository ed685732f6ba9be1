// The dynamodb:// backend: EventStore over the tables of dynamo_items.h.
// Writes of events go through the DynamoWriter (group commit, one
// TransactWriteItems conditioned on the head item); stream metadata, deletes
// and tombstones are conditional puts of the stream's item; reads are
// strongly consistent and read $all as the chain of log items, which the
// head condition makes a prefix of the position order.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/append_rules.h"
#include "core/read_paging.h"
#include "core/stream_changes.h"
#include "core/snapshot_keys.h"
#include "core/stream_state.h"
#include "dynamodb/dynamo_client.h"
#include "dynamodb/dynamo_requests.h"
#include "dynamodb/dynamo_side_stores.h"
#include "dynamodb/dynamo_tables.h"
#include "dynamodb/dynamo_writer.h"
#include "evsrc/dynamodb.h"

namespace evsrc {
namespace {

using dynamo::attr_b;
using dynamo::attr_n;
using dynamo::attr_s;
using dynamo::DynamoClient;
using dynamo::DynamoUri;
using dynamo::Json;
using dynamo::LogItem;
using dynamo::StreamRow;

Status closed_status() { return Status::closed("store is closed"); }

// How often a read asks again for items that a committed head or stream head
// says exist but that are not visible yet (DynamoDB's reads see a
// transaction's items one by one), sleeping 10, 20, 40 ms in between.
constexpr int kVisibilityRetries = 3;

// What the events of one write may take of a TransactWriteItems (4 MB), the
// rest being keys, names and the head and stream items.
constexpr std::size_t kMaxTransactionBytes = 3'500'000;

Json names(std::initializer_list<const char*> attributes) { return dynamo::attribute_names(attributes); }

// The stream's item; nullopt when it has none.
Result<std::optional<StreamRow>> read_stream_row(DynamoClient& client, const DynamoUri& uri, std::string_view stream) {
  Result<Json> response = client.call("GetItem", Json{{"TableName", uri.table("streams")},
                                                      {"Key", dynamo::stream_key(stream)},
                                                      {"ConsistentRead", true}});
  if (!response.ok()) return response.status();
  if (!response->contains("Item")) return std::optional<StreamRow>();
  Result<StreamRow> row = dynamo::decode_stream_item((*response)["Item"]);
  if (!row.ok()) return row.status();
  return std::optional<StreamRow>(std::move(row).value());
}

class DynamoStore final : public EventStore {
 public:
  DynamoStore(const DynamoUri& uri, std::unique_ptr<DynamoClient> client, const DynamoStoreOptions& options,
              std::optional<Position> last_position)
      : limits_(options.store.limits),
        uri_(uri),
        client_(std::move(client)),
        snapshots_(*client_, uri_, closed_),
        known_last_(last_position),
        writer_(dynamo::DynamoWriter::Options{client_.get(), uri_, [this](Position position) { committed(position); }}) {}

  ~DynamoStore() override {
    if (!closed_.load()) (void)close();
  }

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> input) override {
    if (closed_.load()) return closed_status();
    if (Status status = validate_append(stream, input, limits_); !status.ok()) return status;
    if (Status status = check_item_sizes(input); !status.ok()) return status;
    std::vector<TransactionPart> parts(1);
    parts[0] = TransactionPart{std::string(stream), expected, with_assigned_ids(input)};
    if (Status status = check_unique_ids(parts[0].events); !status.ok()) return status;
    if (Status status = check_transaction_size(parts); !status.ok()) return status;
    Result<TransactionResult> result = writer_.write(std::move(parts), /*single_append=*/true);
    if (!result.ok()) return result.status();
    const TransactionPartResult& part = result->parts[0];
    return AppendResult{part.first_revision.value_or(0), part.last_revision.value_or(0), part.position};
  }

  Result<TransactionResult> commit(std::span<const TransactionPart> input) override {
    if (closed_.load()) return closed_status();
    std::vector<TransactionPart> parts(input.begin(), input.end());
    for (TransactionPart& part : parts) part.events = with_assigned_ids(part.events);
    if (Status status = validate_transaction(parts, limits_); !status.ok()) return status;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (Status status = check_item_sizes(parts[i].events); !status.ok()) return part_error(i, status);
    }
    if (Status status = check_transaction_size(parts); !status.ok()) return status;
    return writer_.write(std::move(parts), /*single_append=*/false);
  }

  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<std::optional<StreamRow>> row = read_stream_row(*client_, uri_, stream);
    if (!row.ok()) return row.status();
    const StreamState* state = *row ? &(*row)->state : nullptr;
    if (Status status = check_readable(stream, state); !status.ok()) return status;
    StreamPage page;
    page.last_revision = *state->last_revision;
    const std::optional<KeyRange> range = stream_read_range(*state, options);
    if (!range) return page;
    // Revisions up to the head read above are committed and never change,
    // so the queries below see one consistent stream.
    const bool forward = range->start <= range->stop;
    std::vector<RecordedEvent> chunk;
    std::uint64_t chunk_first = 0;
    Status error;
    const Timestamp now = now_timestamp();
    page.next = walk_page(*range, options.limit, 0, [&](std::uint64_t revision) {
      if (!error.ok()) return false;
      const bool in_chunk = !chunk.empty() && (forward ? revision >= chunk_first && revision < chunk_first + chunk.size()
                                                       : revision <= chunk_first && chunk_first - revision < chunk.size());
      if (!in_chunk) {
        const std::uint64_t remaining = (forward ? range->stop - revision : revision - range->stop) + 1;
        const std::uint64_t count = std::min<std::uint64_t>(std::max<std::uint64_t>(options.limit, 32),
                                                            std::min<std::uint64_t>(remaining, 1000));
        const std::uint64_t low = forward ? revision : revision - (count - 1);
        // The stream's head says these revisions are committed; while some
        // are not visible yet (read-committed per item), ask again.
        for (int attempt = 0;; ++attempt) {
          Result<std::vector<Json>> items = dynamo::query_items(
              *client_,
              Json{{"TableName", uri_.table("events")},
                   {"KeyConditionExpression", "#s = :s AND #r BETWEEN :lo AND :hi"},
                   {"ExpressionAttributeNames", names({"s", "r"})},
                   {"ExpressionAttributeValues",
                    {{":s", attr_s(stream)}, {":lo", attr_n(low)}, {":hi", attr_n(low + count - 1)}}},
                   {"ScanIndexForward", forward},
                   {"ConsistentRead", true}},
              count);
          if (!items.ok()) {
            error = items.status();
            return false;
          }
          chunk.clear();
          for (const Json& item : *items) {
            Result<RecordedEvent> event = dynamo::decode_event_item(item);
            if (!event.ok()) {
              error = event.status();
              return false;
            }
            chunk.push_back(std::move(event).value());
          }
          if (chunk.size() == count) break;
          if (attempt == kVisibilityRetries) {
            error = Status::corruption("stream " + std::string(stream) + " lacks events between revisions " +
                                       std::to_string(low) + " and " + std::to_string(low + count - 1));
            return false;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
        }
        chunk_first = revision;
      }
      const RecordedEvent& event = chunk[forward ? revision - chunk_first : chunk_first - revision];
      if (!state->visible(revision, event.recorded_at, now)) return false;
      page.events.push_back(event);
      return true;
    });
    if (!error.ok()) return error;
    return page;
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    if (Status status = check_page_limit(options.limit); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<dynamo::Head> head = dynamo::read_head(*client_, uri_);
    if (!head.ok()) return head.status();
    AllPage page;
    if (!head->last_position) return page;
    const Position last = *head->last_position;
    const bool forward = options.direction == Direction::forward;
    const EventFilter& filter = options.filter;
    // Takes an event into the page; false once the page is full.
    const auto take = [&](const RecordedEvent& event) {
      if (filter.matches(event)) page.events.push_back(event);
      return page.events.size() < options.limit;
    };
    if (forward) {
      const Position from = options.from.value_or(0);
      if (from > last) return page;
      // The scan window (scan_limit positions) ends the walk early.
      const Position last_scanned = std::min(last, scan_window_end(from, Direction::forward, options.scan_limit));
      Result<std::optional<Position>> unseen = walk_forward(from, last_scanned, [&](const LogItem& log) {
        for (const RecordedEvent& event : log.events) {
          if (event.position < from || event.position > last_scanned) continue;
          if (!take(event)) return false;
        }
        return true;
      });
      if (!unseen.ok()) return unseen.status();
      if (page.events.size() == options.limit && page.events.back().position < last) {
        page.next = page.events.back().position + 1;
      } else if (*unseen && page.events.size() < options.limit) {
        // The head says positions up to `last` are committed, but the log
        // items from `unseen` on are not visible to this read yet (DynamoDB's
        // reads are read-committed per item, not per transaction): the page
        // is not the end, and the next one starts there.
        page.next = **unseen;
      } else if (page.events.size() < options.limit && last_scanned < last) {
        page.next = last_scanned + 1;
      }
    } else {
      const Position from = std::min(options.from.value_or(last), last);
      const Position lowest = scan_window_end(from, Direction::backward, options.scan_limit);
      Status status = walk_backward(from, [&](const LogItem& log) {
        for (auto it = log.events.rbegin(); it != log.events.rend(); ++it) {
          if (it->position > from) continue;
          if (it->position < lowest) return false;
          if (!take(*it)) return false;
        }
        return true;
      });
      if (!status.ok()) return status;
      if (page.events.size() == options.limit) {
        if (page.events.back().position > 0) page.next = page.events.back().position - 1;
      } else if (lowest > 0) {
        page.next = lowest - 1;
      }
    }
    return page;
  }

  Result<StreamInfo> stream_info(std::string_view stream) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (closed_.load()) return closed_status();
    Result<std::optional<StreamRow>> row = read_stream_row(*client_, uri_, stream);
    if (!row.ok()) return row.status();
    if (!*row) {
      return Status::not_found("stream " + std::string(stream) + " was never written");
    }
    const StreamState& state = (*row)->state;
    return StreamInfo{std::string(stream), state.last_revision, state.soft_deleted, state.tombstoned, state.metadata};
  }

  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return change_stream_metadata(stream, state, metadata); });
  }

  Status delete_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return soft_delete_stream(stream, state, expected); });
  }

  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return change_stream(stream, [&](StreamState& state) { return tombstone_stream_state(stream, state, expected); });
  }

  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override {
    if (closed_.load()) return closed_status();
    std::vector<std::string> out;
    if (limit == 0) return out;
    Json request{{"TableName", uri_.table("streams")}, {"ConsistentRead", true}};
    // Start after `after`, or at `prefix` when that is later.
    if (!prefix.empty() && std::string_view(after) < prefix) {
      request["KeyConditionExpression"] = "#g = :g AND begins_with(#s, :p)";
      request["ExpressionAttributeValues"] = Json{{":g", attr_s("s")}, {":p", attr_s(prefix)}};
    } else if (!after.empty()) {
      request["KeyConditionExpression"] = "#g = :g AND #s > :a";
      request["ExpressionAttributeValues"] = Json{{":g", attr_s("s")}, {":a", attr_s(after)}};
    } else {
      request["KeyConditionExpression"] = "#g = :g";
      request["ExpressionAttributeValues"] = Json{{":g", attr_s("s")}};
    }
    request["ExpressionAttributeNames"] =
        request["KeyConditionExpression"].get<std::string>().find("#s") != std::string::npos ? names({"g", "s"})
                                                                                             : names({"g"});
    while (out.size() < limit) {
      request["Limit"] = std::min<std::size_t>(std::max<std::size_t>(limit - out.size(), 16), 1000);
      Result<Json> response = client_->call("Query", request);
      if (!response.ok()) return response.status();
      for (const Json& item : (*response)["Items"]) {
        Result<std::string> name = dynamo::get_s(item, "s");
        if (!name.ok()) return name.status();
        if (!name->starts_with(prefix)) return out;  // past the prefix (keys are in byte order)
        Result<StreamRow> row = dynamo::decode_stream_item(item);
        if (!row.ok()) return row.status();
        if (!row->state.exists()) continue;
        out.push_back(std::move(name).value());
        if (out.size() == limit) return out;
      }
      const auto next = response->find("LastEvaluatedKey");
      if (next == response->end() || next->is_null()) break;
      request["ExclusiveStartKey"] = *next;
    }
    return out;
  }

  Result<StoreStats> stats() override {
    if (closed_.load()) return closed_status();
    Result<dynamo::Head> head = dynamo::read_head(*client_, uri_);
    if (!head.ok()) return head.status();
    StoreStats stats;
    stats.events = head->events;
    stats.streams = head->streams;
    stats.bytes = head->bytes;
    stats.last_position = head->last_position;
    return stats;
  }

  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override {
    const auto deadline =
        std::chrono::steady_clock::now() + std::clamp(timeout, std::chrono::milliseconds(0),
                                                      std::chrono::milliseconds(std::chrono::hours(24)));
    const auto satisfied = [&] { return known_last_ && (!after || *known_last_ > *after); };
    std::unique_lock lock(commit_mutex_);
    while (true) {
      if (closed_.load()) return false;
      if (satisfied()) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      const auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now, uri_.poll);
      if (commit_cv_.wait_for(lock, slice, [&] { return satisfied() || closed_.load(); })) continue;
      // Nothing from this store object: ask the head item (other processes).
      lock.unlock();
      Result<dynamo::Head> head = closed_.load() ? Result<dynamo::Head>(closed_status())
                                                 : dynamo::read_head(*client_, uri_);
      lock.lock();
      if (head.ok() && head->last_position && (!known_last_ || *head->last_position > *known_last_)) {
        known_last_ = head->last_position;
      }
    }
  }

  SnapshotStore& snapshots() override { return snapshots_; }

  Status close() override {
    if (closed_.exchange(true)) return closed_status();
    writer_.stop();
    {
      std::lock_guard lock(commit_mutex_);
    }
    commit_cv_.notify_all();
    return Status();
  }

 private:
  void committed(Position position) {
    {
      std::lock_guard lock(commit_mutex_);
      if (!known_last_ || position > *known_last_) known_last_ = position;
    }
    commit_cv_.notify_all();
  }

  // too_large for a write whose events a TransactWriteItems cannot hold:
  // 4 MB, with each event stored twice (its item and the log).
  static Status check_transaction_size(std::span<const TransactionPart> parts) {
    std::size_t bytes = 0;
    for (const TransactionPart& part : parts) {
      for (const EventData& event : part.events) bytes += 2 * (event_size(event) + 256);
    }
    if (bytes > kMaxTransactionBytes) {
      return Status::too_large("a write of " + std::to_string(bytes / 2) +
                               " bytes of events: the dynamodb backend commits a write in one TransactWriteItems, which "
                               "holds 4 MB, and stores each event twice (at most about 1.7 MB of events per write)");
    }
    return Status();
  }

  // too_large for an event DynamoDB cannot hold in one item.
  static Status check_item_sizes(std::span<const EventData> events) {
    for (const EventData& event : events) {
      if (event_size(event) > dynamo::kMaxEventBytes) {
        return Status::too_large("event of " + std::to_string(event_size(event)) +
                                 " bytes: the dynamodb backend stores events of at most " +
                                 std::to_string(dynamo::kMaxEventBytes) + " bytes (DynamoDB items hold 400 KB)");
      }
    }
    return Status();
  }

  // The log item holding `position` (nullopt when none does: not committed,
  // or not visible yet).
  Result<std::optional<LogItem>> log_item_at(Position position) {
    const std::uint64_t bucket = dynamo::log_bucket(position);
    for (std::uint64_t b = bucket;; --b) {
      Result<Json> response = client_->call(
          "Query", Json{{"TableName", uri_.table("log")},
                        {"KeyConditionExpression", "#b = :b AND #p <= :p"},
                        {"ExpressionAttributeNames", names({"b", "p"})},
                        {"ExpressionAttributeValues", {{":b", attr_n(b)}, {":p", attr_n(position)}}},
                        {"ScanIndexForward", false},
                        {"Limit", 1},
                        {"ConsistentRead", true}});
      if (!response.ok()) return response.status();
      const Json& items = (*response)["Items"];
      if (!items.empty()) {
        Result<LogItem> log = dynamo::decode_log_item(items[0]);
        if (!log.ok()) return log.status();
        if (log->next <= position) return std::optional<LogItem>();
        return std::optional<LogItem>(std::move(log).value());
      }
      // The item holding `position` may have started in the bucket before.
      if (b == 0 || b + 1 == bucket) return std::optional<LogItem>();
    }
  }

  // The log item holding `position`, which the head says is committed: asked
  // again a few times (with short sleeps) while it is not visible yet;
  // nullopt when it still is not.
  Result<std::optional<LogItem>> committed_log_item_at(Position position) {
    for (int attempt = 0;; ++attempt) {
      Result<std::optional<LogItem>> log = log_item_at(position);
      if (!log.ok() || *log || attempt == kVisibilityRetries) return log;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 << attempt));
    }
  }

  // Calls visit() for the log items from the one holding `from` on, in
  // position order, while it returns true and the items start at or before
  // `last` (the head, read before: everything up to it is committed).
  // Follows the chain (each item starts where the one before ended). Returns
  // the position where the chain stopped before `last` — committed but not
  // visible to this read even after asking again — or nullopt.
  Result<std::optional<Position>> walk_forward(Position from, Position last,
                                               const std::function<bool(const LogItem&)>& visit) {
    Result<std::optional<LogItem>> first = committed_log_item_at(from);
    if (!first.ok()) return first.status();
    if (!*first) return std::optional<Position>(from);
    if (!visit(**first)) return std::optional<Position>();
    Position expected = (*first)->next;
    int retries = 0;
    while (expected <= last) {
      const std::uint64_t bucket = dynamo::log_bucket(expected);
      Result<Json> response = client_->call(
          "Query", Json{{"TableName", uri_.table("log")},
                        {"KeyConditionExpression", "#b = :b AND #p >= :p"},
                        {"ExpressionAttributeNames", names({"b", "p"})},
                        {"ExpressionAttributeValues", {{":b", attr_n(bucket)}, {":p", attr_n(expected)}}},
                        {"Limit", 32},
                        {"ConsistentRead", true}});
      if (!response.ok()) return response.status();
      bool progressed = false;
      for (const Json& item : (*response)["Items"]) {
        Result<LogItem> log = dynamo::decode_log_item(item);
        if (!log.ok()) return log.status();
        if (log->first != expected) break;  // the chain breaks: not visible yet
        progressed = true;
        if (!visit(*log)) return std::optional<Position>();
        expected = log->next;
        if (expected > last) return std::optional<Position>();
      }
      if (progressed) {
        retries = 0;
        continue;
      }
      if (retries == kVisibilityRetries) return std::optional<Position>(expected);
      std::this_thread::sleep_for(std::chrono::milliseconds(10 << retries++));
    }
    return std::optional<Position>();
  }

  // Calls visit() for the log items from the one holding `from` down to
  // position 0, while it returns true. REQUIRES: `from` <= the head read
  // before (committed).
  Status walk_backward(Position from, const std::function<bool(const LogItem&)>& visit) {
    const auto not_visible = [](Position position) {
      return Status::io_error("dynamodb: committed position " + std::to_string(position) +
                              " is not visible to reads yet; read again");
    };
    Result<std::optional<LogItem>> first = committed_log_item_at(from);
    if (!first.ok()) return first.status();
    if (!*first) return not_visible(from);
    if (!visit(**first)) return Status();
    Position expected_next = (*first)->first;  // the item before ends here
    while (expected_next > 0) {
      Result<std::optional<LogItem>> previous = committed_log_item_at(expected_next - 1);
      if (!previous.ok()) return previous.status();
      if (!*previous) return not_visible(expected_next - 1);
      if ((*previous)->next != expected_next) {
        return Status::corruption("dynamodb: the log item at position " + std::to_string((*previous)->first) +
                                  " does not end where the next one starts (" + std::to_string(expected_next) + ")");
      }
      if (!visit(**previous)) return Status();
      expected_next = (*previous)->first;
    }
    return Status();
  }

  // Runs `change` on the stream's state and stores it with a conditional put
  // (the item's version unchanged since it was read); reads again when
  // another writer changed it meanwhile. These writes take no position.
  template <typename Change>
  Status change_stream(std::string_view stream, Change&& change) {
    if (closed_.load()) return closed_status();
    for (int attempt = 0; attempt < 50; ++attempt) {
      Result<std::optional<StreamRow>> read = read_stream_row(*client_, uri_, stream);
      if (!read.ok()) return read.status();
      StreamRow row = read->value_or(StreamRow{});
      const std::uint64_t version_read = row.version;
      if (Status status = change(row.state); !status.ok()) return status;
      row.version = version_read + 1;
      // A token of this change: if the put took effect but its answer was
      // lost, the client's retry fails its condition, and the token tells.
      const std::string token = Uuid::random().to_string();
      Json item = dynamo::encode_stream_item(stream, row);
      item["tk"] = attr_s(token);
      Json request{{"TableName", uri_.table("streams")}, {"Item", std::move(item)}};
      if (version_read == 0) {
        request["ConditionExpression"] = "attribute_not_exists(#s)";
        request["ExpressionAttributeNames"] = names({"s"});
      } else {
        request["ConditionExpression"] = "#v = :v";
        request["ExpressionAttributeNames"] = names({"v"});
        request["ExpressionAttributeValues"] = Json{{":v", attr_n(version_read)}};
      }
      Result<aws::AwsResponse> response = client_->call_raw("PutItem", request);
      if (!response.ok()) return response.status();
      if (response->ok()) {
        writer_.forget_stream(stream);
        return Status();
      }
      if (response->error_type != "ConditionalCheckFailedException") return aws::error_status("PutItem", *response);
      Result<Json> current = client_->call("GetItem", Json{{"TableName", uri_.table("streams")},
                                                         {"Key", dynamo::stream_key(stream)},
                                                         {"ConsistentRead", true}});
      if (!current.ok()) return current.status();
      if (current->contains("Item")) {
        Result<std::string> stored = dynamo::get_s((*current)["Item"], "tk");
        if (stored.ok() && *stored == token) {  // ours took effect; its answer was lost
          writer_.forget_stream(stream);
          return Status();
        }
      }
    }
    return Status::io_error("dynamodb: stream " + std::string(stream) +
                            " kept changing while its metadata was written; nothing was changed");
  }

  const Limits limits_;
  const DynamoUri uri_;
  std::atomic<bool> closed_{false};
  std::unique_ptr<DynamoClient> client_;
  dynamo::DynamoSnapshotStore snapshots_;
  std::mutex commit_mutex_;
  std::condition_variable commit_cv_;
  std::optional<Position> known_last_;  // commit_mutex_
  dynamo::DynamoWriter writer_;
};

Result<std::pair<DynamoUri, std::unique_ptr<DynamoClient>>> connect(std::string_view uri) {
  Result<DynamoUri> parsed = dynamo::parse_dynamo_uri(uri);
  if (!parsed.ok()) return parsed.status();
  Result<std::unique_ptr<DynamoClient>> client = DynamoClient::open(*parsed);
  if (!client.ok()) return client.status();
  return std::make_pair(std::move(parsed).value(), std::move(client).value());
}

// One request when the tables are current (every CLI call opens a store);
// otherwise creates what is missing.
Status ensure_tables(DynamoClient& client, const DynamoUri& uri) {
  Result<int> version = dynamo::recorded_version(client, uri);
  if (!version.ok()) return version.status();
  if (*version == kDynamoSchemaVersion) return Status();
  return dynamo::migrate(client, uri).status();
}

}  // namespace

Result<DynamoMigrationResult> migrate_dynamodb_tables(std::string_view uri) {
  auto connected = connect(uri);
  if (!connected.ok()) return connected.status();
  return dynamo::migrate(*connected->second, connected->first);
}

Status delete_dynamodb_tables(std::string_view uri) {
  auto connected = connect(uri);
  if (!connected.ok()) return connected.status();
  return dynamo::delete_tables(*connected->second, connected->first);
}

Result<std::unique_ptr<CheckpointStore>> open_dynamodb_checkpoints(std::string_view uri) {
  auto connected = connect(uri);
  if (!connected.ok()) return connected.status();
  if (Status status = ensure_tables(*connected->second, connected->first); !status.ok()) return status;
  return std::unique_ptr<CheckpointStore>(
      std::make_unique<dynamo::DynamoCheckpoints>(std::move(connected->second), connected->first));
}

Result<std::unique_ptr<EventStore>> open_dynamodb_store(std::string_view uri, const DynamoStoreOptions& options) {
  auto connected = connect(uri);
  if (!connected.ok()) return connected.status();
  if (Status status = ensure_tables(*connected->second, connected->first); !status.ok()) return status;
  Result<dynamo::Head> head = dynamo::read_head(*connected->second, connected->first);
  if (!head.ok()) return head.status();
  return std::unique_ptr<EventStore>(std::make_unique<DynamoStore>(connected->first, std::move(connected->second),
                                                                   options, head->last_position));
}

}  // namespace evsrc
