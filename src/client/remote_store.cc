// RemoteEventStore: the EventStore contract over the HTTP API v1.
//
// Stream names are checked here first, with the store's own rules: an empty
// or reserved name must not become another path of the API.
//
// Every call takes an idle HttpClient from a pool (or makes one), so each
// concurrent caller has its own keep-alive connection and the pool never
// holds more connections than there were concurrent callers. Subscriptions
// each own one more connection, for their event stream.
#include "evsrc/remote_store.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "client/http_client.h"
#include "client/remote_codec.h"
#include "client/remote_subscription.h"
#include "memory/memory_snapshot_store.h"

namespace evsrc {
namespace {

using client::Headers;
using client::HttpClient;
using client::HttpResult;
using client::percent_encode;

// The API's largest page (ApiLimits::max_page): larger limits are served
// as pages of this size, which the contract allows (a page holds at most
// `limit` events and says where the next one starts).
constexpr std::uint64_t kMaxPage = 10'000;

std::string stream_target(std::string_view stream) { return "/v1/streams/" + percent_encode(stream); }

// Appends "&name=value" (or "?name=value" for the first parameter).
void add_param(std::string& target, std::string_view name, std::string_view value) {
  target.push_back(target.find('?') == std::string::npos ? '?' : '&');
  target.append(name).push_back('=');
  target.append(percent_encode(value));
}

const char* direction_name(Direction direction) { return direction == Direction::forward ? "forward" : "backward"; }

bool is_success(const HttpResult& result) { return result.status >= 200 && result.status < 300; }

// The query parameters of a filter of $all reads and subscriptions.
void add_filter_params(std::string& target, const EventFilter& filter) {
  if (!filter.stream_prefix.empty()) add_param(target, "prefix", filter.stream_prefix);
  if (!filter.category.empty()) add_param(target, "category", filter.category);
  if (!filter.event_type.empty()) add_param(target, "type", filter.event_type);
}

class RemoteEventStore final : public EventStore {
 public:
  RemoteEventStore(std::string url, client::ClientOptions options, std::unique_ptr<HttpClient> first)
      : url_(std::move(url)), options_(std::move(options)) {
    idle_.push_back(std::move(first));
  }

  ~RemoteEventStore() override { (void)close(); }

  Result<AppendResult> append(std::string_view stream, ExpectedRevision expected,
                              std::span<const EventData> events) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    auto body = client::events_body(events);
    if (!body.ok()) return body.status();
    auto response = call("POST", stream_target(stream), *body, {{"Expected-Revision", expected.to_string()}});
    if (!response.ok()) return response.status();
    return client::parse_append_result(response->body);
  }

  Result<TransactionResult> commit(std::span<const TransactionPart> parts) override {
    auto body = client::transaction_body(parts);
    if (!body.ok()) return body.status();
    auto response = call("POST", "/v1/transactions", *body);
    if (!response.ok()) return response.status();
    return client::parse_transaction_result(response->body, parts.size());
  }

  Result<StreamPage> read_stream(std::string_view stream, const StreamReadOptions& options) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (options.limit == 0) return Status::invalid_argument("limit must be at least 1");
    std::string target = stream_target(stream);
    if (options.from) add_param(target, "from", std::to_string(*options.from));
    add_param(target, "limit", std::to_string(std::min(options.limit, kMaxPage)));
    add_param(target, "direction", direction_name(options.direction));
    auto response = call("GET", target);
    if (!response.ok()) return response.status();
    auto page = client::parse_event_page(response->body);
    if (!page.ok()) return page.status();
    StreamPage result;
    result.events = std::move(page->events);
    result.next = page->next;
    const auto etag = response->header("ETag");
    const std::optional<std::uint64_t> last = etag ? client::parse_etag(*etag) : std::nullopt;
    if (!last) return Status::io_error("unexpected response from the server: a stream page without an ETag");
    result.last_revision = *last;
    return result;
  }

  Result<AllPage> read_all(const AllReadOptions& options) override {
    if (options.limit == 0) return Status::invalid_argument("limit must be at least 1");
    std::string target = "/v1/all";
    if (options.from) add_param(target, "from", std::to_string(*options.from));
    add_param(target, "limit", std::to_string(std::min(options.limit, kMaxPage)));
    add_param(target, "direction", direction_name(options.direction));
    add_filter_params(target, options.filter);
    if (options.scan_limit > 0) add_param(target, "scanLimit", std::to_string(options.scan_limit));
    auto response = call("GET", target);
    if (!response.ok()) return response.status();
    auto page = client::parse_event_page(response->body);
    if (!page.ok()) return page.status();
    return AllPage{std::move(page->events), page->next};
  }

  Result<std::unique_ptr<Subscription>> subscribe_all(const AllSubscriptionOptions& options) override {
    if (options.batch_size == 0) return Status::invalid_argument("subscription batch_size must be at least 1");
    client::SubscriptionSource source;
    source.target = "/v1/subscriptions/all";
    add_filter_params(source.target, options.filter);
    source.from = options.from.value_or(0);
    source.batch_size = options.batch_size;
    return subscribe(std::move(source));
  }

