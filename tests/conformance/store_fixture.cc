#include "conformance/store_fixture.h"

#include <stdlib.h>

#include <filesystem>

namespace evsrc_test {

void StoreConformance::SetUp() {
  char pattern[] = "/tmp/evsrc-conformance-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  directory_ = pattern;
  Result<std::unique_ptr<EventStore>> opened = open_store(uri());
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}

void StoreConformance::TearDown() {
  if (store_) (void)store_->close();
  store_.reset();
  if (!directory_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(directory_, error);
  }
}

std::string StoreConformance::uri() const {
  if (GetParam().name == "memory") return "memory:";
  return "file:" + directory_ + "/store";
}

void StoreConformance::reopen(const StoreOptions& options) {
  ASSERT_NE(store_, nullptr);
  ASSERT_OK(store_->close());
  store_.reset();
  Result<std::unique_ptr<EventStore>> opened = open_store(uri(), options);
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}

EventFilter make_filter(std::string stream_prefix, std::string category, std::string event_type) {
  EventFilter filter;
  filter.stream_prefix = std::move(stream_prefix);
  filter.category = std::move(category);
  filter.event_type = std::move(event_type);
  return filter;
}

EventData make_event(std::string type, std::string data) {
  EventData event;
  event.id = Uuid::random();
  event.type = std::move(type);
  event.data = std::move(data);
  event.metadata = R"({"source":"conformance"})";
  return event;
}

std::vector<EventData> make_events(std::size_t count, std::string type) {
  std::vector<EventData> events;
  for (std::size_t i = 0; i < count; ++i) events.push_back(make_event(type, R"({"n":)" + std::to_string(i) + "}"));
  return events;
}

std::vector<RecordedEvent> read_whole_stream(EventStore& store, const std::string& stream) {
  std::vector<RecordedEvent> events;
  StreamReadOptions options;
  options.limit = 7;
  while (true) {
    Result<StreamPage> page = store.read_stream(stream, options);
    if (!page.ok()) return events;
    events.insert(events.end(), page->events.begin(), page->events.end());
    if (!page->next) return events;
    options.from = page->next;
  }
}

std::vector<RecordedEvent> read_whole_all(EventStore& store, const EventFilter& filter) {
  std::vector<RecordedEvent> events;
  AllReadOptions options;
  options.limit = 7;
  options.filter = filter;
  while (true) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) return events;
    events.insert(events.end(), page->events.begin(), page->events.end());
    if (!page->next) return events;
    options.from = page->next;
  }
}

std::uint64_t event_count(EventStore& store) {
  Result<StoreStats> stats = store.stats();
  return stats.ok() ? stats->events : 0;
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::Values(Backend{"memory", false}, Backend{"file", true}),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace evsrc_test
