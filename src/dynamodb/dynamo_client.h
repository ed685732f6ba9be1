// The DynamoDB backend's connection: its URI, and the signed JSON client with
// the backend's error conventions.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "aws/aws_json_client.h"
#include "dynamodb/dynamo_items.h"
#include "evsrc/status.h"

namespace evsrc::dynamo {

// dynamodb://<region>/<table-prefix>?endpoint=<url>&poll_ms=<n> (see
// include/evsrc/dynamodb.h).
struct DynamoUri {
  std::string region;
  std::string prefix;
  std::string endpoint;  // the server's URL (AWS's when the URI names none)
  std::chrono::milliseconds poll{100};
  std::string table(std::string_view name) const { return prefix + "_" + std::string(name); }
};

// invalid_argument with what is wrong and an example of a good URI.
Result<DynamoUri> parse_dynamo_uri(std::string_view uri);

class DynamoClient {
 public:
  // invalid_argument when no credentials are found.
  static Result<std::unique_ptr<DynamoClient>> open(const DynamoUri& uri);
  ~DynamoClient();

  // The parsed response of `operation`; a service error becomes a Status
  // (aws::error_status), a response that is not JSON corruption.
  Result<Json> call(std::string_view operation, const Json& request);
  // The response as received, service errors included (for the errors the
  // caller handles: TransactionCanceledException,
  // ConditionalCheckFailedException, ResourceNotFoundException, ...).
  Result<aws::AwsResponse> call_raw(std::string_view operation, const Json& request);

  std::uint64_t requests_sent() const { return client_.requests_sent(); }

 private:
  explicit DynamoClient(aws::AwsJsonClient::Options options);
  aws::AwsJsonClient client_;
};

}  // namespace evsrc::dynamo
