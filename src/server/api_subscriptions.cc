// Live subscriptions of the API v1 as Server-Sent Events: the feeds the
// transport pulls (http_message.h's SseFeed). A feed only reads pages with
// read_all / read_stream and never waits; the transport waits for commits.
#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

#include "server/api_handlers.h"
#include "server/api_json.h"

namespace evsrc::server {
namespace {

void append_frame(std::string& out, std::uint64_t id, const RecordedEvent& event) {
  std::string data;
  append_recorded_event_json(data, event);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), id).ptr;
  // A line break in a type would end the `event:` line early and let the
  // rest pass for other fields; `data` keeps the exact type.
  std::string type = event.type;
  std::replace_if(
      type.begin(), type.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  append_sse_frame(out, std::string_view(digits, static_cast<std::size_t>(end - digits)), type, data);
}

// A batch's frames stop once past kBatchBudgetBytes (checked after every
// event: the transport holds one batch per subscriber, so a subscriber holds
// at most this and one event's frame); the events read at once follow their
// size as a read page's do (api_reads.cc). A filtered $all batch examines at
// most kBatchScanBudget positions; one that stops there says behind() and the
// transport asks again at once (other work queued on the workers goes first).
constexpr std::size_t kBatchBudgetBytes = 1 << 20;
constexpr std::uint64_t kBatchScanBudget = 1 << 18;
constexpr std::uint64_t kMaxBatchEvents = 64;

// How many events a feed reads at once: starts from the largest event the
// server accepts, then follows the largest event seen in the last read.
class BatchSizer {
 public:
  explicit BatchSizer(std::size_t max_event_bytes) : events_(fit(max_event_bytes)) {}
  std::uint64_t events() const { return events_; }
  void saw(std::size_t largest_event_bytes) { events_ = fit(largest_event_bytes); }

 private:
  static std::uint64_t fit(std::size_t event_bytes) {
    return std::clamp<std::uint64_t>(kBatchBudgetBytes / std::max<std::size_t>(1, event_bytes), 1, kMaxBatchEvents);
  }
  std::uint64_t events_;
};

// Appends the frames of `events` until the batch budget is passed; returns
// how many were appended (the caller resumes after the last of them) and the
// largest event's bytes.
std::pair<std::size_t, std::size_t> append_frames(std::string& out, const std::vector<RecordedEvent>& events,
                                                  bool ids_are_positions) {
  std::size_t largest = 1;
  std::size_t appended = 0;
  for (const RecordedEvent& event : events) {
    append_frame(out, ids_are_positions ? event.position : event.revision, event);
    largest = std::max(largest, recorded_event_bytes(event));
    ++appended;
    if (out.size() >= kBatchBudgetBytes) break;
  }
  return {appended, largest};
}

// $all from a position, filtered. Ids are positions.
class AllFeed final : public SseFeed {
 public:
  AllFeed(EventStore& store, std::optional<Position> from, EventFilter filter, std::uint64_t max_page,
          std::size_t max_event_bytes)
      : store_(store), next_(from), filter_(std::move(filter)), max_page_(max_page), sizer_(max_event_bytes) {}

  Result<std::size_t> read_next(std::string& out, std::size_t max_events) override {
    behind_ = false;
    if (max_events == 0) return std::size_t{0};
    // With a filter, most of the log may not match: remember how far a page
    // that reached the end looked, so the next call does not scan it again.
    std::optional<Position> head;
    if (!filter_.empty()) {
      Result<StoreStats> stats = store_.stats();
      if (!stats.ok()) return stats.status();
      head = stats->last_position;
    }
    AllReadOptions options;
    options.from = next_;
    options.limit = std::min<std::uint64_t>({max_events, max_page_, sizer_.events()});
    options.filter = filter_;
    if (!filter_.empty()) options.scan_limit = kBatchScanBudget;
    Result<AllPage> page = store_.read_all(options);
    if (!page.ok()) return page.status();
    const auto [appended, largest] = append_frames(out, page->events, /*ids_are_positions=*/true);
    sizer_.saw(largest);
    if (appended < page->events.size()) {
      next_ = page->events[appended - 1].position + 1;
    } else if (page->next) {
      next_ = page->next;
      // Short of the limit with more to read: the scan window ended.
      behind_ = page->events.size() < options.limit;
    } else {
      if (!page->events.empty()) next_ = page->events.back().position + 1;
      // Every position up to `head` was committed before the read began, and
      // the read went to the end of what was committed.
      if (head && (!next_ || *next_ <= *head)) next_ = *head + 1;
    }
    return appended;
  }

  bool behind() const override { return behind_; }

