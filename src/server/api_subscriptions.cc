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

void append_frame(std::string& out, std::uint64_t id, const EventView& event) {
  std::string data;
  append_event_json(data, event);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), id).ptr;
  // A line break in a type would end the `event:` line early and let the
  // rest pass for other fields; `data` keeps the exact type.
  std::string type(event.type);
  std::replace_if(
      type.begin(), type.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  append_sse_frame(out, std::string_view(digits, static_cast<std::size_t>(end - digits)), type, data);
}

// A batch's frames stop once past kBatchBudgetBytes (checked after every
// event: the transport holds one batch per subscriber, so a subscriber holds
// at most this and one event's frame). The events read at once: a store
// whose cursors borrow is read through one cursor (at most one append's
// events held); any other through a cursor of a few events, sized as a read
// page's sub-pages are (api_reads.cc): by the largest event the feed has
// seen, starting from the largest the server accepts. A filtered $all batch
// examines at most kBatchScanBudget positions; one that stops there says
// behind() and the transport asks again at once (other work queued on the
// workers goes first).
constexpr std::size_t kBatchBudgetBytes = 1 << 20;
constexpr std::uint64_t kBatchScanBudget = 1 << 18;
constexpr std::uint64_t kMaxBatchEvents = 64;

// How many events a feed reads at once.
class BatchSizer {
 public:
  BatchSizer(const EventStore& store, std::size_t max_event_bytes)
      : borrow_(store.cursors_borrow()), events_(fit(max_event_bytes)) {}
  std::uint64_t events() const { return borrow_ ? kMaxBatchEvents : events_; }
  // After a read: `largest_event_bytes` of the events it returned (a read
  // that returned none tells nothing and changes nothing).
  void saw(std::size_t largest_event_bytes) {
    largest_ = std::max(largest_, largest_event_bytes);
    if (largest_event_bytes != 0) events_ = fit(largest_);
  }

 private:
  static std::uint64_t fit(std::size_t event_bytes) {
    return std::clamp<std::uint64_t>(kBatchBudgetBytes / std::max<std::size_t>(1, event_bytes), 1, kMaxBatchEvents);
  }
  const bool borrow_;
  std::uint64_t events_;
  std::size_t largest_ = 0;
};

// What one batch read: the frames appended, the largest event's bytes, the
// key (position or revision) of the last event appended, and where the read
// goes on: the first event left out by the budget, or the cursor's
// resume_from() when it ended.
struct BatchRead {
  std::size_t appended = 0;
  std::size_t largest = 0;
  std::uint64_t last_key = 0;
  bool cut_by_budget = false;
  std::optional<std::uint64_t> next;
};

Result<BatchRead> append_frames(std::string& out, EventCursor& cursor, bool ids_are_positions) {
  BatchRead batch;
  while (true) {
    Result<const EventView*> event = cursor.next();
    if (!event.ok()) return event.status();
    if (*event == nullptr) {
      batch.next = cursor.resume_from();
      return batch;
    }
    const EventView& view = **event;
    const std::uint64_t key = ids_are_positions ? view.position : view.revision;
    if (batch.cut_by_budget) {
      batch.next = key;
      return batch;
    }
    append_frame(out, key, view);
    batch.largest = std::max(batch.largest, event_bytes(view));
    batch.last_key = key;
    ++batch.appended;
    batch.cut_by_budget = out.size() >= kBatchBudgetBytes;
  }
}

// $all from a position, filtered. Ids are positions.
class AllFeed final : public SseFeed {
 public:
  AllFeed(EventStore& store, std::optional<Position> from, EventFilter filter, std::uint64_t max_page,
          std::size_t max_event_bytes)
      : store_(store), next_(from), filter_(std::move(filter)), max_page_(max_page), sizer_(store, max_event_bytes) {}

  Result<std::size_t> read_next(std::string& out, std::size_t max_events) override {
    behind_ = false;
    if (max_events == 0) return std::size_t{0};
    // With a filter, most of the log may not match: remember how far a read
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
    Result<std::unique_ptr<EventCursor>> cursor = store_.open_all_cursor(options);
    if (!cursor.ok()) return cursor.status();
    Result<BatchRead> batch = append_frames(out, **cursor, /*ids_are_positions=*/true);
    if (!batch.ok()) return batch.status();
    sizer_.saw(batch->largest);
    if (batch->cut_by_budget) {
      next_ = batch->last_key + 1;
    } else if (batch->next) {
      next_ = batch->next;
      // Short of the limit with more to read: the scan window ended.
      behind_ = batch->appended < options.limit;
    } else {
      if (batch->appended != 0) next_ = batch->last_key + 1;
      // Every position up to `head` was committed before the read began, and
      // the read went to the end of what was committed.
      if (head && (!next_ || *next_ <= *head)) next_ = *head + 1;
    }
    return batch->appended;
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
      : store_(store), stream_(std::move(stream)), next_(from), max_page_(max_page), sizer_(store, max_event_bytes) {}

  Result<std::size_t> read_next(std::string& out, std::size_t max_events) override {
    if (max_events == 0) return std::size_t{0};
    StreamReadOptions options;
    options.from = next_;
    options.limit = std::min<std::uint64_t>({max_events, max_page_, sizer_.events()});
    Result<std::unique_ptr<StreamCursor>> cursor = store_.open_stream_cursor(stream_, options);
    if (!cursor.ok()) {
      if (cursor.status().code() == ErrorCode::not_found) return std::size_t{0};
      return cursor.status();
    }
    Result<BatchRead> batch = append_frames(out, **cursor, /*ids_are_positions=*/false);
    if (!batch.ok()) return batch.status();
    sizer_.saw(batch->largest);
    if (batch->cut_by_budget) {
      next_ = batch->last_key + 1;
    } else if (batch->next) {
      next_ = batch->next;
    } else if (batch->appended != 0) {
      next_ = batch->last_key + 1;
    }
    return batch->appended;
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
