// Shared by the fuzz targets of the HTTP API (http_request, api_request): a
// fresh API per input over its own store, callers with fixed keys of every
// role, and the checks every reply must pass.
//
// The keys (put them in seeds as "Authorization: Bearer <key>"):
//   kAdminKey, kWriterKey, kReaderKey: every stream; kPrefixedKey: a writer
//   limited to streams starting with "user-".
// They live in a key file written once per process to a temporary directory
// (removed at exit) and loaded by one ApiKeyFile shared by every input.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "evsrc/env.h"
#include "evsrc/event_store.h"
#include "server/api.h"
#include "server/api_json.h"
#include "server/api_keys.h"
#include "server/server_metrics.h"

namespace evsrc::fuzz {

inline constexpr std::string_view kAdminKey = "evk_0000000000a1_adminadminadminadminadminadminadminadminadm";
inline constexpr std::string_view kWriterKey = "evk_0000000000b2_writerwriterwriterwriterwriterwriterwriterw";
inline constexpr std::string_view kReaderKey = "evk_0000000000c3_readerreaderreaderreaderreaderreaderreaderr";
inline constexpr std::string_view kPrefixedKey = "evk_0000000000d4_prefixedprefixedprefixedprefixedprefixedpre";

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "API fuzzer: invariant violated: %s\n", what.c_str());
  std::abort();
}

inline void require(bool condition, const std::string& what) {
  if (!condition) fail(what);
}

// The key file of the four keys, for the whole process.
class FuzzKeys {
 public:
  static server::ApiKeyFile& get() {
    static FuzzKeys keys;
    return *keys.file_;
  }

 private:
  FuzzKeys() {
    std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-fuzz-keys-XXXXXX").string();
    require(::mkdtemp(pattern.data()) != nullptr, "cannot create a temporary directory");
    directory_ = pattern;
    std::string json = "{\"version\":1,\"keys\":[";
    const auto entry = [&](std::string_view key, std::string_view role, std::string_view prefixes) {
      if (json.back() == '}') json += ",";
      const std::string_view id = key.substr(4, 12);
      const std::string_view secret = key.substr(17);
      json += "{\"id\":\"" + std::string(id) + "\",\"name\":\"fuzz " + std::string(role) + "\",\"role\":\"" +
              std::string(role) + "\",\"prefixes\":" + std::string(prefixes) + ",\"secretSha256\":\"" +
              server::sha256_hex(secret) + "\",\"createdAt\":\"2026-11-30T00:00:00Z\"}";
    };
    entry(kAdminKey, "admin", "[]");
    entry(kWriterKey, "writer", "[]");
    entry(kReaderKey, "reader", "[]");
    entry(kPrefixedKey, "writer", "[\"user-\"]");
    json += "]}";
    const std::string path = directory_ + "/api-keys.json";
    std::ofstream(path, std::ios::binary) << json;
    // Never re-read: the file does not change.
    file_ = std::make_unique<server::ApiKeyFile>(path, std::chrono::hours(24 * 365));
    const Status loaded = file_->load();
    require(loaded.ok() && file_->list().size() == 4, "the fuzz key file does not load: " + loaded.to_string());
  }
  ~FuzzKeys() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  std::string directory_;
  std::unique_ptr<server::ApiKeyFile> file_;
};

// The API over a fresh store: memory:, or file: on an in-memory Env.
class FuzzApi {
 public:
  explicit FuzzApi(bool file_store = false) {
    StoreOptions options;
    std::string uri = "memory:";
    if (file_store) {
      env_ = new_memory_env();
      options.env = env_.get();
      options.segment_bytes = 64 << 10;
      options.index_cache_bytes = 1 << 20;
      uri = "file:/store";
    }
    auto store = open_store(uri, options);
    require(store.ok(), "cannot open " + uri + ": " + store.status().to_string());
    store_ = std::move(*store);
    server::ApiContext context;
    context.store = store_.get();
    context.keys = &FuzzKeys::get();
    context.metrics = &metrics_;
    context.projections = [] {
      ProjectionStatus status;
      status.name = "users";
      status.state = ProjectionState::running;
      status.position = 3;
      return std::vector<ProjectionStatus>{status};
    };
    context.limits.max_event_bytes = 64 << 10;
    api_ = std::make_unique<server::Api>(std::move(context));
  }
  ~FuzzApi() { (void)store_->close(); }

  server::Api& api() { return *api_; }

 private:
  std::unique_ptr<Env> env_;
  std::unique_ptr<EventStore> store_;
  server::ServerMetrics metrics_;
  std::unique_ptr<server::Api> api_;
};

inline bool is_json_content(const server::HttpResponse& response) {
  const auto type = response.headers.get("Content-Type");
  return type && type->starts_with("application/json");
}

// Every `data:` line of SSE frames is one JSON document.
inline void check_sse_frames(std::string_view frames) {
  while (!frames.empty()) {
    const std::size_t end = frames.find('\n');
    const std::string_view line = frames.substr(0, end);
    if (line.starts_with("data: ")) {
      require(server::parse_json(line.substr(6)).has_value(), "an SSE data line is not JSON: " + std::string(line));
    }
    if (end == std::string_view::npos) break;
    frames.remove_prefix(end + 1);
  }
}

// Checks one reply of Api::handle and drives its event stream a little.
inline void check_reply(server::Reply& reply, std::string_view method, std::string_view target) {
  const server::HttpResponse& response = reply.response;
  const std::string request = std::string(method) + " " + std::string(target);
  // EVSRC_FUZZ_TRACE=1: print every request's status (to see what seeds reach).
  static const bool trace = std::getenv("EVSRC_FUZZ_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "%s -> %u %.200s\n", request.c_str(), response.status, response.body.c_str());
  require(response.status >= 200 && response.status <= 599,
          request + ": status " + std::to_string(response.status) + " out of range");
  // Nothing fails inside a healthy in-memory store: a 5xx is a bug.
  require(response.status < 500, request + ": " + std::to_string(response.status) + " " + response.body);
  if (response.status >= 400) {
    std::string error;
    auto body = server::parse_json(response.body, &error);
    require(body && body->is_object(), request + ": error body is not a JSON object: " + response.body);
    const auto* code = body->as_object().if_contains("error");
    const auto* message = body->as_object().if_contains("message");
    require(code && code->is_string() && message && message->is_string(),
            request + ": error body lacks error/message strings: " + response.body);
  } else if (is_json_content(response) && !response.body.empty()) {
    require(server::parse_json(response.body).has_value(), request + ": JSON body does not parse: " + response.body);
  }
  if (reply.sse) {
    require(response.status == 200, request + ": an event stream with status " + std::to_string(response.status));
    for (int call = 0; call < 3; ++call) {
      std::string frames;
      Result<std::size_t> sent = reply.sse->read_next(frames, 16);
      if (!sent.ok()) break;
      check_sse_frames(frames);
      if (*sent == 0) break;
    }
  }
}

}  // namespace evsrc::fuzz
