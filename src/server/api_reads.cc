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

// {"events":[...],"next":...}
std::string event_page_json(const std::vector<RecordedEvent>& events, const std::optional<std::uint64_t>& next) {
  std::string out = "{\"events\":[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_recorded_event_json(out, events[i]);
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

  StreamReadOptions options;
  options.from = *from;
  options.limit = *limit;
  options.direction = *direction;
  Result<StreamPage> page = request.context.store->read_stream(stream, options);
  if (!page.ok()) return reply(store_error_response(page.status()));
  record_read(request.context.metrics, page->events.size());
  HttpResponse response = json_response(200, event_page_json(page->events, page->next));
  response.headers.set("ETag", revision_etag(page->last_revision));
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
  options.from = *from;
  options.limit = *limit;
  options.direction = *direction;
  options.filter.stream_prefix = std::string(request.target.param("prefix").value_or(""));
  options.filter.event_type = std::string(request.target.param("type").value_or(""));
  options.filter.category = std::string(request.target.param("category").value_or(""));
  if (auto error = check_prefix_access(request.principal, options.filter.stream_prefix)) {
    return reply(std::move(*error));
  }
  Result<AllPage> page = request.context.store->read_all(options);
  if (!page.ok()) return reply(store_error_response(page.status()));
  record_read(request.context.metrics, page->events.size());
  return reply(json_response(200, event_page_json(page->events, page->next)));
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
