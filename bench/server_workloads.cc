#include "bench/server_workloads.h"

#include <atomic>
#include <charconv>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bench/store_bench.h"
#include "client/http_client.h"
#include "client/remote_codec.h"

namespace evsrc::bench {
namespace {

using client::HttpClient;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Result<std::unique_ptr<HttpClient>> connect_client(const ServerWorkloadSettings& settings) {
  client::ClientOptions options;
  options.bearer_key = settings.api_key;
  auto created = HttpClient::create(settings.url, options);
  if (!created.ok()) return created.status();
  // Opens the keep-alive connection, so that connecting is not measured.
  auto health = (*created)->request("GET", "/health");
  if (!health.ok()) return health.status();
  return created;
}

Status unexpected(const client::HttpResult& response, unsigned expected_status) {
  if (response.status == expected_status) return Status();
  return client::status_from_response(response.status, response.body);
}

std::string stream_name(const ServerWorkloadSettings& settings, std::string_view kind, std::size_t index) {
  return "bench-server-" + settings.stream_tag + "-" + std::string(kind) + "-" + std::to_string(index);
}

// A JSON array of `count` bench events (256-byte payloads by default).
std::string events_body(std::size_t count, std::size_t payload_bytes) {
  const std::string event = "{\"type\":\"BenchEvent\",\"data\":" + bench_event(payload_bytes).data + "}";
  std::string body = "[";
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) body.push_back(',');
    body.append(event);
  }
  body.push_back(']');
  return body;
}

// One request of a client: returns the events it moved.
using Request = std::function<Result<std::uint64_t>(HttpClient& client, std::size_t index, std::mt19937_64& random)>;

// Runs `request` in a loop on settings.clients threads, each with its own
// keep-alive connection, until the time budget is spent.
Result<WorkloadResult> run_clients(const ServerWorkloadSettings& settings, const Request& request) {
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (std::size_t i = 0; i < settings.clients; ++i) {
    auto client = connect_client(settings);
    if (!client.ok()) return client.status();
    clients.push_back(std::move(client).value());
  }
  std::atomic<bool> go{false};
  std::mutex mutex;  // guards the four below
  std::vector<double> latencies;
  std::uint64_t events = 0;
  std::uint64_t requests = 0;
  Status failure;
  Clock::time_point start;
  std::vector<std::thread> threads;
  for (std::size_t index = 0; index < settings.clients; ++index) {
    threads.emplace_back([&, index] {
      std::mt19937_64 random(index + 1);
      std::vector<double> own_latencies;
      std::uint64_t own_events = 0;
      Status own_failure;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (settings.budget.time_left(start)) {
        const auto request_start = Clock::now();
        auto moved = request(*clients[index], index, random);
        if (!moved.ok()) {
          own_failure = moved.status();
          break;
        }
        own_latencies.push_back(micros_since(request_start));
        own_events += *moved;
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), own_latencies.begin(), own_latencies.end());
      events += own_events;
      requests += own_latencies.size();
      if (!own_failure.ok() && failure.ok()) failure = own_failure;
    });
  }
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& thread : threads) thread.join();
  WorkloadResult result;
  result.seconds = seconds_since(start);
  if (!failure.ok()) return failure;
  result.events = events;
  result.calls = requests;
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

Result<WorkloadResult> run_appends(const ServerWorkloadSettings& settings, std::size_t batch, std::string_view kind) {
  const std::string body = events_body(batch, settings.payload_bytes);
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < settings.clients; ++i) {
    targets.push_back("/v1/streams/" + client::percent_encode(stream_name(settings, kind, i)));
  }
  return run_clients(settings, [&](HttpClient& client, std::size_t index, std::mt19937_64&) -> Result<std::uint64_t> {
    auto response = client.request("POST", targets[index], body);
    if (!response.ok()) return response.status();
    if (Status status = unexpected(*response, 201); !status.ok()) return status;
    return batch;
  });
}

// The time an event was appended, carried in its data: {"t":<steady ns>}.
std::int64_t now_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::optional<std::int64_t> sent_nanos(std::string_view frame_data) {
  constexpr std::string_view kKey = "\"t\":";
  const std::size_t at = frame_data.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t value = 0;
  const char* begin = frame_data.data() + at + kKey.size();
  const auto [end, error] = std::from_chars(begin, frame_data.data() + frame_data.size(), value);
  if (error != std::errc()) return std::nullopt;
  return value;
}

}  // namespace

