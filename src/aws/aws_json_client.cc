#include "aws/aws_json_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "aws/sigv4.h"

namespace evsrc::aws {
namespace {

using Clock = std::chrono::steady_clock;

// Error types that mean "slow down and try again".
constexpr std::array<std::string_view, 5> kThrottlingErrorTypes = {
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "LimitExceededException",
    "TransactionInProgressException"};

bool is_throttling(std::string_view type) {
  return std::find(kThrottlingErrorTypes.begin(), kThrottlingErrorTypes.end(), type) != kThrottlingErrorTypes.end();
}

// The parts of an endpoint URL that a request needs: the Host header value
// (host[:port] as written) and the request path.
struct ParsedUrl {
  std::string host;
  std::string path;
};

ParsedUrl parse_url(std::string_view url) {
  std::size_t scheme_end = url.find("://");
  std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::size_t path_start = url.find('/', authority_start);
  ParsedUrl parsed;
  parsed.host = std::string(url.substr(authority_start, path_start - authority_start));
  parsed.path = path_start == std::string_view::npos ? "/" : std::string(url.substr(path_start));
  return parsed;
}

// Fills error_type and error_message from a non-2xx response's JSON body
// ({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
// "message": "..."}); leaves them empty when the body is not such an object.
void parse_error_body(AwsResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return;
  if (auto type = body.find("__type"); type != body.end() && type->is_string()) {
    std::string text = type->get<std::string>();
    std::size_t hash = text.rfind('#');
    response.error_type = hash == std::string::npos ? text : text.substr(hash + 1);
  }
  for (const char* key : {"message", "Message"}) {
    if (auto message = body.find(key); message != body.end() && message->is_string()) {
      response.error_message = message->get<std::string>();
      break;
    }
  }
}

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// A uniformly random delay in [0, cap] ("full jitter").
std::chrono::milliseconds full_jitter(std::chrono::milliseconds cap) {
  thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> distribution(0, std::max<std::int64_t>(cap.count(), 0));
  return std::chrono::milliseconds(distribution(random));
}

struct CurlHeaderList {
  curl_slist* list = nullptr;
  ~CurlHeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

}  // namespace

// Idle curl easy handles; a handle keeps its connection open between calls.
struct AwsJsonClient::HandlePool {
  std::mutex mutex;
  std::vector<CURL*> idle;  // GUARDED_BY(mutex)

  ~HandlePool() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
  }
  // A handle of the pool or a new one; nullptr when curl cannot allocate one.
  CURL* acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }
  // Resets the options (the connection stays open) and keeps `handle`.
  void release(CURL* handle) {
    curl_easy_reset(handle);
    std::lock_guard lock(mutex);
    idle.push_back(handle);
  }
};

std::string default_endpoint_url(std::string_view service, std::string_view region) {
  std::string url = "https://" + std::string(service) + '.' + std::string(region) + ".amazonaws.com";
  if (region.starts_with("cn-")) url += ".cn";
  return url;
}

