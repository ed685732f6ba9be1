// AwsJsonClient against a scripted HTTP/1.1 server on 127.0.0.1: the request
// it sends (headers, SigV4), its retry policy, and its error mapping; and the
// base64 helpers.
#include "aws/aws_json_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "aws/sigv4.h"

namespace evsrc::aws {
namespace {

using namespace std::chrono_literals;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

struct RecordedRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;

  // The value of header `name` (any case); nullopt when absent.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (lowercase(key) == lowercase(std::string(name))) return value;
    }
    return std::nullopt;
  }
};

struct ScriptedResponse {
  int status = 200;
  std::string body = "{}";
};

// An HTTP/1.1 server on 127.0.0.1 (a port the kernel picks) that answers
// requests with `script`, in order, then with 200 "{}". Keeps connections
// alive; one thread per connection. Records every request.
class ScriptedHttpServer {
 public:
  explicit ScriptedHttpServer(std::vector<ScriptedResponse> script = {}) : script_(script.begin(), script.end()) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t size = sizeof address;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 || listen(listener_, 16) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_connections(); });
  }
  ~ScriptedHttpServer() {
    stop_ = true;
    acceptor_.join();
    for (std::thread& connection : connections_) connection.join();
    close(listener_);
  }
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections_accepted() const { return connections_accepted_.load(); }

 private:
  void accept_connections() {
    while (!stop_) {
      pollfd ready{listener_, POLLIN, 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) continue;
      ++connections_accepted_;
      connections_.emplace_back([this, connection] {
        serve(connection);
        close(connection);
      });
    }
  }

  // Answers the requests of one connection until the client closes it.
  void serve(int connection) {
    std::string buffer;
    while (!stop_) {
      std::size_t head_end = buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        RecordedRequest request = parse_head(buffer.substr(0, head_end));
        std::size_t length = std::stoul(request.header("content-length").value_or("0"));
        if (buffer.size() >= head_end + 4 + length) {
          request.body = buffer.substr(head_end + 4, length);
          buffer.erase(0, head_end + 4 + length);
          if (!respond(connection, record(std::move(request)))) return;
          continue;
        }
      }
      pollfd ready{connection, POLLIN, 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      char chunk[4096];
      ssize_t received = recv(connection, chunk, sizeof chunk, 0);
      if (received <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(received));
    }
  }

  static RecordedRequest parse_head(const std::string& head) {
    RecordedRequest request;
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    std::size_t first_space = request_line.find(' ');
    request.method = request_line.substr(0, first_space);
    request.path = request_line.substr(first_space + 1, request_line.rfind(' ') - first_space - 1);
    while (line_end != std::string::npos) {
      std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::size_t value_start = line.find_first_not_of(' ', colon + 1);
      request.headers.emplace_back(line.substr(0, colon),
                                   value_start == std::string::npos ? "" : line.substr(value_start));
    }
    return request;
  }

  ScriptedResponse record(RecordedRequest request) {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
    if (script_.empty()) return ScriptedResponse{};
    ScriptedResponse response = script_.front();
    script_.pop_front();
    return response;
  }

  static bool respond(int connection, const ScriptedResponse& response) {
    std::string text =
        "HTTP/1.1 " + std::to_string(response.status) + (response.status == 200 ? " OK" : " Error") +
        "\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " + std::to_string(response.body.size()) +
        "\r\n\r\n" + response.body;
    std::size_t sent = 0;
    while (sent < text.size()) {
      ssize_t written = send(connection, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (written <= 0) return false;
      sent += static_cast<std::size_t>(written);
    }
    return true;
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // only touched by acceptor_ and the destructor
  mutable std::mutex mutex_;
  std::deque<ScriptedResponse> script_;    // GUARDED_BY(mutex_)
  std::vector<RecordedRequest> requests_;  // GUARDED_BY(mutex_)
};

const Credentials kCredentials{"AKIDTEST", "test/secret+key", ""};

AwsJsonClient::Options dynamodb_options(const std::string& url) {
  AwsJsonClient::Options options;
  options.endpoint = {url, "eu-west-1", "dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0"};
  options.credentials = kCredentials;
  options.base_delay = 1ms;
  options.max_delay = 5ms;
  return options;
}

std::string throttling_body() {
  return R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"})";
}

// Signs the request as the server received it again: the signature must be
// the one the client sent.
void expect_valid_signature(const RecordedRequest& recorded, const Credentials& credentials,
                            const SigningScope& scope) {
  std::string authorization = recorded.header("authorization").value_or("");
  std::size_t list_start = authorization.find("SignedHeaders=") + std::string_view("SignedHeaders=").size();
  std::string signed_headers = authorization.substr(list_start, authorization.find(',', list_start) - list_start);
  HttpRequestToSign request{recorded.method, recorded.path, "", {}, recorded.body};
  for (const auto& [name, value] : recorded.headers) {
    std::string key = lowercase(name);
    if (key != "x-amz-date" && key != "x-amz-security-token" &&
        (";" + signed_headers + ";").find(";" + key + ";") != std::string::npos) {
      request.headers.emplace_back(name, value);
    }
  }
  sign(request, credentials, scope, recorded.header("x-amz-date").value_or(""));
  EXPECT_EQ(authorization, request.headers.back().second);
}

TEST(AwsJsonClient, SendsASignedJsonRequest) {
  ScriptedHttpServer server({{200, R"({"Item":{"id":{"S":"a"}}})"}});
  AwsJsonClient client(dynamodb_options(server.url()));
  const std::string request_json = R"({"TableName":"events","Key":{"id":{"S":"a"}}})";
  Result<AwsResponse> response = client.call("GetItem", request_json);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(response->http_status, 200);
  EXPECT_EQ(response->body, R"({"Item":{"id":{"S":"a"}}})");
  Result<nlohmann::json> parsed = parse_response("GetItem", *response);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["Item"]["id"]["S"], "a");

  std::vector<RecordedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const RecordedRequest& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/");
  EXPECT_EQ(request.body, request_json);
  EXPECT_EQ(request.header("host"), server.host());
  EXPECT_EQ(request.header("content-type"), "application/x-amz-json-1.0");
  EXPECT_EQ(request.header("x-amz-target"), "DynamoDB_20120810.GetItem");
  EXPECT_EQ(request.header("accept-encoding"), "identity");
  EXPECT_FALSE(request.header("expect").has_value());
  EXPECT_FALSE(request.header("x-amz-security-token").has_value());
  std::string amz_date = request.header("x-amz-date").value_or("");
  ASSERT_EQ(amz_date.size(), 16u);
  std::string authorization = request.header("authorization").value_or("");
  EXPECT_EQ(authorization.rfind("AWS4-HMAC-SHA256 Credential=AKIDTEST/" + amz_date.substr(0, 8) +
                                    "/eu-west-1/dynamodb/aws4_request, "
                                    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=",
                                0),
            0u)
      << authorization;
  expect_valid_signature(request, kCredentials, {"eu-west-1", "dynamodb"});
  EXPECT_EQ(client.requests_sent(), 1u);
  EXPECT_EQ(client.retries(), 0u);
}

