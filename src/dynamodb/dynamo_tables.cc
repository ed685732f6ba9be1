#include "dynamodb/dynamo_tables.h"

#include <chrono>
#include <string>
#include <thread>

namespace evsrc::dynamo {
namespace {

struct KeyAttribute {
  const char* name;
  const char* type;  // "S", "N", "B"
};

struct TableLayout {
  KeyAttribute hash;
  std::optional<KeyAttribute> range;
};

TableLayout layout_of(std::string_view table) {
  if (table == "events") return {{"s", "S"}, KeyAttribute{"r", "N"}};
  if (table == "log") return {{"b", "N"}, KeyAttribute{"p", "N"}};
  if (table == "streams") return {{"g", "S"}, KeyAttribute{"s", "S"}};
  if (table == "ids") return {{"id", "S"}, std::nullopt};
  if (table == "meta") return {{"k", "S"}, std::nullopt};
  if (table == "snapshots") return {{"k", "B"}, KeyAttribute{"r", "N"}};
  return {{"n", "S"}, std::nullopt};  // checkpoints
}

Json create_table_request(const std::string& name, const TableLayout& layout) {
  Json attributes = Json::array({{{"AttributeName", layout.hash.name}, {"AttributeType", layout.hash.type}}});
  Json keys = Json::array({{{"AttributeName", layout.hash.name}, {"KeyType", "HASH"}}});
  if (layout.range) {
    attributes.push_back({{"AttributeName", layout.range->name}, {"AttributeType", layout.range->type}});
    keys.push_back({{"AttributeName", layout.range->name}, {"KeyType", "RANGE"}});
  }
  return Json{{"TableName", name},
              {"AttributeDefinitions", std::move(attributes)},
              {"KeySchema", std::move(keys)},
              {"BillingMode", "PAY_PER_REQUEST"}};
}

// "ACTIVE", "CREATING", ... or "" when the table does not exist.
Result<std::string> table_status(DynamoClient& client, const std::string& name) {
  Result<aws::AwsResponse> response = client.call_raw("DescribeTable", Json{{"TableName", name}});
  if (!response.ok()) return response.status();
  if (response->error_type == "ResourceNotFoundException") return std::string();
  if (!response->ok()) return aws::error_status("DescribeTable", *response);
  Result<Json> body = aws::parse_response("DescribeTable", *response);
  if (!body.ok()) return body.status();
  return body->value(Json::json_pointer("/Table/TableStatus"), std::string("UNKNOWN"));
}

}  // namespace

Json head_key() { return Json{{"k", attr_s("head")}}; }

Result<int> recorded_version(DynamoClient& client, const DynamoUri& uri) {
  Result<aws::AwsResponse> response = client.call_raw(
      "GetItem", Json{{"TableName", uri.table("meta")}, {"Key", {{"k", attr_s("schema")}}}, {"ConsistentRead", true}});
  if (!response.ok()) return response.status();
  if (response->error_type == "ResourceNotFoundException") return 0;
  if (!response->ok()) return aws::error_status("GetItem (schema)", *response);
  Result<Json> body = aws::parse_response("GetItem", *response);
  if (!body.ok()) return body.status();
  if (!body->contains("Item")) return 0;
  Result<std::uint64_t> version = get_n((*body)["Item"], "version");
  if (!version.ok()) return version.status();
  return static_cast<int>(*version);
}

Result<DynamoMigrationResult> migrate(DynamoClient& client, const DynamoUri& uri) {
  DynamoMigrationResult result;
  const std::string meta = uri.table("meta");
  Result<int> recorded = recorded_version(client, uri);
  if (!recorded.ok()) return recorded.status();
  result.version_before = *recorded;
  if (result.version_before > kDynamoSchemaVersion) {
    return Status::corruption("the DynamoDB tables " + uri.prefix + "_* have layout version " +
                              std::to_string(result.version_before) + ", newer than this evsrc understands (" +
                              std::to_string(kDynamoSchemaVersion) + "): upgrade evsrc");
  }
  for (const char* table : kTables) {
    const std::string name = uri.table(table);
    Result<std::string> status = table_status(client, name);
    if (!status.ok()) return status.status();
    if (!status->empty()) continue;
    Result<aws::AwsResponse> created = client.call_raw("CreateTable", create_table_request(name, layout_of(table)));
    if (!created.ok()) return created.status();
    if (created->error_type == "ResourceInUseException") continue;  // another process creates it
    if (!created->ok()) return aws::error_status("CreateTable " + name, *created);
    ++result.tables_created;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (const char* table : kTables) {
    const std::string name = uri.table(table);
    while (true) {
      Result<std::string> status = table_status(client, name);
      if (!status.ok()) return status.status();
      if (*status == "ACTIVE") break;
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::timeout("DynamoDB table " + name + " did not become ACTIVE within 5 minutes (status " +
                               (status->empty() ? std::string("missing") : *status) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // The head item, unless it exists; then the version.
  Result<aws::AwsResponse> head = client.call_raw(
      "PutItem", Json{{"TableName", meta},
                      {"Item",
                       {{"k", attr_s("head")},
                        {"lp", attr_n_signed(-1)},
                        {"la", attr_n(0)},
                        {"ev", attr_n(0)},
                        {"st", attr_n(0)},
                        {"by", attr_n(0)}}},
                      {"ConditionExpression", "attribute_not_exists(k)"}});
  if (!head.ok()) return head.status();
  if (!head->ok() && head->error_type != "ConditionalCheckFailedException") {
    return aws::error_status("PutItem (head)", *head);
  }
  result.version_after = kDynamoSchemaVersion;
  if (result.version_before != result.version_after) {
    Result<Json> written = client.call(
        "PutItem", Json{{"TableName", meta},
                        {"Item", {{"k", attr_s("schema")}, {"version", attr_n(kDynamoSchemaVersion)}}}});
    if (!written.ok()) return written.status();
  }
  return result;
}

Status delete_tables(DynamoClient& client, const DynamoUri& uri) {
  for (const char* table : kTables) {
    Result<aws::AwsResponse> deleted = client.call_raw("DeleteTable", Json{{"TableName", uri.table(table)}});
    if (!deleted.ok()) return deleted.status();
    if (!deleted->ok() && deleted->error_type != "ResourceNotFoundException") {
      return aws::error_status("DeleteTable", *deleted);
    }
  }
  return Status();
}

Result<Head> read_head(DynamoClient& client, const DynamoUri& uri) {
  Result<Json> response =
      client.call("GetItem", Json{{"TableName", uri.table("meta")}, {"Key", head_key()}, {"ConsistentRead", true}});
  if (!response.ok()) return response.status();
  if (!response->contains("Item")) {
    return Status::corruption("dynamodb: the head item of " + uri.prefix + "_meta is missing (run evsrc migrate)");
  }
  const Json& item = (*response)["Item"];
  Result<std::int64_t> last = get_n_signed(item, "lp");
  if (!last.ok()) return last.status();
  Head head;
  if (*last >= 0) head.last_position = static_cast<Position>(*last);
  head.last_recorded_at = static_cast<std::int64_t>(get_optional_n(item, "la").value_or(0));
  head.events = get_optional_n(item, "ev").value_or(0);
  head.streams = get_optional_n(item, "st").value_or(0);
  head.bytes = get_optional_n(item, "by").value_or(0);
  return head;
}

}  // namespace evsrc::dynamo