AwsJsonClient::AwsJsonClient(Options options) : options_(std::move(options)), handles_(std::make_unique<HandlePool>()) {
  static std::once_flag curl_initialized;
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

AwsJsonClient::~AwsJsonClient() = default;

Result<AwsResponse> AwsJsonClient::call(std::string_view operation, std::string_view request_json) {
  const Clock::time_point deadline = Clock::now() + options_.deadline;
  const ParsedUrl url = parse_url(options_.endpoint.url);
  const SigningScope scope{options_.endpoint.region, options_.endpoint.service};
  const std::string target = options_.endpoint.target_prefix + '.' + std::string(operation);
  std::string last_transport_error;
  std::chrono::milliseconds backoff_cap = options_.base_delay;

  for (int attempt = 1;; ++attempt) {
    HttpRequestToSign request{
        "POST",
        url.path,
        "",
        {{"Host", url.host}, {"Content-Type", options_.endpoint.content_type}, {"X-Amz-Target", target}},
        std::string(request_json)};
    sign(request, options_.credentials, scope, amz_date_now());
    CurlHeaderList headers;
    for (const auto& [name, value] : request.headers) headers.add(name + ": " + value);
    headers.add("Accept-Encoding: identity");
    headers.add("Expect:");  // no "Expect: 100-continue" round trip for large bodies

    // One attempt never runs past the deadline.
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto timeout = std::max(std::chrono::milliseconds(1), std::min(options_.request_timeout, remaining));
    auto connect_timeout = std::min(options_.connect_timeout, timeout);

    CURL* handle = handles_->acquire();
    if (handle == nullptr) return Status::io_error("AWS " + target + ": curl_easy_init failed");
    AwsResponse response;
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(handle, CURLOPT_URL, options_.endpoint.url.c_str());
    curl_easy_setopt(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.list);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, append_to_string);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    CURLcode code = curl_easy_perform(handle);
    long http_status = 0;
    if (code == CURLE_OK) curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http_status);
    handles_->release(handle);
    requests_sent_.fetch_add(1, std::memory_order_relaxed);

    if (code != CURLE_OK) {  // transport errors are always retried
      last_transport_error = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
    } else {
      last_transport_error.clear();
      response.http_status = static_cast<int>(http_status);
      if (response.http_status >= 200 && response.http_status < 300) return response;
      parse_error_body(response);
      bool retryable = response.http_status >= 500 || is_throttling(response.error_type) ||
                       std::find(options_.retryable_error_types.begin(), options_.retryable_error_types.end(),
                                 response.error_type) != options_.retryable_error_types.end();
      if (!retryable) return response;
    }

    auto delay = full_jitter(std::min(backoff_cap, options_.max_delay));
    backoff_cap = std::min(backoff_cap * 2, options_.max_delay);
    if (attempt >= options_.max_attempts || Clock::now() + delay >= deadline) {
      if (last_transport_error.empty()) return response;
      return Status::io_error("AWS " + target + " at " + options_.endpoint.url + ": no response after " +
                              std::to_string(attempt) + (attempt == 1 ? " attempt" : " attempts") +
                              ", the outcome of the request is unknown; last error: " + last_transport_error);
    }
    std::this_thread::sleep_for(delay);
    retries_.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<nlohmann::json> parse_response(std::string_view operation, const AwsResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Status::corruption(std::string(operation) + ": the response (HTTP " + std::to_string(response.http_status) +
                              ") is not JSON: " + response.body.substr(0, 200));
  }
  return body;
}

Status error_status(std::string_view operation, const AwsResponse& response) {
  const std::string& type = response.error_type;
  std::string message =
      std::string(operation) + ": " + (type.empty() ? "HTTP " + std::to_string(response.http_status) : type) + ": " +
      (response.error_message.empty() && type.empty() ? response.body.substr(0, 200) : response.error_message);
  if (is_throttling(type)) return Status::timeout(std::move(message));
  if (type == "ValidationException" || type == "SerializationException") {
    return Status::invalid_argument(std::move(message));
  }
  if (type == "ResourceNotFoundException") return Status::not_found(std::move(message));
  if (type == "AccessDeniedException" || type == "AccessDeniedFault" || type == "UnrecognizedClientException" ||
      type == "InvalidSignatureException" || type == "IncompleteSignatureException" ||
      type == "MissingAuthenticationTokenException" || type == "ExpiredTokenException") {
    return Status::rejected(std::move(message));
  }
  return Status::io_error(std::move(message));
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16 | static_cast<std::uint8_t>(bytes[i + 1]) << 8 |
                          static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[group >> 18];
    out += kAlphabet[(group >> 12) & 63];
    out += kAlphabet[(group >> 6) & 63];
    out += kAlphabet[group & 63];
  }
  if (std::size_t tail = bytes.size() - i; tail > 0) {
    std::uint32_t group = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (tail == 2) group |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[group >> 18];
    out += kAlphabet[(group >> 12) & 63];
    out += tail == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return Status::invalid_argument("base64: length is not a multiple of 4");
  std::size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      bool pad = last && j >= 4 - padding;
      int sextet = pad ? 0 : value(text[i + j]);
      if (sextet < 0) return Status::invalid_argument("base64: invalid character at offset " + std::to_string(i + j));
      group = group << 6 | static_cast<std::uint32_t>(sextet);
    }
    out += static_cast<char>(group >> 16);
    if (!last || padding < 2) out += static_cast<char>((group >> 8) & 0xff);
    if (!last || padding < 1) out += static_cast<char>(group & 0xff);
  }
  return out;
}

}  // namespace evsrc::aws
