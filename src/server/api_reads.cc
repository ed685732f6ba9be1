// The reads of the API v1: a stream, one event, $all, the list of streams
// and a stream's metadata.
#include <charconv>

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

// A page is read from the store in sub-pages of kSubPageEvents and ends early
// once its JSON passes kPageBudgetBytes (its `next` then points at the first
// event left out), so a page of 10,000 large events cannot exhaust memory.
constexpr std::uint64_t kSubPageEvents = 64;
constexpr std::size_t kPageBudgetBytes = 8 << 20;

// Builds {"events":[...],"next":...} from `read(from, limit)` calls returning
// Result<page with .events and .next>. `on_page` sees each sub-page.
template <class Read, class OnPage>
Result<std::string> read_page_json(std::optional<std::uint64_t> from, std::uint64_t limit, Read read,
                                   OnPage on_page, std::size_t& events_read) {
  std::string out = "{\"events\":[";
  std::optional<std::uint64_t> next = from;
  std::uint64_t remaining = limit;
  bool first = true;
  while (true) {
    auto page = read(next, std::min(remaining, kSubPageEvents));
    if (!page.ok()) return page.status();
    on_page(*page);
    for (const RecordedEvent& event : page->events) {
      if (!first) out.push_back(',');
      first = false;
      append_recorded_event_json(out, event);
    }
    events_read += page->events.size();
    remaining -= std::min<std::uint64_t>(remaining, page->events.size());
    next = page->next;
    if (!next || remaining == 0 || out.size() >= kPageBudgetBytes) break;
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
      *from, *limit,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit) {
        StreamReadOptions options;
        options.from = page_from;
        options.limit = page_limit;
        options.direction = *direction;
        return request.context.store->read_stream(stream, options);
      },
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
  Result<std::string> body = read_page_json(
      *from, *limit,
      [&](std::optional<std::uint64_t> page_from, std::uint64_t page_limit) {
        options.from = page_from;
        options.limit = page_limit;
        return request.context.store->read_all(options);
      },
      [](const AllPage&) {}, events_read);
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
