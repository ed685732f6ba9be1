// Fuzz target recovery: arbitrary bytes as the log of a file: store, opened
// through recovery (src/engine/file_store_open.cc: the scan of every segment,
// torn-tail detection, the index rebuilt from the log) on new_memory_env().
//
// The input is the concatenation of the segment files: it is cut before every
// occurrence of the segment magic "EVSRCLOG" (bytes before the first one form
// a segment of their own), at most kMaxSegments files, named segment-0, -1, ...
// A segment whose header decodes is zero-filled to its stated capacity (as
// the engine preallocates it) when that is at most 1 MiB; otherwise the file
// is as short as the input makes it. Seeds are logs the engine wrote, so
// mutations reach the records.
//
// When the store opens, everything is read ($all forward and backward, every
// stream forward and backward, stream_info, stats), two appends are made, the
// store is closed and opened again.
//
// Asserts (abort on violation): open fails only with corruption or
// invalid_argument; a store that opened and took its appends reopens, and
// its $all is then exactly what it was before the close. No crash, hang or
// sanitizer report anywhere on the way.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/log_format.h"
#include "engine/segment_set.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"

namespace {

constexpr std::size_t kMaxSegments = 4;
constexpr std::uint64_t kMaxPadding = 1 << 20;
constexpr std::size_t kMaxPages = 64;
const std::string kDirectory = "/store";

void require(bool condition, const std::string& what) {
  if (!condition) {
    std::fprintf(stderr, "recovery fuzzer: invariant violated: %s\n", what.c_str());
    std::abort();
  }
}

std::vector<std::string> split_segments(std::string_view input) {
  std::vector<std::string> segments;
  const std::string_view magic = evsrc::log::kSegmentMagic;
  std::size_t start = 0;
  while (segments.size() + 1 < kMaxSegments) {
    const std::size_t next = input.find(magic, start + 1);
    if (next == std::string_view::npos) break;
    segments.emplace_back(input.substr(start, next - start));
    start = next;
  }
  segments.emplace_back(input.substr(start));
  for (std::string& segment : segments) {
    auto header = evsrc::log::decode_segment_header(segment);
    if (header.ok() && header->capacity > segment.size() && header->capacity <= kMaxPadding) {
      segment.resize(static_cast<std::size_t>(header->capacity), '\0');
    }
  }
  return segments;
}

bool write_log(evsrc::Env& env, const std::vector<std::string>& segments) {
  if (!env.create_dirs(kDirectory + "/log").ok()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    auto file = env.open_file(kDirectory + "/log/" + evsrc::SegmentSet::file_name(i), evsrc::Env::OpenMode::create);
    if (!file.ok() || !(*file)->write_at(0, segments[i]).ok() || !(*file)->close().ok()) return false;
  }
  return true;
}

evsrc::StoreOptions store_options(evsrc::Env* env) {
  evsrc::StoreOptions options;
  options.env = env;
  options.segment_bytes = 64 << 10;
  options.limits.max_event_bytes = 4096;
  options.index_cache_bytes = 1 << 20;
  return options;
}

// Every event of $all, forward; nullopt when a read fails.
std::optional<std::vector<evsrc::RecordedEvent>> read_all_forward(evsrc::EventStore& store) {
  std::vector<evsrc::RecordedEvent> events;
  evsrc::AllReadOptions options;
  options.limit = 1000;
  for (std::size_t page_count = 0; page_count < kMaxPages; ++page_count) {
    auto page = store.read_all(options);
    if (!page.ok()) return std::nullopt;
    for (evsrc::RecordedEvent& event : page->events) {
      require(events.empty() || event.position > events.back().position, "$all positions do not increase");
      events.push_back(std::move(event));
    }
    if (!page->next) break;
    require(!options.from || *page->next > *options.from, "$all paging does not advance");
    options.from = page->next;
  }
  return events;
}

void read_everything(evsrc::EventStore& store) {
  evsrc::AllReadOptions backward;
  backward.direction = evsrc::Direction::backward;
  backward.limit = 100;
  (void)store.read_all(backward);
  evsrc::AllReadOptions filtered;
  filtered.filter.category = "user";
  (void)store.read_all(filtered);
  (void)store.stats();
  auto streams = store.list_streams("", "", 100);
  if (!streams.ok()) return;
  for (const std::string& stream : *streams) {
    (void)store.stream_info(stream);
    evsrc::StreamReadOptions options;
    options.limit = 100;
    for (std::size_t page_count = 0; page_count < kMaxPages; ++page_count) {
      auto page = store.read_stream(stream, options);
      if (!page.ok() || !page->next) break;
      options.from = page->next;
    }
    options = {};
    options.direction = evsrc::Direction::backward;
    (void)store.read_stream(stream, options);
  }
}

bool is_refusal(const evsrc::Status& status) {
  const evsrc::ErrorCode code = status.code();
  return code == evsrc::ErrorCode::wrong_expected_revision || code == evsrc::ErrorCode::stream_deleted ||
         code == evsrc::ErrorCode::invalid_argument || code == evsrc::ErrorCode::idempotency_conflict ||
         code == evsrc::ErrorCode::too_large;
}

// Appends to a new stream and to the first existing one; false when the store
// failed (rather than refused) an append.
bool append_some(evsrc::EventStore& store) {
  std::vector<evsrc::EventData> events(2);
  events[0].type = "FuzzAppended";
  events[0].data = "{\"n\":1}";
  events[1].type = "FuzzAppended";
  events[1].data = "not json";
  events[1].metadata = "{}";
  auto appended = store.append("fuzz-appended", evsrc::ExpectedRevision::any(), events);
  if (!appended.ok() && !is_refusal(appended.status())) return false;
  auto streams = store.list_streams("", "", 1);
  if (streams.ok() && !streams->empty() && (*streams)[0] != "fuzz-appended") {
    auto more = store.append((*streams)[0], evsrc::ExpectedRevision::any(), std::span(events).first(1));
    if (!more.ok() && !is_refusal(more.status())) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::unique_ptr<evsrc::Env> env = evsrc::new_memory_env();
  if (!write_log(*env, split_segments(std::string_view(reinterpret_cast<const char*>(data), size)))) {
    require(false, "cannot write the log to the memory env");
  }
  const std::string uri = "file:" + kDirectory;
  std::optional<std::vector<evsrc::RecordedEvent>> before;
  {
    auto store = evsrc::open_store(uri, store_options(env.get()));
    if (!store.ok()) {
      const evsrc::ErrorCode code = store.status().code();
      require(code == evsrc::ErrorCode::corruption || code == evsrc::ErrorCode::invalid_argument,
              "open failed with " + store.status().to_string());
      return 0;
    }
    (void)read_all_forward(**store);
    read_everything(**store);
    const bool appended = append_some(**store);
    if (appended) before = read_all_forward(**store);
    const evsrc::Status closed = (*store)->close();
    if (appended) require(closed.ok(), "close failed: " + closed.to_string());
  }
  auto reopened = evsrc::open_store(uri, store_options(env.get()));
  if (!before) return 0;
  require(reopened.ok(), "a store that opened and took appends does not reopen: " + reopened.status().to_string());
  const auto after = read_all_forward(**reopened);
  require(after.has_value(), "$all of the reopened store cannot be read");
  require(after->size() == before->size(), "the reopened store's $all has " + std::to_string(after->size()) +
                                               " events, before the close it had " + std::to_string(before->size()));
  for (std::size_t i = 0; i < after->size(); ++i) {
    require((*after)[i] == (*before)[i], "the reopened store's $all differs at event " + std::to_string(i));
  }
  return 0;
}
