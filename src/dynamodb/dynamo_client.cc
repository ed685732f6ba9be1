#include "dynamodb/dynamo_client.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <set>

#include "evsrc/dynamodb.h"

namespace evsrc::dynamo {
namespace {

Status bad_uri(std::string_view uri, const std::string& why) {
  return Status::invalid_argument("bad DynamoDB URI '" + std::string(uri) + "': " + why +
                                  " (expected dynamodb://<region>/<table-prefix>[?endpoint=http://127.0.0.1:8000], "
                                  "e.g. dynamodb://eu-west-1/orders)");
}

bool valid_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 200) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

bool valid_region(std::string_view region) {
  if (region.empty() || region.size() > 64) return false;
  return std::all_of(region.begin(), region.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

// Percent-decoding of a query value.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      unsigned value = 0;
      const auto [end, error] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (error != std::errc() || end != text.data() + i + 3) return std::nullopt;
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

// Every client's requests, for dynamodb_requests_sent().
struct RequestCounter {
  std::mutex mutex;
  std::set<const DynamoClient*> live;
  std::uint64_t retired = 0;
};
RequestCounter& request_counter() {
  static RequestCounter counter;
  return counter;
}

}  // namespace

Result<DynamoUri> parse_dynamo_uri(std::string_view uri) {
  constexpr std::string_view kScheme = "dynamodb://";
  if (!uri.starts_with(kScheme)) return bad_uri(uri, "it does not start with dynamodb://");
  std::string_view rest = uri.substr(kScheme.size());
  std::string_view query;
  if (const std::size_t mark = rest.find('?'); mark != std::string_view::npos) {
    query = rest.substr(mark + 1);
    rest = rest.substr(0, mark);
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad_uri(uri, "it names no table prefix");
  DynamoUri parsed;
  parsed.region = std::string(rest.substr(0, slash));
  parsed.prefix = std::string(rest.substr(slash + 1));
  if (!valid_region(parsed.region)) return bad_uri(uri, "'" + parsed.region + "' is not a region name");
  if (!valid_prefix(parsed.prefix)) {
    return bad_uri(uri, "the table prefix must be 1..200 characters of A-Z a-z 0-9 _ - .");
  }
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::optional<std::string> value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return bad_uri(uri, "bad percent-encoding in parameter " + std::string(key));
    if (key == "endpoint") {
      if (!value->starts_with("http://") && !value->starts_with("https://")) {
        return bad_uri(uri, "endpoint must be an http:// or https:// URL");
      }
      parsed.endpoint = *value;
    } else if (key == "poll_ms") {
      unsigned long long ms = 0;
      const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), ms);
      if (error != std::errc() || end != value->data() + value->size() || ms == 0 || ms > 60'000) {
        return bad_uri(uri, "poll_ms must be 1..60000");
      }
      parsed.poll = std::chrono::milliseconds(ms);
    } else {
      return bad_uri(uri, "unknown parameter '" + std::string(key) + "' (known: endpoint, poll_ms)");
    }
  }
  if (parsed.endpoint.empty()) parsed.endpoint = aws::default_endpoint_url("dynamodb", parsed.region);
  return parsed;
}

Result<std::unique_ptr<DynamoClient>> DynamoClient::open(const DynamoUri& uri) {
  Result<aws::Credentials> credentials = aws::load_credentials();
  if (!credentials.ok()) return credentials.status();
  aws::AwsJsonClient::Options options;
  options.endpoint = aws::AwsServiceEndpoint{uri.endpoint, uri.region, "dynamodb", "DynamoDB_20120810",
                                             "application/x-amz-json-1.0"};
  options.credentials = std::move(credentials).value();
  return std::unique_ptr<DynamoClient>(new DynamoClient(std::move(options)));
}

DynamoClient::DynamoClient(aws::AwsJsonClient::Options options) : client_(std::move(options)) {
  RequestCounter& counter = request_counter();
  std::lock_guard lock(counter.mutex);
  counter.live.insert(this);
}

DynamoClient::~DynamoClient() {
  RequestCounter& counter = request_counter();
  std::lock_guard lock(counter.mutex);
  counter.live.erase(this);
  counter.retired += client_.requests_sent();
}

Result<aws::AwsResponse> DynamoClient::call_raw(std::string_view operation, const Json& request) {
  std::string body;
  try {
    body = request.dump();
  } catch (const Json::exception&) {
    return Status::invalid_argument("dynamodb: " + std::string(operation) +
                                    ": the request holds text that is not valid UTF-8");
  }
  return client_.call(operation, body);
}

Result<Json> DynamoClient::call(std::string_view operation, const Json& request) {
  Result<aws::AwsResponse> response = call_raw(operation, request);
  if (!response.ok()) return response.status();
  if (!response->ok()) return aws::error_status(operation, *response);
  return aws::parse_response(operation, *response);
}

}  // namespace evsrc::dynamo

namespace evsrc {

std::uint64_t dynamodb_requests_sent() {
  dynamo::RequestCounter& counter = dynamo::request_counter();
  std::lock_guard lock(counter.mutex);
  std::uint64_t total = counter.retired;
  for (const dynamo::DynamoClient* client : counter.live) total += client->requests_sent();
  return total;
}

}  // namespace evsrc