TEST(AwsJsonClient, SignsTheSessionTokenOfTemporaryCredentials) {
  ScriptedHttpServer server;
  AwsJsonClient::Options options = dynamodb_options(server.url() + "/");
  options.endpoint.service = "kinesis";
  options.endpoint.target_prefix = "Kinesis_20131202";
  options.endpoint.content_type = "application/x-amz-json-1.1";
  options.credentials.session_token = "session/token==";
  AwsJsonClient client(options);
  ASSERT_TRUE(client.call("PutRecords", "{}").ok());
  std::vector<RecordedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("x-amz-target"), "Kinesis_20131202.PutRecords");
  EXPECT_EQ(requests[0].header("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(requests[0].header("x-amz-security-token"), "session/token==");
  EXPECT_NE(requests[0].header("authorization").value_or("").find("x-amz-security-token"), std::string::npos);
  expect_valid_signature(requests[0], options.credentials, {"eu-west-1", "kinesis"});
}

TEST(AwsJsonClient, RetriesThrottlingAndKeepsTheConnection) {
  ScriptedHttpServer server({{400, throttling_body()}, {400, throttling_body()}, {200, R"({"Count":0})"}});
  AwsJsonClient client(dynamodb_options(server.url()));
  Result<AwsResponse> response = client.call("Query", "{}");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(response->body, R"({"Count":0})");
  EXPECT_EQ(client.requests_sent(), 3u);
  EXPECT_EQ(client.retries(), 2u);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(AwsJsonClient, ConditionalCheckFailedIsNotRetried) {
  ScriptedHttpServer server(
      {{400,
        R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"})"}});
  AwsJsonClient client(dynamodb_options(server.url()));
  Result<AwsResponse> response = client.call("PutItem", "{}");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_FALSE(response->ok());
  EXPECT_EQ(response->http_status, 400);
  EXPECT_EQ(response->error_type, "ConditionalCheckFailedException");
  EXPECT_EQ(response->error_message, "The conditional request failed");
  EXPECT_EQ(client.requests_sent(), 1u);
  EXPECT_EQ(client.retries(), 0u);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(AwsJsonClient, ErrorTypeWithoutNamespaceAndCapitalizedMessage) {
  ScriptedHttpServer server({{400, R"({"__type":"ResourceNotFoundException","Message":"Stream s not found"})"}});
  AwsJsonClient client(dynamodb_options(server.url()));
  Result<AwsResponse> response = client.call("DescribeStream", "{}");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->error_type, "ResourceNotFoundException");
  EXPECT_EQ(response->error_message, "Stream s not found");
  Status status = error_status("DescribeStream", *response);
  EXPECT_EQ(status.code(), ErrorCode::not_found);
  EXPECT_EQ(status.message(), "DescribeStream: ResourceNotFoundException: Stream s not found");
}

TEST(AwsJsonClient, RetriesServerErrors) {
  ScriptedHttpServer server({{500, R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"})"},
                             {503, "Service Unavailable"},
                             {200, "{}"}});
  AwsJsonClient client(dynamodb_options(server.url()));
  Result<AwsResponse> response = client.call("GetItem", "{}");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(client.requests_sent(), 3u);
  EXPECT_EQ(client.retries(), 2u);
}

TEST(AwsJsonClient, RetriesTheCallersRetryableErrorTypes) {
  std::string conflict = R"({"__type":"com.amazonaws.dynamodb.v20120810#TransactionConflictException"})";
  ScriptedHttpServer server({{400, conflict}, {200, "{}"}});
  AwsJsonClient::Options options = dynamodb_options(server.url());
  options.retryable_error_types = {"TransactionConflictException"};
  AwsJsonClient client(options);
  Result<AwsResponse> response = client.call("TransactWriteItems", "{}");
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(client.requests_sent(), 2u);
}

TEST(AwsJsonClient, MaxAttemptsBoundsTheRetries) {
  ScriptedHttpServer server(std::vector<ScriptedResponse>(5, {400, throttling_body()}));
  AwsJsonClient::Options options = dynamodb_options(server.url());
  options.max_attempts = 3;
  AwsJsonClient client(options);
  Result<AwsResponse> response = client.call("Query", "{}");
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_FALSE(response->ok());
  EXPECT_EQ(response->error_type, "ThrottlingException");
  EXPECT_EQ(response->error_message, "slow down");
  EXPECT_EQ(client.requests_sent(), 3u);
  EXPECT_EQ(client.retries(), 2u);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(error_status("Query", *response).code(), ErrorCode::timeout);
}

TEST(AwsJsonClient, DeadlineBoundsTheRetries) {
  ScriptedHttpServer server(std::vector<ScriptedResponse>(1000, {400, throttling_body()}));
  AwsJsonClient::Options options = dynamodb_options(server.url());
  options.max_attempts = 1000;
  options.base_delay = 20ms;
  options.max_delay = 40ms;
  options.deadline = 300ms;
  AwsJsonClient client(options);
  auto start = std::chrono::steady_clock::now();
  Result<AwsResponse> response = client.call("Query", "{}");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->error_type, "ThrottlingException");
  EXPECT_LT(elapsed, 300ms + 200ms);
  EXPECT_GE(client.requests_sent(), 2u);
  EXPECT_LT(client.requests_sent(), 1000u);
}

// A loopback port that nothing listens on.
std::uint16_t closed_port() {
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  EXPECT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), size), 0);
  EXPECT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &size), 0);
  close(probe);
  return ntohs(address.sin_port);
}

