// KinesisClient over AwsJsonClient (Kinesis_20131202, JSON 1.1).
#include "kinesis/kinesis_client.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>

#include "aws/aws_credentials.h"
#include "aws/aws_json_client.h"
#include "openssl/sha.h"

namespace evsrc {
namespace {

using nlohmann::json;

class AwsKinesisClient final : public KinesisClient {
 public:
  explicit AwsKinesisClient(aws::AwsJsonClient::Options options) : client_(std::move(options)) {}

  Status create_stream(std::string_view stream, int shard_count) override {
    json request = {{"StreamName", stream}, {"ShardCount", shard_count}};
    auto response = client_.call("CreateStream", request.dump());
    if (!response.ok()) return response.status();
    if (response->error_type == "ResourceInUseException") return Status();  // exists
    if (!response->ok()) return error("CreateStream", *response, stream);
    return Status();
  }

  Result<std::string> stream_status(std::string_view stream) override {
    auto body = call("DescribeStreamSummary", json{{"StreamName", stream}}, stream);
    if (!body.ok()) return body.status();
    const json* summary = body->contains("StreamDescriptionSummary") ? &(*body)["StreamDescriptionSummary"] : nullptr;
    if (summary == nullptr || !summary->contains("StreamStatus") || !(*summary)["StreamStatus"].is_string()) {
      return Status::corruption("DescribeStreamSummary: no StreamStatus in the response");
    }
    return (*summary)["StreamStatus"].get<std::string>();
  }

  Result<std::vector<std::string>> list_shards(std::string_view stream) override {
    std::vector<std::string> shards;
    json request = {{"StreamName", stream}};
    for (;;) {
      auto body = call("ListShards", request, stream);
      if (!body.ok()) return body.status();
      if (!body->contains("Shards") || !(*body)["Shards"].is_array()) {
        return Status::corruption("ListShards: no Shards in the response");
      }
      for (const json& shard : (*body)["Shards"]) {
        if (!shard.contains("ShardId") || !shard["ShardId"].is_string()) {
          return Status::corruption("ListShards: a shard without ShardId");
        }
        shards.push_back(shard["ShardId"].get<std::string>());
      }
      if (!body->contains("NextToken") || !(*body)["NextToken"].is_string()) break;
      request = json{{"NextToken", (*body)["NextToken"]}};
    }
    return shards;
  }

  Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                     std::span<const KinesisPutEntry> entries) override {
    json records = json::array();
    for (const KinesisPutEntry& entry : entries) {
      records.push_back({{"Data", aws::base64_encode(entry.data)}, {"PartitionKey", entry.partition_key}});
    }
    auto body = call("PutRecords", json{{"StreamName", stream}, {"Records", std::move(records)}}, stream);
    if (!body.ok()) return body.status();
    if (!body->contains("Records") || !(*body)["Records"].is_array() || (*body)["Records"].size() != entries.size()) {
      return Status::corruption("PutRecords: the response does not hold one record per request record");
    }
    std::vector<KinesisPutOutcome> outcomes;
    outcomes.reserve(entries.size());
    for (const json& record : (*body)["Records"]) {
      KinesisPutOutcome outcome;
      outcome.sequence_number = record.value("SequenceNumber", "");
      outcome.shard_id = record.value("ShardId", "");
      outcome.error_code = record.value("ErrorCode", "");
      outcome.error_message = record.value("ErrorMessage", "");
      if (outcome.error_code.empty() && outcome.sequence_number.empty()) {
        outcome.error_code = "MissingSequenceNumber";  // treat as failed: send again
      }
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

  Result<std::string> get_shard_iterator(std::string_view stream, std::string_view shard,
                                         const std::optional<std::string>& after_sequence_number) override {
    json request = {{"StreamName", stream}, {"ShardId", shard}};
    if (after_sequence_number) {
      request["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER";
      request["StartingSequenceNumber"] = *after_sequence_number;
    } else {
      request["ShardIteratorType"] = "TRIM_HORIZON";
    }
    auto body = call("GetShardIterator", request, stream);
    if (!body.ok()) return body.status();
    if (!body->contains("ShardIterator") || !(*body)["ShardIterator"].is_string()) {
      return Status::corruption("GetShardIterator: no ShardIterator in the response");
    }
    return (*body)["ShardIterator"].get<std::string>();
  }

  Result<KinesisGetRecordsOutput> get_records(std::string_view iterator, int limit) override {
    json request = {{"ShardIterator", iterator}, {"Limit", limit}};
    auto response = client_.call("GetRecords", request.dump());
    if (!response.ok()) return response.status();
    KinesisGetRecordsOutput output;
    if (response->error_type == "ExpiredIteratorException") {
      output.iterator_expired = true;
      return output;
    }
    if (!response->ok()) return error("GetRecords", *response, client_.endpoint().url);
    auto body = aws::parse_response("GetRecords", *response);
    if (!body.ok()) return body.status();
    if (!body->contains("Records") || !(*body)["Records"].is_array()) {
      return Status::corruption("GetRecords: no Records in the response");
    }
    for (const json& record : (*body)["Records"]) {
      KinesisRecord out;
      out.sequence_number = record.value("SequenceNumber", "");
      out.partition_key = record.value("PartitionKey", "");
      auto data = aws::base64_decode(record.value("Data", ""));
      if (!data.ok() || out.sequence_number.empty()) {
        return Status::corruption("GetRecords: a record with bad Data or no SequenceNumber");
      }
      out.data = std::move(*data);
      output.records.push_back(std::move(out));
    }
    if (body->contains("NextShardIterator") && (*body)["NextShardIterator"].is_string()) {
      output.next_iterator = (*body)["NextShardIterator"].get<std::string>();
    }
    if (body->contains("MillisBehindLatest") && (*body)["MillisBehindLatest"].is_number()) {
      output.millis_behind_latest = (*body)["MillisBehindLatest"].get<std::int64_t>();
    }
    return output;
  }

 private:
  Result<json> call(std::string_view operation, const json& request, std::string_view stream) {
    auto response = client_.call(operation, request.dump());
    if (!response.ok()) return response.status();
    if (!response->ok()) return error(operation, *response, stream);
    return aws::parse_response(operation, *response);
  }

  Status error(std::string_view operation, const aws::AwsResponse& response, std::string_view stream) {
    Status status = aws::error_status(operation, response);
    if (response.error_type == "ResourceNotFoundException") {
      return Status::not_found(status.message() + " (Kinesis stream '" + std::string(stream) + "' at " +
                               client_.endpoint().url + ")");
    }
    return status;
  }

  aws::AwsJsonClient client_;
};

}  // namespace

Status validate_kinesis_stream_name(std::string_view stream) {
  if (stream.empty() || stream.size() > 128) {
    return Status::invalid_argument("Kinesis stream name must have 1..128 characters");
  }
  for (char c : stream) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!allowed) {
      return Status::invalid_argument("Kinesis stream name '" + std::string(stream) +
                                      "' may hold only letters, digits, '_', '.' and '-'");
    }
  }
  return Status();
}

std::string kinesis_partition_key(std::string_view stream) {
  if (stream.size() <= kKinesisMaxPartitionKeyBytes) return std::string(stream);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(stream.data()), stream.size(), digest);
  std::string hex;
  for (unsigned char byte : digest) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", byte);
    hex += two;
  }
  // 191 bytes of the name + '#' + 64 hex digits = 256. The cut may split a
  // UTF-8 sequence; Kinesis hashes the key's UTF-8, so cut at a boundary.
  std::size_t cut = kKinesisMaxPartitionKeyBytes - 1 - hex.size();
  while (cut > 0 && (static_cast<unsigned char>(stream[cut]) & 0xC0) == 0x80) --cut;
  return std::string(stream.substr(0, cut)) + "#" + hex;
}

