#include "dynamodb/dynamo_side_stores.h"

#include "core/snapshot_keys.h"
#include "dynamodb/dynamo_requests.h"
#include "dynamodb/dynamo_writer.h"

namespace evsrc::dynamo {
namespace {

Status closed_status() { return Status::closed("store is closed"); }

std::string snapshot_key(std::string_view stream, std::string_view view, std::uint32_t version) {
  std::string key(stream);
  key.push_back('\0');
  key.append(view);
  key.push_back('\0');
  key.append(std::to_string(version));
  return key;
}

}  // namespace

DynamoSnapshotStore::DynamoSnapshotStore(DynamoClient& client, const DynamoUri& uri, const std::atomic<bool>& closed)
    : client_(client), table_(uri.table("snapshots")), closed_(closed) {}

Status DynamoSnapshotStore::put(const Snapshot& snapshot) {
  if (closed_.load()) return closed_status();
  if (Status valid = snapshot_keys::validate(snapshot.stream, snapshot.view); !valid.ok()) return valid;
  if (snapshot.state.size() > kMaxEventBytes) {
    return Status::too_large("dynamodb: a snapshot state holds at most " +
                             std::to_string(kMaxEventBytes) + " bytes (DynamoDB items hold 400 KB)");
  }
  Json item{{"k", attr_b(snapshot_key(snapshot.stream, snapshot.view, snapshot.view_version))},
            {"r", attr_n(snapshot.revision)}};
  put_b(item, "st", snapshot.state);
  Result<Json> response = client_.call("PutItem", Json{{"TableName", table_}, {"Item", std::move(item)}});
  return response.status();
}

Result<std::optional<Snapshot>> DynamoSnapshotStore::find(std::string_view stream, std::string_view view,
                                                          std::uint32_t view_version, StreamRevision at_or_before) {
  if (closed_.load()) return closed_status();
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<std::vector<Json>> items = query_items(
      client_,
      Json{{"TableName", table_},
           {"KeyConditionExpression", "#k = :k AND #r <= :r"},
           {"ExpressionAttributeNames", attribute_names({"k", "r"})},
           {"ExpressionAttributeValues",
            {{":k", attr_b(snapshot_key(stream, view, view_version))}, {":r", attr_n(at_or_before)}}},
           {"ScanIndexForward", false},
           {"ConsistentRead", true}},
      1);
  if (!items.ok()) return items.status();
  if (items->empty()) return std::optional<Snapshot>();
  const Json& item = items->front();
  Result<std::uint64_t> revision = get_n(item, "r");
  if (!revision.ok()) return revision.status();
  Result<std::string> state = get_b_or_empty(item, "st");
  if (!state.ok()) return state.status();
  return std::optional<Snapshot>(
      Snapshot{std::string(stream), std::string(view), view_version, *revision, std::move(state).value()});
}

Result<std::vector<StreamRevision>> DynamoSnapshotStore::list(std::string_view stream, std::string_view view,
                                                              std::uint32_t view_version) {
  if (closed_.load()) return closed_status();
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<std::vector<Json>> items =
      query_items(client_,
                          Json{{"TableName", table_},
                               {"KeyConditionExpression", "#k = :k"},
                               {"ExpressionAttributeValues", {{":k", attr_b(snapshot_key(stream, view, view_version))}}},
                               {"ProjectionExpression", "#r"},
                               {"ExpressionAttributeNames", attribute_names({"k", "r"})},
                               {"ConsistentRead", true}},
                          0);
  if (!items.ok()) return items.status();
  std::vector<StreamRevision> revisions;
  for (const Json& item : *items) {
    Result<std::uint64_t> revision = get_n(item, "r");
    if (!revision.ok()) return revision.status();
    revisions.push_back(*revision);
  }
  return revisions;
}

Status DynamoSnapshotStore::erase(std::string_view stream, std::string_view view, std::uint32_t view_version,
                                  StreamRevision revision) {
  if (closed_.load()) return closed_status();
  if (Status valid = snapshot_keys::validate(stream, view); !valid.ok()) return valid;
  Result<Json> response = client_.call(
      "DeleteItem",
      Json{{"TableName", table_},
           {"Key", {{"k", attr_b(snapshot_key(stream, view, view_version))}, {"r", attr_n(revision)}}}});
  return response.status();
}

DynamoCheckpoints::DynamoCheckpoints(std::unique_ptr<DynamoClient> client, const DynamoUri& uri)
    : client_(std::move(client)), table_(uri.table("checkpoints")) {}

Result<std::optional<Position>> DynamoCheckpoints::load(std::string_view name) {
  if (Status valid = validate_checkpoint_name(name); !valid.ok()) return valid;
  Result<Json> response = client_->call(
      "GetItem", Json{{"TableName", table_}, {"Key", {{"n", attr_s(name)}}}, {"ConsistentRead", true}});
  if (!response.ok()) return response.status();
  if (!response->contains("Item")) return std::optional<Position>();
  Result<std::uint64_t> position = get_n((*response)["Item"], "p");
  if (!position.ok()) return position.status();
  return std::optional<Position>(*position);
}

Status DynamoCheckpoints::save(std::string_view name, Position position) {
  if (Status valid = validate_checkpoint_name(name); !valid.ok()) return valid;
  return client_->call("PutItem", Json{{"TableName", table_}, {"Item", {{"n", attr_s(name)}, {"p", attr_n(position)}}}})
      .status();
}

}  // namespace evsrc::dynamo
