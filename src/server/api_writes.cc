// The writes of the API v1: appends, transactions, deletes and stream
// metadata. Every input is validated before the store is called, so a bad
// request writes nothing.
#include <limits>
#include <vector>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/server_metrics.h"

namespace evsrc::server {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxTypeBytes = 255;

HttpResponse bad_request(std::string_view code, std::string message, std::string_view extra_members = {}) {
  return error_response(400, code, message, "{" + std::string(extra_members) + "}");
}

std::string join_members(std::string_view first, std::string_view second) {
  if (first.empty()) return std::string(second);
  if (second.empty()) return std::string(first);
  return std::string(first) + "," + std::string(second);
}

ApiResult<bj::value> parse_body(const HttpRequest& http) {
  std::string error;
  std::optional<bj::value> parsed = parse_json(http.body, &error);
  if (!parsed) return bad_request("bad_request", "the body is not valid JSON (UTF-8): " + error);
  return std::move(*parsed);
}

bool read_uint(const bj::value& value, std::uint64_t& out) {
  if (value.is_uint64()) {
    out = value.get_uint64();
    return true;
  }
  if (value.is_int64() && value.get_int64() >= 0) {
    out = static_cast<std::uint64_t>(value.get_int64());
    return true;
  }
  return false;
}

std::string_view key_of(const bj::key_value_pair& member) { return {member.key().data(), member.key().size()}; }

struct ParsedEvents {
  std::vector<EventData> events;
  std::uint64_t bytes = 0;  // data + metadata
};

// One event {"id"?, "type", "data", "metadata"?, "contentType"?}; `where` names it in errors
// ("\"event\":2" or "\"part\":1,\"event\":2").
ApiResult<EventData> parse_event(const bj::value& value, const std::string& where, const ApiLimits& limits) {
  const bj::object* object = value.if_object();
  if (object == nullptr) return bad_request("invalid_event", "an event must be a JSON object", where);
  EventData event;
  bool has_type = false;
  bool has_data = false;
  for (const bj::key_value_pair& member : *object) {
    const std::string_view key = key_of(member);
    const bj::value& field = member.value();
    if (key == "type") {
      if (!field.is_string()) return bad_request("invalid_event", "\"type\" must be a string", where);
      event.type.assign(field.get_string().data(), field.get_string().size());
      has_type = true;
    } else if (key == "data") {
      event.data = json_to_bytes(field);
      has_data = true;
    } else if (key == "metadata") {
      if (field.is_null()) continue;
      if (!field.is_object()) return bad_request("invalid_event", "\"metadata\" must be a JSON object", where);
      event.metadata = json_text(field);
    } else if (key == "id") {
      if (field.is_null()) continue;
      const std::optional<Uuid> id =
          field.is_string() ? Uuid::parse(std::string_view(field.get_string().data(), field.get_string().size()))
                            : std::nullopt;
      if (!id) return bad_request("invalid_event", "\"id\" must be a UUID string", where);
      event.id = *id;
    } else if (key == "contentType") {
      if (field.is_null()) continue;
      if (!field.is_string() || field.get_string().empty()) {
        return bad_request("invalid_event", "\"contentType\" must be a non-empty string", where);
      }
      event.content_type.assign(field.get_string().data(), field.get_string().size());
    } else {
      return bad_request("invalid_event", "unknown event field \"" + std::string(key) + "\"", where);
    }
  }
  if (!has_type || event.type.empty() || event.type.size() > kMaxTypeBytes) {
    return bad_request("invalid_event", "\"type\" must be a string of 1 to 255 bytes", where);
  }
  if (!has_data) return bad_request("invalid_event", "missing \"data\"", where);
  const std::size_t size = event.data.size() + event.metadata.size();
  if (size > limits.max_event_bytes) {
    return error_response(413, "too_large",
                          "an event's data and metadata are " + std::to_string(size) + " bytes; the limit is " +
                              std::to_string(limits.max_event_bytes),
                          "{" + where + "}");
  }
  return event;
}

// A JSON array of events, or one event object when `single_allowed`.
ApiResult<ParsedEvents> parse_events(const bj::value& value, bool single_allowed, std::string_view where,
                                     const ApiLimits& limits) {
  ParsedEvents parsed;
  const auto add = [&](const bj::value& item, std::size_t index) -> std::optional<HttpResponse> {
    ApiResult<EventData> event = parse_event(item, join_members(where, "\"event\":" + std::to_string(index)), limits);
    if (!event.ok()) return event.take_error();
    parsed.bytes += event->data.size() + event->metadata.size();
    parsed.events.push_back(std::move(*event));
    return std::nullopt;
  };
  if (const bj::array* array = value.if_array()) {
    parsed.events.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
      if (std::optional<HttpResponse> error = add((*array)[i], i)) return std::move(*error);
    }
    return parsed;
  }
  if (single_allowed && value.is_object()) {
    if (std::optional<HttpResponse> error = add(value, 0)) return std::move(*error);
    return parsed;
  }
  return bad_request("invalid_event",
                     single_allowed ? "the body must be an event object or a JSON array of events"
                                    : "\"events\" must be a JSON array of events",
                     where);
}

