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
// - the events held at once: a store whose cursors borrow (the embedded
//   engine) is read through one cursor, which holds at most one append's
//   events; any other is read in sub-pages (cursors of a few events, whose
//   default holds them as owned copies) of at most kSubPageEvents, sized by
//   the largest event seen so far in the page and never above what the
//   budget left holds of that size: at most kSubPageEvents events of the
//   largest size accepted (max_event_bytes) at once;
// - a filtered $all read examines at most kPageScanBudget positions
//   (AllReadOptions::scan_limit), so a filter that matches little cannot
//   keep a worker busy for a whole-log scan: the page may come back short,
//   even empty, with `next` set.
constexpr std::uint64_t kSubPageEvents = 64;
constexpr std::size_t kPageBudgetBytes = 8 << 20;
constexpr std::uint64_t kPageScanBudget = 1 << 18;

// How a page is read: `open(from, limit, scan_limit)` opens a cursor
// (Result<unique_ptr<Cursor>>), `key_of(view)` is an event's place in the
// walk (revision or position), `on_cursor` sees each cursor opened.
struct PageWalk {
  std::optional<std::uint64_t> from;
  std::uint64_t limit = 0;
  Direction direction = Direction::forward;
  bool cursors_borrow = false;
  std::size_t max_event_bytes = 1;
  std::uint64_t scan_budget = 0;  // keys the whole page may examine (0: no bound)
};

// Builds {"events":[...],"next":...}.
template <class Open, class KeyOf, class OnCursor>
Result<std::string> read_page_json(const PageWalk& walk, Open open, KeyOf key_of, OnCursor on_cursor,
                                   std::size_t& events_read) {
  std::string out;
  // Room for a page of small events at once (most pages), instead of
  // doubling through it.
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(walk.limit, 1000)) * 384);
  out = "{\"events\":[";
  std::optional<std::uint64_t> next = walk.from;
  std::uint64_t remaining = walk.limit;
  std::size_t largest_seen = 0;  // in this page
  std::uint64_t scan_left = walk.scan_budget;
  bool first = true;
  while (true) {
    const std::size_t largest = largest_seen != 0 ? largest_seen : std::max<std::size_t>(1, walk.max_event_bytes);
    const std::uint64_t sub_page =
        walk.cursors_borrow ? remaining
                            : std::clamp<std::uint64_t>((kPageBudgetBytes - out.size()) / largest, 1, kSubPageEvents);
    const std::uint64_t asked = std::min(remaining, sub_page);
    auto cursor = open(next, asked, scan_left);
    if (!cursor.ok()) return cursor.status();
    on_cursor(**cursor);
    const std::optional<std::uint64_t> cursor_from = next;
    std::optional<std::uint64_t> first_key;
    std::uint64_t taken = 0;
    bool over_budget = false;
    while (true) {
      Result<const EventView*> event = (*cursor)->next();
      if (!event.ok()) return event.status();
      if (*event == nullptr) {
        next = (*cursor)->resume_from();
        break;
      }
      const EventView& view = **event;
      if (over_budget) {
        // The first event the budget left out: the page goes on from it.
        next = key_of(view);
        break;
      }
      if (!first) out.push_back(',');
      first = false;
      append_event_json(out, view);
      largest_seen = std::max(largest_seen, event_bytes(view));
      if (!first_key) first_key = key_of(view);
      ++taken;
      ++events_read;
      over_budget = out.size() >= kPageBudgetBytes;
    }
    remaining -= std::min(remaining, taken);
    if (!next || remaining == 0 || over_budget) break;
    // A cursor that stopped short with more to read: the scan window ended,
    // or a store answered nothing without moving. The client goes on from
    // `next`.
    if (taken < asked) break;
    if (scan_left != 0) {
      // Keys walked by this cursor (from its first event when it started at
      // the head, so at most one window goes uncounted).
      const std::uint64_t start = cursor_from.value_or(walk.direction == Direction::forward ? 0 : *first_key);
      const std::uint64_t walked = walk.direction == Direction::forward ? *next - start : start - *next;
      if (walked >= scan_left) break;
      scan_left -= walked;
    }
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
  EventStore& store = *request.context.store;
  const PageWalk walk{*from, *limit, *direction, store.cursors_borrow(), request.context.limits.max_event_bytes, 0};
  Result<std::string> body = read_page_json(
      walk,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit, std::uint64_t) {
        StreamReadOptions options;
        options.from = page_from;
        options.limit = page_limit;
        options.direction = *direction;
        return store.open_stream_cursor(stream, options);
      },
      [](const EventView& event) { return event.revision; },
      [&](const StreamCursor& cursor) { last_revision = cursor.last_revision(); }, events_read);
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
  EventStore& store = *request.context.store;
  const PageWalk walk{*from, *limit, *direction, store.cursors_borrow(), request.context.limits.max_event_bytes,
                      scan_budget};
  Result<std::string> body = read_page_json(
      walk,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit, std::uint64_t scan_left) {
        options.from = page_from;
        options.limit = page_limit;
        options.scan_limit = scan_left;
        return store.open_all_cursor(options);
      },
      [](const EventView& event) { return event.position; }, [](const EventCursor&) {}, events_read);
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