Result<std::unique_ptr<KinesisClient>> make_kinesis_client(const KinesisEndpoint& endpoint) {
  if (Status valid = validate_kinesis_stream_name(endpoint.stream); !valid.ok()) return valid;
  if (endpoint.region.empty()) return Status::invalid_argument("Kinesis region is empty");
  if (!endpoint.url.empty() && !endpoint.url.starts_with("http://") && !endpoint.url.starts_with("https://")) {
    return Status::invalid_argument("Kinesis endpoint '" + endpoint.url + "' is not an http:// or https:// URL");
  }
  auto credentials = aws::load_credentials();
  if (!credentials.ok()) return credentials.status();
  aws::AwsJsonClient::Options options;
  options.endpoint.url = endpoint.url.empty() ? aws::default_endpoint_url("kinesis", endpoint.region) : endpoint.url;
  options.endpoint.region = endpoint.region;
  options.endpoint.service = "kinesis";
  options.endpoint.target_prefix = "Kinesis_20131202";
  options.endpoint.content_type = "application/x-amz-json-1.1";
  options.credentials = std::move(*credentials);
  return std::unique_ptr<KinesisClient>(std::make_unique<AwsKinesisClient>(std::move(options)));
}

Status create_kinesis_stream(const KinesisEndpoint& endpoint, int shard_count, std::chrono::milliseconds wait) {
  if (shard_count < 1 || shard_count > 10000) {
    return Status::invalid_argument("Kinesis shard count must be 1..10000, not " + std::to_string(shard_count));
  }
  auto client = make_kinesis_client(endpoint);
  if (!client.ok()) return client.status();
  if (Status created = (*client)->create_stream(endpoint.stream, shard_count); !created.ok()) return created;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto status = (*client)->stream_status(endpoint.stream);
    if (status.ok() && (*status == "ACTIVE" || *status == "UPDATING")) return Status();
    if (!status.ok() && status.status().code() != ErrorCode::not_found) return status.status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::timeout("Kinesis stream '" + endpoint.stream + "' is not ACTIVE after " +
                             std::to_string(wait.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::vector<std::string>> list_kinesis_shards(const KinesisEndpoint& endpoint) {
  auto client = make_kinesis_client(endpoint);
  if (!client.ok()) return client.status();
  return (*client)->list_shards(endpoint.stream);
}

bool sleep_unless_stopped(const std::atomic<bool>& stop, std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (!stop.load(std::memory_order_relaxed)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(20)));
  }
  return false;
}

}  // namespace evsrc