TEST(AwsJsonClient, ConnectionRefusedFailsAfterTheDeadline) {
  std::string url = "http://127.0.0.1:" + std::to_string(closed_port());
  AwsJsonClient::Options options = dynamodb_options(url);
  options.base_delay = 10ms;
  options.max_delay = 50ms;
  options.deadline = 250ms;
  AwsJsonClient client(options);
  auto start = std::chrono::steady_clock::now();
  Result<AwsResponse> response = client.call("GetItem", "{}");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::io_error);
  EXPECT_NE(response.status().message().find(url), std::string::npos) << response.status().message();
  EXPECT_NE(response.status().message().find("unknown"), std::string::npos) << response.status().message();
  EXPECT_GE(client.requests_sent(), 2u);
  EXPECT_EQ(client.retries(), client.requests_sent() - 1);
  EXPECT_LT(elapsed, 250ms + 500ms);
}

TEST(AwsJsonClient, ConnectionRefusedRespectsMaxAttempts) {
  AwsJsonClient::Options options = dynamodb_options("http://127.0.0.1:" + std::to_string(closed_port()));
  options.max_attempts = 2;
  AwsJsonClient client(options);
  Result<AwsResponse> response = client.call("GetItem", "{}");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), ErrorCode::io_error);
  EXPECT_EQ(client.requests_sent(), 2u);
  EXPECT_EQ(client.retries(), 1u);
}