  Result<std::unique_ptr<Subscription>> subscribe_stream(std::string_view stream,
                                                         const StreamSubscriptionOptions& options) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    if (options.batch_size == 0) return Status::invalid_argument("subscription batch_size must be at least 1");
    client::SubscriptionSource source;
    source.target = "/v1/subscriptions/streams/" + percent_encode(stream);
    source.by_revision = true;
    source.from = options.from.value_or(0);
    source.batch_size = options.batch_size;
    return subscribe(std::move(source));
  }

  Result<StreamInfo> stream_info(std::string_view stream) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    auto response = call("GET", stream_target(stream) + "/metadata");
    if (!response.ok()) return response.status();
    return client::parse_stream_info(stream, response->body);
  }

  Status set_stream_metadata(std::string_view stream, const StreamMetadata& metadata) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    auto body = client::metadata_body(metadata);
    if (!body.ok()) return body.status();
    return call("PUT", stream_target(stream) + "/metadata", *body).status();
  }

  Status delete_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return call("DELETE", stream_target(stream), {}, {{"Expected-Revision", expected.to_string()}}).status();
  }

  Status tombstone_stream(std::string_view stream, ExpectedRevision expected) override {
    if (Status status = validate_stream_name(stream); !status.ok()) return status;
    return call("DELETE", stream_target(stream) + "?hard=true", {}, {{"Expected-Revision", expected.to_string()}})
        .status();
  }

  Result<std::vector<std::string>> list_streams(std::string_view prefix, std::string_view after,
                                                std::size_t limit) override {
    std::vector<std::string> names;
    std::string cursor(after);
    // Pages of at most kMaxPage until `limit` names or the end.
    while (names.size() < limit) {
      const std::uint64_t page_limit = std::min<std::uint64_t>(limit - names.size(), kMaxPage);
      std::string target = "/v1/streams";
      if (!prefix.empty()) add_param(target, "prefix", prefix);
      if (!cursor.empty()) add_param(target, "after", cursor);
      add_param(target, "limit", std::to_string(page_limit));
      auto response = call("GET", target);
      if (!response.ok()) return response.status();
      auto page = client::parse_stream_list(response->body);
      if (!page.ok()) return page.status();
      for (auto& entry : page->streams) names.push_back(std::move(entry.name));
      if (page->streams.size() < page_limit || names.empty()) break;
      cursor = names.back();
    }
    return names;
  }

  Result<StoreStats> stats() override {
    auto response = call("GET", "/v1/stats");
    if (!response.ok()) return response.status();
    return client::parse_stats(response->body);
  }

  // Polls the store's head: the API has no long-poll for it, and an SSE
  // stream would not see system records (they take positions too).
  bool wait_for_commit(std::optional<Position> after, std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::chrono::milliseconds pause{2};
    for (;;) {
      auto current = stats();
      if (!current.ok()) return false;
      if (current->last_position && (!after || *current->last_position > *after)) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }

  SnapshotStore& snapshots() override { return snapshots_; }

  Status close() override {
    std::vector<std::weak_ptr<client::SubscriptionHandle>> subscriptions;
    std::vector<std::unique_ptr<HttpClient>> idle;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return Status();
      closed_ = true;
      subscriptions.swap(subscriptions_);
      idle.swap(idle_);
    }
    for (const auto& weak : subscriptions) {
      if (const auto handle = weak.lock()) handle->cancel();
    }
    snapshots_.close();
    return Status();
  }

 private:
  // One request on a pooled connection; non-2xx answers become the Status
  // the server's error body names.
  Result<HttpResult> call(std::string_view method, const std::string& target, std::string_view body = {},
                          const Headers& headers = {}) {
    std::unique_ptr<HttpClient> client;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return Status::closed("store is closed");
      if (!idle_.empty()) {
        client = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!client) {
      auto created = HttpClient::create(url_, options_);
      if (!created.ok()) return created.status();
      client = std::move(created).value();
    }
    Result<HttpResult> result = client->request(method, target, body, headers);
    {
      std::lock_guard lock(mutex_);
      if (!closed_) idle_.push_back(std::move(client));
    }
    if (!result.ok()) return result.status();
    if (!is_success(*result)) return client::status_from_response(result->status, result->body);
    return result;
  }

  Result<std::unique_ptr<Subscription>> subscribe(client::SubscriptionSource source) {
    auto created = HttpClient::create(url_, options_);
    if (!created.ok()) return created.status();
    std::lock_guard lock(mutex_);
    if (closed_) return Status::closed("store is closed");
    client::StartedSubscription started = client::start_sse_subscription(std::move(created).value(), std::move(source));
    std::erase_if(subscriptions_, [](const auto& weak) { return weak.expired(); });
    subscriptions_.push_back(std::move(started.handle));
    return std::move(started.subscription);
  }

  const std::string url_;
  const client::ClientOptions options_;
  MemorySnapshotStore snapshots_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;                         // GUARDED_BY(mutex_)
  std::vector<std::weak_ptr<client::SubscriptionHandle>> subscriptions_;  // GUARDED_BY(mutex_)
  bool closed_ = false;                                                   // GUARDED_BY(mutex_)
};

}  // namespace

Result<std::unique_ptr<EventStore>> open_remote_store(std::string_view url, RemoteStoreOptions options) {
  client::ClientOptions client_options;
  client_options.bearer_key = std::move(options.api_key);
  auto created = HttpClient::create(url, client_options);
  if (!created.ok()) return created.status();
  std::unique_ptr<HttpClient> client = std::move(created).value();
  auto health = client->request("GET", "/health");
  if (!health.ok()) {
    return Status::io_error("cannot reach the evsrcd server at " + std::string(url) + ": " + health.status().message());
  }
  if (!is_success(*health)) {
    const Status status = client::status_from_response(health->status, health->body);
    return Status::io_error("the evsrcd server at " + std::string(url) + " is not healthy: " + status.message());
  }
  return std::unique_ptr<EventStore>(
      std::make_unique<RemoteEventStore>(std::string(url), std::move(client_options), std::move(client)));
}

}  // namespace evsrc
