// The reads of the API v1: a stream, one event, $all, the list of streams
// and a stream's metadata.
#include <algorithm>
#include <charconv>
#include <cstdint>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/server_metrics.h"

namespace evsrc::server {
namespace {

void append_optional(std::string& out, const std::optional<std::uint64_t>& value) {
  out.append(value ? std::to_string(*value) : "null");
}

void record_read(ServerMetrics* metrics, std::size_t events) {
  if (metrics != nullptr) metrics->read_events.fetch_add(events, std::memory_order_relaxed);
}

// A page is bounded three ways, whatever the stored data (its `next` then
// points at the first event left out, so the client goes on from there):
// - its JSON stops growing once past kPageBudgetBytes, checked after every
//   event (an event's JSON may be 6 times its bytes: control characters are
//   escaped), so a response holds at most the budget and one event more;
// - the store is read in sub-pages whose event count follows the size of
//   the events seen (at most kSubPageEvents, fewer for large events; the
//   first sub-page assumes events of the largest size accepted), so the
//   events held at once stay near the budget too;
// - a filtered $all read examines at most kPageScanBudget positions
//   (AllReadOptions::scan_limit), so a filter that matches little cannot
//   keep a worker busy for a whole-log scan: the page may come back short,
//   even empty, with `next` set.
constexpr std::uint64_t kSubPageEvents = 64;
constexpr std::size_t kPageBudgetBytes = 8 << 20;
constexpr std::uint64_t kPageScanBudget = 1 << 18;

// The `from` of the read that continues after `key` in `direction`; nullopt
// when nothing can follow (backward past 0, forward past the last key).
std::optional<std::uint64_t> key_after(std::uint64_t key, Direction direction) {
  if (direction == Direction::forward) {
    return key == UINT64_MAX ? std::nullopt : std::optional<std::uint64_t>(key + 1);
  }
  return key == 0 ? std::nullopt : std::optional<std::uint64_t>(key - 1);
}

// Builds {"events":[...],"next":...} from `read(from, limit, scan_limit)`
// calls returning Result<page with .events and .next>; `key_of(event)` is the
// event's place in the walk (revision or position). `on_page` sees each
// sub-page. `scan_budget`: keys the whole page may examine (0: no bound).
template <class Read, class KeyOf, class OnPage>
Result<std::string> read_page_json(std::optional<std::uint64_t> from, std::uint64_t limit, Direction direction,
                                   std::size_t max_event_bytes, std::uint64_t scan_budget, Read read, KeyOf key_of,
                                   OnPage on_page, std::size_t& events_read) {
  std::string out = "{\"events\":[";
  std::optional<std::uint64_t> next = from;
  std::uint64_t remaining = limit;
  std::uint64_t sub_page = std::clamp<std::uint64_t>(kPageBudgetBytes / std::max<std::size_t>(1, max_event_bytes), 1,
                                                     kSubPageEvents);
  std::uint64_t scan_left = scan_budget;
  bool first = true;
  while (true) {
    const std::uint64_t asked = std::min(remaining, sub_page);
    auto page = read(next, asked, scan_left);
    if (!page.ok()) return page.status();
    on_page(*page);
    const std::optional<std::uint64_t> page_from = next;
    next = page->next;
    std::size_t largest = 1;
    bool over_budget = false;
    for (std::size_t i = 0; i < page->events.size(); ++i) {
      const RecordedEvent& event = page->events[i];
      if (!first) out.push_back(',');
      first = false;
      append_recorded_event_json(out, event);
      largest = std::max(largest, recorded_event_bytes(event));
      ++events_read;
      if (out.size() >= kPageBudgetBytes) {
        if (i + 1 < page->events.size()) next = key_after(key_of(event), direction);
        over_budget = true;
        break;
      }
    }
    remaining -= std::min<std::uint64_t>(remaining, page->events.size());
    if (!next || remaining == 0 || over_budget) break;
    if (scan_left != 0) {
      // Short of what was asked but not at the end: the scan window ended.
      if (page->events.size() < asked) break;
      // Keys walked by this sub-page (from its first event when it started
      // at the head, so at most one window goes uncounted).
      const std::uint64_t start =
          page_from.value_or(direction == Direction::forward ? 0 : key_of(page->events.front()));
      const std::uint64_t walked = direction == Direction::forward ? *next - start : start - *next;
      if (walked >= scan_left) break;
      scan_left -= walked;
    }
    sub_page = std::clamp<std::uint64_t>((kPageBudgetBytes - out.size()) / largest, 1, kSubPageEvents);
  }
  out.append("],\"next\":");
  append_optional(out, next);
  out.push_back('}');
  return out;
}

}  // namespace

Reply handle_read_stream(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  auto from = uint_param(request.target, "from");
  if (!from.ok()) return reply(from.take_error());
  auto limit = page_limit_param(request.target, request.context.limits);
  if (!limit.ok()) return reply(limit.take_error());
  auto direction = direction_param(request.target);
  if (!direction.ok()) return reply(direction.take_error());

  StreamRevision last_revision = 0;
  std::size_t events_read = 0;
  Result<std::string> body = read_page_json(
      *from, *limit, *direction, request.context.limits.max_event_bytes, /*scan_budget=*/0,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit, std::uint64_t) {
        StreamReadOptions options;
        options.from = page_from;
        options.limit = page_limit;
        options.direction = *direction;
        return request.context.store->read_stream(stream, options);
      },
      [](const RecordedEvent& event) { return event.revision; },
      [&](const StreamPage& page) { last_revision = page.last_revision; }, events_read);
  if (!body.ok()) return reply(store_error_response(body.status()));
  record_read(request.context.metrics, events_read);
  HttpResponse response = json_response(200, std::move(body).value());
  response.headers.set("ETag", revision_etag(last_revision));
  return reply(std::move(response));
}