TEST(AwsJsonClient, ConcurrentCallsShareThePool) {
  ScriptedHttpServer server;
  AwsJsonClient client(dynamodb_options(server.url()));
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        Result<AwsResponse> response = client.call("GetItem", "{}");
        if (!response.ok() || !response->ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(server.requests().size(), static_cast<std::size_t>(kThreads * kCallsPerThread));
  EXPECT_LE(server.connections_accepted(), kThreads);
}

TEST(ParseResponse, BadJsonIsCorruption) {
  AwsResponse response;
  response.http_status = 200;
  response.body = "{not json";
  Result<nlohmann::json> parsed = parse_response("Scan", response);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), ErrorCode::corruption);
  EXPECT_NE(parsed.status().message().find("Scan"), std::string::npos);
}

TEST(ErrorStatus, MapsTheServiceErrors) {
  auto status_of = [](const std::string& type) {
    AwsResponse response;
    response.http_status = 400;
    response.error_type = type;
    response.error_message = "why";
    return error_status("PutItem", response);
  };
  EXPECT_EQ(status_of("ThrottlingException").code(), ErrorCode::timeout);
  EXPECT_EQ(status_of("ProvisionedThroughputExceededException").code(), ErrorCode::timeout);
  EXPECT_EQ(status_of("RequestLimitExceeded").code(), ErrorCode::timeout);
  EXPECT_EQ(status_of("LimitExceededException").code(), ErrorCode::timeout);
  EXPECT_EQ(status_of("ValidationException").code(), ErrorCode::invalid_argument);
  EXPECT_EQ(status_of("ResourceNotFoundException").code(), ErrorCode::not_found);
  EXPECT_EQ(status_of("AccessDeniedException").code(), ErrorCode::rejected);
  EXPECT_EQ(status_of("UnrecognizedClientException").code(), ErrorCode::rejected);
  EXPECT_EQ(status_of("InvalidSignatureException").code(), ErrorCode::rejected);
  EXPECT_EQ(status_of("ExpiredTokenException").code(), ErrorCode::rejected);
  EXPECT_EQ(status_of("ItemCollectionSizeLimitExceededException").code(), ErrorCode::io_error);
  EXPECT_EQ(status_of("ValidationException").message(), "PutItem: ValidationException: why");

  AwsResponse unavailable;
  unavailable.http_status = 503;
  unavailable.body = "Service Unavailable";
  Status status = error_status("PutItem", unavailable);
  EXPECT_EQ(status.code(), ErrorCode::io_error);
  EXPECT_EQ(status.message(), "PutItem: HTTP 503: Service Unavailable");
}

TEST(DefaultEndpointUrl, IsTheRegionalServiceHost) {
  EXPECT_EQ(default_endpoint_url("dynamodb", "eu-west-1"), "https://dynamodb.eu-west-1.amazonaws.com");
  EXPECT_EQ(default_endpoint_url("kinesis", "us-east-1"), "https://kinesis.us-east-1.amazonaws.com");
}

TEST(Base64, KnownValues) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_decode("Zm9vYg==").value(), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE=").value(), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy").value(), "foobar");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RoundTripsEveryByteAndEveryTailLength) {
  std::string all_bytes;
  for (int byte = 0; byte < 256; ++byte) all_bytes += static_cast<char>(byte);
  for (std::size_t length = 0; length <= all_bytes.size(); ++length) {
    for (std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
      if (offset + length > all_bytes.size()) continue;
      std::string bytes = all_bytes.substr(offset, length);
      std::string encoded = base64_encode(bytes);
      ASSERT_EQ(encoded.size(), (length + 2) / 3 * 4);
      Result<std::string> decoded = base64_decode(encoded);
      ASSERT_TRUE(decoded.ok()) << encoded;
      ASSERT_EQ(*decoded, bytes) << encoded;
    }
  }
}

TEST(Base64, RejectsBadInput) {
  for (std::string_view bad :
       {"Zg=", "Zg", "Z", "Zm9v!A==", "Zm9 vYg=", "Z===", "====", "Zg==Zg==", "=Zg=", "Zm\n9v"}) {
    Result<std::string> decoded = base64_decode(bad);
    EXPECT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), ErrorCode::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace evsrc::aws