void record_append(ServerMetrics* metrics, std::size_t events, std::uint64_t bytes) {
  if (metrics == nullptr) return;
  metrics->appends.fetch_add(1, std::memory_order_relaxed);
  metrics->appended_events.fetch_add(events, std::memory_order_relaxed);
  metrics->appended_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

void record_conflict(ServerMetrics* metrics, const Status& status) {
  if (metrics != nullptr && status.code() == ErrorCode::wrong_expected_revision) {
    metrics->append_conflicts.fetch_add(1, std::memory_order_relaxed);
  }
}

void append_optional(std::string& out, const std::optional<std::uint64_t>& value) {
  out.append(value ? std::to_string(*value) : "null");
}

// "part N: ..." -> N (the store names the failing part of a transaction so).
std::optional<std::size_t> failing_part(const Status& status, std::size_t parts) {
  const std::string& message = status.message();
  // The store names the part only when there are several; a lone part is it.
  if (parts == 1 && !message.starts_with("part ")) return std::size_t{0};
  if (!message.starts_with("part ")) return std::nullopt;
  std::size_t index = 0;
  std::size_t i = 5;
  if (i >= message.size() || message[i] < '0' || message[i] > '9') return std::nullopt;
  for (; i < message.size() && message[i] >= '0' && message[i] <= '9'; ++i) {
    index = index * 10 + static_cast<std::size_t>(message[i] - '0');
    if (index >= parts) return std::nullopt;
  }
  if (i >= message.size() || message[i] != ':') return std::nullopt;
  return index;
}

std::string part_members(std::size_t index, std::string_view stream) {
  std::string members = "\"part\":" + std::to_string(index) + ",\"stream\":";
  append_json_string(members, stream);
  return members;
}

// The answer to an append of `count` events (`bytes` of data and metadata).
// Never throws (it runs in the store's completion): 500 when even building
// the answer fails.
HttpResponse append_response(const Result<AppendResult>& result, ServerMetrics* metrics, const std::string& stream,
                             std::size_t count, std::uint64_t bytes) noexcept {
  try {
    if (!result.ok()) {
      record_conflict(metrics, result.status());
      return store_error_response(result.status());
    }
    const bool wrote = count > 0;
    if (wrote) record_append(metrics, count, bytes);
    std::string out = "{\"stream\":";
    append_json_string(out, stream);
    out.append(",\"firstRevision\":")
        .append(std::to_string(result->first_revision))
        .append(",\"lastRevision\":")
        .append(std::to_string(result->last_revision))
        .append(",\"position\":")
        .append(std::to_string(result->position))
        .append("}");
    // An empty batch only checked the expectation: nothing was created.
    HttpResponse response = json_response(wrote ? 201 : 200, std::move(out));
    if (wrote) response.headers.set("ETag", revision_etag(result->last_revision));
    return response;
  } catch (...) {
    HttpResponse bare;
    bare.status = 500;
    return bare;
  }
}

// The answer to a transaction of `parts` (`count` events, `bytes`).
HttpResponse commit_response(const Result<TransactionResult>& result, ServerMetrics* metrics,
                             const std::vector<std::string>& streams, std::size_t count,
                             std::uint64_t bytes) noexcept {
  try {
    if (!result.ok()) {
      record_conflict(metrics, result.status());
      const std::optional<std::size_t> part = failing_part(result.status(), streams.size());
      return store_error_response(result.status(), part ? part_members(*part, streams[*part]) : "");
    }
    if (count > 0) record_append(metrics, count, bytes);
    std::string out = "{\"parts\":[";
    for (std::size_t i = 0; i < streams.size(); ++i) {
      const TransactionPartResult& part = i < result->parts.size() ? result->parts[i] : TransactionPartResult{};
      if (i > 0) out.push_back(',');
      out.append("{\"stream\":");
      append_json_string(out, streams[i]);
      out.append(",\"firstRevision\":");
      append_optional(out, part.first_revision);
      out.append(",\"lastRevision\":");
      append_optional(out, part.last_revision);
      out.append(",\"position\":").append(std::to_string(part.position)).append("}");
    }
    out.append("],\"position\":").append(std::to_string(result->position)).append("}");
    return json_response(count > 0 ? 201 : 200, std::move(out));
  } catch (...) {
    HttpResponse bare;
    bare.status = 500;
    return bare;
  }
}

}  // namespace