Reply handle_read_event(ApiRequest& request, const std::string& stream, std::string_view revision_text) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  StreamRevision revision = 0;
  const auto [end, error] =
      std::from_chars(revision_text.data(), revision_text.data() + revision_text.size(), revision);
  if (revision_text.empty() || error != std::errc() || end != revision_text.data() + revision_text.size()) {
    return reply(error_response(400, "bad_request", "the revision in the path must be a non-negative integer"));
  }
  StreamReadOptions options;
  options.from = revision;
  options.limit = 1;
  Result<StreamPage> page = request.context.store->read_stream(stream, options);
  if (!page.ok()) return reply(store_error_response(page.status()));
  if (page->events.empty() || page->events.front().revision != revision) {
    return reply(error_response(404, "event_not_found",
                                "stream " + stream + " has no visible event at revision " + std::to_string(revision)));
  }
  record_read(request.context.metrics, 1);
  std::string out;
  append_recorded_event_json(out, page->events.front());
  HttpResponse response = json_response(200, std::move(out));
  response.headers.set("ETag", revision_etag(page->last_revision));
  return reply(std::move(response));
}

Reply handle_read_all(ApiRequest& request) {
  auto from = uint_param(request.target, "from");
  if (!from.ok()) return reply(from.take_error());
  auto limit = page_limit_param(request.target, request.context.limits);
  if (!limit.ok()) return reply(limit.take_error());
  auto direction = direction_param(request.target);
  if (!direction.ok()) return reply(direction.take_error());
  AllReadOptions options;
  options.direction = *direction;
  options.filter.stream_prefix = std::string(request.target.param("prefix").value_or(""));
  options.filter.event_type = std::string(request.target.param("type").value_or(""));
  options.filter.category = std::string(request.target.param("category").value_or(""));
  if (auto error = check_prefix_access(request.principal, options.filter.stream_prefix)) {
    return reply(std::move(*error));
  }
  std::size_t events_read = 0;
  auto scan_limit = uint_param(request.target, "scanLimit");
  if (!scan_limit.ok()) return reply(scan_limit.take_error());
  if (*scan_limit && **scan_limit == 0) {
    return reply(error_response(400, "bad_request", "scanLimit must be at least 1"));
  }
  // Unfiltered, every position examined is an event of the page: no budget
  // unless the client asks for one.
  std::uint64_t scan_budget = options.filter.empty() ? 0 : kPageScanBudget;
  if (*scan_limit) scan_budget = scan_budget == 0 ? **scan_limit : std::min(scan_budget, **scan_limit);
  Result<std::string> body = read_page_json(
      *from, *limit, *direction, request.context.limits.max_event_bytes, scan_budget,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit, std::uint64_t scan_left) {
        options.from = page_from;
        options.limit = page_limit;
        options.scan_limit = scan_left;
        return request.context.store->read_all(options);
      },
      [](const RecordedEvent& event) { return event.position; }, [](const AllPage&) {}, events_read);
  if (!body.ok()) return reply(store_error_response(body.status()));
  record_read(request.context.metrics, events_read);
  return reply(json_response(200, std::move(body).value()));
}