 private:
  EventStore& store_;
  std::optional<Position> next_;
  const EventFilter filter_;
  const std::uint64_t max_page_;
  BatchSizer sizer_;
  bool behind_ = false;
};

// One stream from a revision. Ids are revisions. A stream that does not
// exist (yet, or any more after a soft delete) is waited for.
class StreamFeed final : public SseFeed {
 public:
  StreamFeed(EventStore& store, std::string stream, std::optional<StreamRevision> from, std::uint64_t max_page,
             std::size_t max_event_bytes)
      : store_(store), stream_(std::move(stream)), next_(from), max_page_(max_page), sizer_(max_event_bytes) {}

  Result<std::size_t> read_next(std::string& out, std::size_t max_events) override {
    if (max_events == 0) return std::size_t{0};
    StreamReadOptions options;
    options.from = next_;
    options.limit = std::min<std::uint64_t>({max_events, max_page_, sizer_.events()});
    Result<StreamPage> page = store_.read_stream(stream_, options);
    if (!page.ok()) {
      if (page.status().code() == ErrorCode::not_found) return std::size_t{0};
      return page.status();
    }
    const auto [appended, largest] = append_frames(out, page->events, /*ids_are_positions=*/false);
    sizer_.saw(largest);
    if (appended < page->events.size()) {
      next_ = page->events[appended - 1].revision + 1;
    } else if (page->next) {
      next_ = page->next;
    } else if (!page->events.empty()) {
      next_ = page->events.back().revision + 1;
    }
    return appended;
  }

 private:
  EventStore& store_;
  const std::string stream_;
  std::optional<StreamRevision> next_;
  const std::uint64_t max_page_;
  BatchSizer sizer_;
};

HttpResponse event_stream_head() {
  HttpResponse response;
  response.status = 200;
  response.headers.set("Content-Type", "text/event-stream");
  response.headers.set("Cache-Control", "no-cache");
  response.headers.set("X-Accel-Buffering", "no");  // proxies: do not buffer the stream
  return response;
}

// Where a subscription starts: after the Last-Event-ID when the client sent
// one (a reconnect), else `from` ("end": after what is committed now, as
// given by `end`). nullopt value = the beginning.
ApiResult<std::optional<std::uint64_t>> start_point(const ApiRequest& request,
                                                    const std::function<Result<std::uint64_t>()>& end) {
  if (const std::optional<std::string_view> last_id = request.http.headers.get("Last-Event-ID")) {
    std::uint64_t id = 0;
    const auto [ptr, error] = std::from_chars(last_id->data(), last_id->data() + last_id->size(), id);
    if (last_id->empty() || error != std::errc() || ptr != last_id->data() + last_id->size() ||
        id == std::numeric_limits<std::uint64_t>::max()) {
      return error_response(400, "bad_request", "Last-Event-ID must be the id of an event sent before");
    }
    return std::optional<std::uint64_t>(id + 1);
  }
  if (request.target.param("from") == std::optional<std::string_view>("end")) {
    Result<std::uint64_t> after_end = end();
    if (!after_end.ok()) return store_error_response(after_end.status());
    return std::optional<std::uint64_t>(*after_end);
  }
  return uint_param(request.target, "from");
}

}  // namespace

Reply handle_subscribe_all(ApiRequest& request) {
  EventFilter filter;
  filter.stream_prefix = std::string(request.target.param("prefix").value_or(""));
  filter.event_type = std::string(request.target.param("type").value_or(""));
  filter.category = std::string(request.target.param("category").value_or(""));
  if (auto error = check_prefix_access(request.principal, filter.stream_prefix)) return reply(std::move(*error));
  EventStore& store = *request.context.store;
  auto from = start_point(request, [&store]() -> Result<std::uint64_t> {
    Result<StoreStats> stats = store.stats();
    if (!stats.ok()) return stats.status();
    return stats->last_position ? *stats->last_position + 1 : 0;
  });
  if (!from.ok()) return reply(from.take_error());
  return Reply{event_stream_head(),
               std::make_unique<AllFeed>(store, *from, std::move(filter), request.context.limits.max_page,
                                         request.context.limits.max_event_bytes),
               nullptr};
}

Reply handle_subscribe_stream(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  EventStore& store = *request.context.store;
  Result<StreamInfo> info = store.stream_info(stream);
  if (!info.ok() && info.status().code() != ErrorCode::not_found) return reply(store_error_response(info.status()));
  if (info.ok() && info->tombstoned) {
    return reply(error_response(410, "stream_deleted", "stream " + stream + " is tombstoned"));
  }
  auto from = start_point(request, [&info]() -> Result<std::uint64_t> {
    return info.ok() && info->last_revision ? *info->last_revision + 1 : 0;
  });
  if (!from.ok()) return reply(from.take_error());
  return Reply{event_stream_head(),
               std::make_unique<StreamFeed>(store, stream, *from, request.context.limits.max_page,
                                            request.context.limits.max_event_bytes),
               nullptr};
}

}  // namespace evsrc::server