Reply handle_append(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  ApiResult<ExpectedRevision> expected = expected_revision_from_headers(request.http.headers);
  if (!expected.ok()) return reply(expected.take_error());
  ApiResult<bj::value> body = parse_body(request.http);
  if (!body.ok()) return reply(body.take_error());
  ApiResult<ParsedEvents> parsed = parse_events(*body, /*single_allowed=*/true, {}, request.context.limits);
  if (!parsed.ok()) return reply(parsed.take_error());

  // Answered from the write's completion: no thread waits for the commit.
  Reply deferred;
  deferred.deferred = [store = request.context.store, metrics = request.context.metrics, stream,
                       expected = *expected, events = std::move(parsed->events),
                       bytes = parsed->bytes](ResponseSink sink) mutable {
    const std::size_t count = events.size();
    store->append_async(stream, expected, std::move(events),
                        [sink = std::move(sink), metrics, stream, count, bytes](Result<AppendResult> result) {
                          sink(append_response(result, metrics, stream, count, bytes));
                        });
  };
  return deferred;
}

Reply handle_transaction(ApiRequest& request) {
  ApiResult<bj::value> body = parse_body(request.http);
  if (!body.ok()) return reply(body.take_error());
  const bj::object* object = body->if_object();
  if (object == nullptr) return reply(bad_request("bad_request", "the body must be {\"parts\":[...]}"));
  const bj::array* parts_json = nullptr;
  for (const bj::key_value_pair& member : *object) {
    if (key_of(member) == "parts" && member.value().is_array()) {
      parts_json = &member.value().get_array();
    } else {
      return reply(bad_request("bad_request", "the body must be {\"parts\":[...]}"));
    }
  }
  if (parts_json == nullptr || parts_json->empty()) {
    return reply(bad_request("bad_request", "a transaction needs at least one part"));
  }

  std::vector<TransactionPart> parts;
  parts.reserve(parts_json->size());
  std::size_t event_count = 0;
  std::uint64_t event_bytes = 0;
  for (std::size_t i = 0; i < parts_json->size(); ++i) {
    const std::string where = "\"part\":" + std::to_string(i);
    const bj::object* part_json = (*parts_json)[i].if_object();
    if (part_json == nullptr) return reply(bad_request("bad_request", "a part must be a JSON object", where));
    TransactionPart part;
    bool has_stream = false;
    for (const bj::key_value_pair& member : *part_json) {
      const std::string_view key = key_of(member);
      const bj::value& field = member.value();
      if (key == "stream") {
        if (!field.is_string()) return reply(bad_request("invalid_stream_name", "\"stream\" must be a string", where));
        part.stream.assign(field.get_string().data(), field.get_string().size());
        has_stream = true;
      } else if (key == "expected") {
        std::optional<ExpectedRevision> expected;
        std::uint64_t revision = 0;
        if (field.is_string()) {
          expected = ExpectedRevision::parse(std::string_view(field.get_string().data(), field.get_string().size()));
        } else if (read_uint(field, revision)) {
          expected = ExpectedRevision::exact(revision);
        } else if (field.is_null()) {
          expected = ExpectedRevision::any();
        }
        if (!expected) {
          return reply(bad_request("invalid_expected_revision",
                                   "\"expected\" must be \"any\", \"no-stream\", \"exists\" or a revision", where));
        }
        part.expected = *expected;
      } else if (key == "events") {
        if (field.is_null()) continue;
        ApiResult<ParsedEvents> events = parse_events(field, /*single_allowed=*/false, where, request.context.limits);
        if (!events.ok()) return reply(events.take_error());
        event_count += events->events.size();
        event_bytes += events->bytes;
        part.events = std::move(events->events);
      } else {
        return reply(bad_request("bad_request", "unknown part field \"" + std::string(key) + "\"", where));
      }
    }
    if (!has_stream) return reply(bad_request("invalid_stream_name", "missing \"stream\"", where));
    if (check_stream_name(part.stream)) {
      return reply(error_response(400, "invalid_stream_name", "part " + std::to_string(i) + ": invalid stream name",
                                  "{" + part_members(i, part.stream) + "}"));
    }
    if (check_stream_access(request.principal, part.stream)) {
      return reply(error_response(403, "forbidden",
                                  "part " + std::to_string(i) + ": this API key may not access stream " + part.stream,
                                  "{" + part_members(i, part.stream) + "}"));
    }
    parts.push_back(std::move(part));
  }

  std::vector<std::string> streams;
  streams.reserve(parts.size());
  for (const TransactionPart& part : parts) streams.push_back(part.stream);
  Reply deferred;
  deferred.deferred = [store = request.context.store, metrics = request.context.metrics, parts = std::move(parts),
                       streams = std::move(streams), event_count, event_bytes](ResponseSink sink) mutable {
    store->commit_async(std::move(parts), [sink = std::move(sink), metrics, streams = std::move(streams), event_count,
                                           event_bytes](Result<TransactionResult> result) {
      sink(commit_response(result, metrics, streams, event_count, event_bytes));
    });
  };
  return deferred;
}

