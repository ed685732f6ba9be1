// The free helpers of the conformance suite (store_fixture.h), shared by
// every suite that runs the contract: the conformance suite itself and the
// remote suite (the contract over HTTP).
#include "conformance/store_fixture.h"

namespace evsrc_test {

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

}  // namespace evsrc_test