Result<WorkloadResult> run_server_single_appends(const ServerWorkloadSettings& settings) {
  auto result = run_appends(settings, 1, "a1");
  if (!result.ok()) return result;
  result->workload = "append-1";
  result->description = std::to_string(settings.clients) + " clients, POST of 1 event, own stream each";
  return result;
}

Result<WorkloadResult> run_server_batch_appends(const ServerWorkloadSettings& settings) {
  auto result = run_appends(settings, settings.batch, "a100");
  if (!result.ok()) return result;
  result->workload = "append-" + std::to_string(settings.batch);
  result->description =
      std::to_string(settings.clients) + " clients, POST of " + std::to_string(settings.batch) + " events";
  return result;
}

Result<WorkloadResult> run_server_reads(const ServerWorkloadSettings& settings) {
  // The streams run_server_batch_appends wrote, and how many whole pages each has.
  auto setup = connect_client(settings);
  if (!setup.ok()) return setup.status();
  std::vector<std::string> targets;
  std::vector<std::uint64_t> pages;
  for (std::size_t i = 0; i < settings.clients; ++i) {
    const std::string target = "/v1/streams/" + client::percent_encode(stream_name(settings, "a100", i));
    auto response = (*setup)->request("GET", target + "?direction=backward&limit=1");
    if (!response.ok()) return response.status();
    if (Status status = unexpected(*response, 200); !status.ok()) return status;
    const auto etag = response->header("ETag");
    const std::optional<std::uint64_t> last = etag ? client::parse_etag(*etag) : std::nullopt;
    if (!last) return Status::io_error("bench: no ETag on a stream read");
    const std::uint64_t whole_pages = (*last + 1) / settings.batch;
    if (whole_pages == 0) continue;
    targets.push_back(target);
    pages.push_back(whole_pages);
  }
  if (targets.empty()) return Status::invalid_argument("bench: the batch append workload wrote no whole page");
  // Checks once that a page holds what the workload counts.
  {
    auto response = (*setup)->request("GET", targets[0] + "?from=0&limit=" + std::to_string(settings.batch));
    if (!response.ok()) return response.status();
    auto page = client::parse_event_page(response->body);
    if (!page.ok()) return page.status();
    if (page->events.size() != settings.batch) return Status::corruption("bench: a page is not whole");
  }
  const std::string limit = "&limit=" + std::to_string(settings.batch);
  auto result =
      run_clients(settings, [&](HttpClient& client, std::size_t, std::mt19937_64& random) -> Result<std::uint64_t> {
        const std::size_t stream = random() % targets.size();
        const std::uint64_t from = (random() % pages[stream]) * settings.batch;
        auto response = client.request("GET", targets[stream] + "?from=" + std::to_string(from) + limit);
        if (!response.ok()) return response.status();
        if (Status status = unexpected(*response, 200); !status.ok()) return status;
        return settings.batch;
      });
  if (!result.ok()) return result;
  result->workload = "read";
  result->description = std::to_string(settings.clients) + " clients, GET of " + std::to_string(settings.batch) +
                        "-event pages of random streams";
  return result;
}