Reply handle_delete_stream(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  ApiResult<bool> hard = bool_param(request.target, "hard");
  if (!hard.ok()) return reply(hard.take_error());
  if (*hard) {
    if (auto error = check_role(request.principal, Role::admin)) return reply(std::move(*error));
  }
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  ApiResult<ExpectedRevision> expected = expected_revision_from_headers(request.http.headers);
  if (!expected.ok()) return reply(expected.take_error());
  EventStore& store = *request.context.store;
  const Status status = *hard ? store.tombstone_stream(stream, *expected) : store.delete_stream(stream, *expected);
  if (!status.ok()) return reply(store_error_response(status));
  HttpResponse response;
  response.status = 204;
  return reply(std::move(response));
}

Reply handle_put_metadata(ApiRequest& request, const std::string& stream) {
  if (auto error = check_stream_name(stream)) return reply(std::move(*error));
  if (auto error = check_stream_access(request.principal, stream)) return reply(std::move(*error));
  ApiResult<bj::value> body = parse_body(request.http);
  if (!body.ok()) return reply(body.take_error());
  const bj::object* object = body->if_object();
  if (object == nullptr) return reply(bad_request("bad_request", "stream metadata must be a JSON object"));
  StreamMetadata metadata;
  for (const bj::key_value_pair& member : *object) {
    const std::string_view key = key_of(member);
    const bj::value& field = member.value();
    std::uint64_t number = 0;
    const bool is_null = field.is_null();
    const bool is_number = read_uint(field, number);
    if (key == "maxCount" || key == "maxAge" || key == "truncateBefore") {
      if (!is_null && !is_number) {
        return reply(bad_request("bad_request", "\"" + std::string(key) + "\" must be a non-negative integer or null"));
      }
      if (is_null) continue;
      if (key == "maxCount") {
        metadata.max_count = number;
      } else if (key == "truncateBefore") {
        metadata.truncate_before = number;
      } else {
        if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          return reply(bad_request("bad_request", "\"maxAge\" is too large"));
        }
        metadata.max_age = std::chrono::seconds(static_cast<std::int64_t>(number));
      }
    } else if (key == "custom") {
      if (is_null) continue;
      if (!field.is_object()) return reply(bad_request("bad_request", "\"custom\" must be a JSON object or null"));
      metadata.custom = json_text(field);
    } else if (key == "stream" || key == "lastRevision" || key == "deleted" || key == "tombstoned") {
      // Read-only fields of GET .../metadata: a client may send back what it read.
    } else {
      return reply(bad_request("bad_request", "unknown stream metadata field \"" + std::string(key) + "\""));
    }
  }
  if (Status status = request.context.store->set_stream_metadata(stream, metadata); !status.ok()) {
    return reply(store_error_response(status));
  }
  return reply(stream_metadata_response(*request.context.store, stream));
}

}  // namespace evsrc::server
