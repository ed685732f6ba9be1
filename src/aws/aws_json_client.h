// AwsJsonClient: calls an AWS service that speaks the JSON protocol
// (DynamoDB: application/x-amz-json-1.0, target "DynamoDB_20120810.<Op>";
// Kinesis: application/x-amz-json-1.1, target "Kinesis_20131202.<Op>") over
// HTTP(S) with libcurl, every request signed with SigV4.
//
// Retries (exponential backoff with full jitter, base_delay doubling up to
// max_delay, at most max_attempts attempts, never past `deadline` after the
// first attempt) when the outcome says "try again":
//   - transport errors (connection refused/reset, timeouts) — so callers must
//     only send requests that are safe to repeat (reads, TransactWriteItems
//     with a ClientRequestToken, PutRecords for at-least-once delivery);
//   - HTTP 5xx;
//   - throttling: ThrottlingException, ProvisionedThroughputExceededException,
//     RequestLimitExceeded, LimitExceededException (Kinesis GetRecords),
//     TransactionInProgressException, and the error types in
//     Options::retryable_error_types.
// Other service errors are not retried: call() returns them as a response
// with `error_type` set, for the caller to interpret.
//
// Thread-safety: call() may be called from any number of threads; each call
// uses a pooled curl handle (connections are kept alive and reused).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "aws/aws_credentials.h"
#include "evsrc/status.h"

namespace evsrc::aws {

struct AwsServiceEndpoint {
  // "http://127.0.0.1:8000" or "https://dynamodb.eu-west-1.amazonaws.com";
  // a path, if any, is sent as the request path (default "/").
  std::string url;
  std::string region;           // signing region
  std::string service;          // signing service: "dynamodb", "kinesis"
  std::string target_prefix;    // "DynamoDB_20120810", "Kinesis_20131202"
  std::string content_type;     // "application/x-amz-json-1.0" / "-1.1"
};

// The default endpoint of `service` in `region` on AWS:
// https://<service>.<region>.amazonaws.com
std::string default_endpoint_url(std::string_view service, std::string_view region);

struct AwsResponse {
  int http_status = 0;
  std::string body;        // raw JSON text
  // Set for a service error: the short type ("ConditionalCheckFailedException",
  // the part after '#' of "__type"), and its message ("message" or "Message").
  std::string error_type;
  std::string error_message;
  bool ok() const { return error_type.empty() && http_status >= 200 && http_status < 300; }
  // body parsed (throws nlohmann::json::parse_error on bad JSON; callers use
  // parse() below instead).
};

class AwsJsonClient {
 public:
  struct Options {
    AwsServiceEndpoint endpoint;
    Credentials credentials;
    int max_attempts = 10;
    std::chrono::milliseconds base_delay{20};
    std::chrono::milliseconds max_delay{2000};
    std::chrono::milliseconds deadline{30000};         // across all attempts
    std::chrono::milliseconds request_timeout{10000};  // one attempt
    std::chrono::milliseconds connect_timeout{3000};
    std::vector<std::string> retryable_error_types;
  };

  explicit AwsJsonClient(Options options);
  ~AwsJsonClient();
  AwsJsonClient(const AwsJsonClient&) = delete;
  AwsJsonClient& operator=(const AwsJsonClient&) = delete;

  // POSTs `request_json` (a JSON object as text) as operation `operation`
  // (e.g. "GetItem"). Returns the final response: ok(), or a service error
  // that is not retried (or was retried until the attempts/deadline ran out;
  // then error_type is the last one seen). Fails (io_error) only when no
  // response could be had: transport errors until the attempts or deadline
  // ran out; the message names the endpoint and the last curl error, and says
  // that the outcome of the request is unknown.
  Result<AwsResponse> call(std::string_view operation, std::string_view request_json);

  // Requests sent (every attempt counts), for the benchmarks' cost figures.
  std::uint64_t requests_sent() const { return requests_sent_.load(std::memory_order_relaxed); }
  std::uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }

  const AwsServiceEndpoint& endpoint() const { return options_.endpoint; }

 private:
  struct HandlePool;
  const Options options_;
  std::unique_ptr<HandlePool> handles_;
  std::atomic<std::uint64_t> requests_sent_{0};
  std::atomic<std::uint64_t> retries_{0};
};

// Parses a response body; corruption with the operation's name on bad JSON.
Result<nlohmann::json> parse_response(std::string_view operation, const AwsResponse& response);

// A Status for a service error that the caller does not handle itself:
// throttling after all retries → timeout; ValidationException →
// invalid_argument; ResourceNotFoundException → not_found; access denied,
// unrecognized client, bad signature, expired token → rejected; others →
// io_error. The message is "<operation>: <type>:
// <message>".
Status error_status(std::string_view operation, const AwsResponse& response);

// base64 (standard alphabet, padded) for DynamoDB "B" attributes and Kinesis
// record data.
std::string base64_encode(std::string_view bytes);
// invalid_argument on bad input.
Result<std::string> base64_decode(std::string_view text);

}  // namespace evsrc::aws