Result<WorkloadResult> run_server_fanout(const ServerWorkloadSettings& settings) {
  const std::string stream_prefix = stream_name(settings, "fanout", 0);
  auto setup = connect_client(settings);
  if (!setup.ok()) return setup.status();
  auto stats_response = (*setup)->request("GET", "/v1/stats");
  if (!stats_response.ok()) return stats_response.status();
  if (Status status = unexpected(*stats_response, 200); !status.ok()) return status;
  auto stats = client::parse_stats(stats_response->body);
  if (!stats.ok()) return stats.status();
  const std::string target = "/v1/subscriptions/all?prefix=" + client::percent_encode(stream_prefix) +
                             "&from=" + std::to_string(stats->last_position ? *stats->last_position + 1 : 0);

  struct Subscriber {
    std::unique_ptr<HttpClient> client;
    std::thread thread;
    std::atomic<std::uint64_t> received{0};
    std::vector<double> latencies;  // written by its thread, read after join
    Status failure;
  };
  std::vector<std::unique_ptr<Subscriber>> subscribers;
  client::ClientOptions options;
  options.bearer_key = settings.api_key;
  for (std::size_t i = 0; i < settings.subscribers; ++i) {
    auto created = HttpClient::create(settings.url, options);
    if (!created.ok()) return created.status();
    subscribers.push_back(std::make_unique<Subscriber>());
    subscribers.back()->client = std::move(created).value();
  }
  std::atomic<bool> measuring{false};
  for (auto& subscriber : subscribers) {
    Subscriber* self = subscriber.get();
    self->thread = std::thread([self, &target, &measuring] {
      std::string error_body;
      auto ended = self->client->stream_events(
          target, {},
          [&](std::string_view, std::string_view, std::string_view data) {
            const bool measured = measuring.load(std::memory_order_relaxed);
            if (const std::optional<std::int64_t> sent = sent_nanos(data); sent && measured) {
              self->latencies.push_back(static_cast<double>(now_nanos() - *sent) / 1000.0);
            }
            self->received.fetch_add(1, std::memory_order_release);
            return true;
          },
          std::chrono::milliseconds(60'000), &error_body);
      if (!ended.ok() && ended.status().code() != ErrorCode::closed) self->failure = ended.status();
      if (ended.ok() && *ended != 200) self->failure = client::status_from_response(*ended, error_body);
    });
  }
  const auto stop_subscribers = [&] {
    for (auto& subscriber : subscribers) subscriber->client->cancel_stream();
    for (auto& subscriber : subscribers) {
      if (subscriber->thread.joinable()) subscriber->thread.join();
    }
  };
  const auto wait_for_all = [&](std::uint64_t count, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    for (auto& subscriber : subscribers) {
      while (subscriber->received.load(std::memory_order_acquire) < count && Clock::now() < deadline &&
             subscriber->failure.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    for (auto& subscriber : subscribers) {
      if (subscriber->received.load() < count) return false;
    }
    return true;
  };

  // Warm-up: one event every subscriber must see before the clock starts.
  const std::string first_stream = "/v1/streams/" + client::percent_encode(stream_prefix + "-w0");
  {
    auto response = (*setup)->request("POST", first_stream, "[{\"type\":\"Warmup\",\"data\":{}}]");
    if (!response.ok() || response->status != 201) {
      stop_subscribers();
      return response.ok() ? unexpected(*response, 201) : response.status();
    }
  }
  if (!wait_for_all(1, std::chrono::seconds(30))) {
    stop_subscribers();
    for (auto& subscriber : subscribers) {
      if (!subscriber->failure.ok()) return subscriber->failure;
    }
    return Status::timeout("bench: not every subscriber received the warm-up event within 30 s");
  }

  measuring.store(true);
  std::atomic<std::uint64_t> appended{0};
  Status writer_failure;
  std::mutex writer_mutex;
  const std::string padding(settings.payload_bytes > 40 ? settings.payload_bytes - 40 : 0, 'x');
  const auto start = Clock::now();
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < settings.fanout_writers; ++w) {
    writers.emplace_back([&, w] {
      auto writer = connect_client(settings);
      Status failure = writer.status();
      const std::string stream_target =
          "/v1/streams/" + client::percent_encode(stream_prefix + "-w" + std::to_string(w));
      while (failure.ok() && settings.budget.time_left(start)) {
        const std::string body = "[{\"type\":\"BenchEvent\",\"data\":{\"t\":" + std::to_string(now_nanos()) +
                                 ",\"payload\":\"" + padding + "\"}}]";
        auto response = (*writer)->request("POST", stream_target, body);
        failure = response.ok() ? unexpected(*response, 201) : response.status();
        if (failure.ok()) appended.fetch_add(1);
      }
      std::lock_guard lock(writer_mutex);
      if (!failure.ok() && writer_failure.ok()) writer_failure = failure;
    });
  }
  for (std::thread& writer : writers) writer.join();
  const bool all_delivered = wait_for_all(1 + appended.load(), std::chrono::seconds(30));
  const double seconds = seconds_since(start);
  stop_subscribers();
  if (!writer_failure.ok()) return writer_failure;
  for (auto& subscriber : subscribers) {
    if (!subscriber->failure.ok()) return subscriber->failure;
  }
  if (!all_delivered) return Status::timeout("bench: subscribers did not receive every event within 30 s");

  WorkloadResult result;
  result.workload = "sse-fanout";
  result.description = std::to_string(settings.subscribers) + " subscribers, " +
                       std::to_string(settings.fanout_writers) + " writers of 1 event per POST";
  result.seconds = seconds;
  result.calls = appended.load();
  std::vector<double> latencies;
  for (auto& subscriber : subscribers) {
    result.events += subscriber->received.load() - 1;  // minus the warm-up event
    latencies.insert(latencies.end(), subscriber->latencies.begin(), subscriber->latencies.end());
  }
  finish_result(result, settings.payload_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