Reply handle_list_streams(ApiRequest& request) {
  auto limit = page_limit_param(request.target, request.context.limits);
  if (!limit.ok()) return reply(limit.take_error());
  const std::string_view prefix = request.target.param("prefix").value_or("");
  const std::string_view after = request.target.param("after").value_or("");
  if (auto error = check_prefix_access(request.principal, prefix)) return reply(std::move(*error));
  EventStore& store = *request.context.store;
  // One name more than the page tells whether another page follows.
  Result<std::vector<std::string>> names = store.list_streams(prefix, after, *limit + 1);
  if (!names.ok()) return reply(store_error_response(names.status()));
  std::optional<std::string> next;
  if (names->size() > *limit) {
    names->resize(*limit);
    next = names->back();
  }
  std::string out = "{\"streams\":[";
  for (std::size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    Result<StreamInfo> info = store.stream_info(name);
    if (!info.ok() && info.status().code() != ErrorCode::not_found) return reply(store_error_response(info.status()));
    if (i > 0) out.push_back(',');
    out.append("{\"stream\":");
    append_json_string(out, name);
    out.append(",\"lastRevision\":");
    append_optional(out, info.ok() ? info->last_revision : std::nullopt);
    if (info.ok() && info->soft_deleted) out.append(",\"deleted\":true");
    if (info.ok() && info->tombstoned) out.append(",\"tombstoned\":true");
    out.push_back('}');
  }
  out.append("],\"next\":");
  if (next) {
    append_json_string(out, *next);
  } else {
    out.append("null");
  }
  out.push_back('}');
  return reply(json_response(200, std::move(out)));
}

HttpResponse stream_metadata_response(EventStore& store, const std::string& stream) {
  Result<StreamInfo> info = store.stream_info(stream);
  if (!info.ok()) return store_error_response(info.status());
  const StreamMetadata& metadata = info->metadata;
  std::string out = "{\"stream\":";
  append_json_string(out, stream);
  out.append(",\"lastRevision\":");
  append_optional(out, info->last_revision);
  out.append(",\"deleted\":").append(info->soft_deleted ? "true" : "false");
  out.append(",\"tombstoned\":").append(info->tombstoned ? "true" : "false");
  out.append(",\"maxCount\":");
  append_optional(out, metadata.max_count);
  out.append(",\"maxAge\":");
  append_optional(out, metadata.max_age ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(
                                              std::max<std::int64_t>(0, metadata.max_age->count())))
                                        : std::nullopt);
  out.append(",\"truncateBefore\":");
  append_optional(out, metadata.truncate_before);
  out.append(",\"custom\":");
  if (metadata.custom.empty()) {
    out.append("null");
  } else {
    append_bytes_as_json(out, metadata.custom);
  }
  out.push_back('}');
  return json_response(200, std::move(out));
}

Reply handle_get_metadata(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  return reply(stream_metadata_response(*request.context.store, stream));
}

}  // namespace evsrc::server
