// The read workloads of `evsrc bench-server` through evsrc's own remote
// client (open_remote_store), each beside the embedded engine doing the same
// read of the same store in the same run (server_workloads.h).
#include <chrono>
#include <string>
#include <vector>

#include "bench/server_workloads.h"
#include "evsrc/event_store.h"
#include "evsrc/remote_store.h"

namespace evsrc::bench {
namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// What a fold that uses every field of an event does with it, so that no
// decoding is skipped.
std::uint64_t touch(const EventView& event) {
  return event.stream.size() + event.revision + event.position + event.type.size() + event.data.size() +
         event.metadata.size() + event.content_type.size() + static_cast<std::uint64_t>(event.id.bytes[0]) +
         static_cast<std::uint64_t>(event.recorded_at.time_since_epoch().count() & 0xff);
}

// Reads all of $all forwards through one cursor; returns the events read.
Result<std::uint64_t> read_all_through(EventStore& store, std::uint64_t& folded) {
  AllReadOptions options;
  options.limit = kNoLimit;
  auto cursor = store.open_all_cursor(options);
  if (!cursor.ok()) return cursor.status();
  std::uint64_t events = 0;
  while (true) {
    Result<const EventView*> event = (*cursor)->next();
    if (!event.ok()) return event.status();
    if (*event == nullptr) break;
    folded += touch(**event);
    ++events;
  }
  return events;
}

// Loads a whole stream with read_stream pages and folds it.
Result<std::uint64_t> load_stream(EventStore& store, const std::string& stream, std::uint64_t& folded) {
  StreamReadOptions options;
  options.limit = 1000;
  std::uint64_t events = 0;
  while (true) {
    Result<StreamPage> page = store.read_stream(stream, options);
    if (!page.ok()) return page.status();
    for (const RecordedEvent& event : page->events) folded += touch(EventView::of(event));
    events += page->events.size();
    if (!page->next) break;
    options.from = page->next;
  }
  return events;
}

// Repeats `load` for the budget's seconds (at least 3 times) and records
// each call's time.
template <class Load>
Result<WorkloadResult> repeat_loads(const Budget& budget, Load load) {
  WorkloadResult result;
  std::vector<double> latencies_us;
  const auto start = Clock::now();
  while (latencies_us.size() < 3 || budget.time_left(start)) {
    const auto began = Clock::now();
    Result<std::uint64_t> events = load();
    if (!events.ok()) return events.status();
    latencies_us.push_back(seconds_since(began) * 1e6);
    result.events += *events;
    ++result.calls;
    if (bench_interrupted.load()) break;
  }
  result.seconds = seconds_since(start);
  finish_result(result, 0, latencies_us);
  return result;
}

}  // namespace

Result<std::vector<WorkloadResult>> run_remote_reads(const ServerWorkloadSettings& settings, EventStore& embedded) {
  RemoteStoreOptions remote_options;
  remote_options.api_key = settings.api_key;
  auto remote = open_remote_store(settings.url, remote_options);
  if (!remote.ok()) return remote.status();
  std::uint64_t folded = 0;
  std::vector<WorkloadResult> results;

  // $all from the start to the end, through one cursor each.
  auto catchup = repeat_loads(settings.budget, [&] { return read_all_through(**remote, folded); });
  if (!catchup.ok()) return catchup.status();
  auto catchup_embedded = repeat_loads(settings.budget, [&] { return read_all_through(embedded, folded); });
  if (!catchup_embedded.ok()) return catchup_embedded.status();
  catchup->workload = "remote-catchup";
  catchup->description = "$all from 0 to the end, one cursor of the remote client";
  catchup->ceiling_events_per_s = catchup_embedded->events_per_s;
  catchup->ceiling_p50_us = catchup_embedded->p50_us;
  if (catchup_embedded->events_per_s > 0) catchup->ratio = catchup->events_per_s / catchup_embedded->events_per_s;
  results.push_back(std::move(catchup).value());

  // A stream of 1000 events, loaded (read_stream, pages of 1000) and folded.
  const std::string stream = "bench-load-" + settings.stream_tag;
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<EventData> events(100);
    for (std::size_t i = 0; i < events.size(); ++i) {
      events[i].id = Uuid::random();
      events[i].type = "ItemAdded";
      events[i].data = "{\"n\":" + std::to_string(batch * 100 + static_cast<int>(i)) + ",\"sku\":\"SKU-" +
                       std::to_string(i) + "\",\"note\":\"" + std::string(settings.payload_bytes / 2, 'x') + "\"}";
    }
    if (auto appended = embedded.append(stream, ExpectedRevision::any(), events); !appended.ok()) {
      return appended.status();
    }
  }
  auto load = repeat_loads(settings.budget, [&] { return load_stream(**remote, stream, folded); });
  if (!load.ok()) return load.status();
  auto load_embedded = repeat_loads(settings.budget, [&] { return load_stream(embedded, stream, folded); });
  if (!load_embedded.ok()) return load_embedded.status();
  load->workload = "remote-load-1000";
  load->description = "load + fold a 1000-event stream through the remote client";
  load->ceiling_events_per_s = load_embedded->events_per_s;
  if (load_embedded->events_per_s > 0) load->ratio = load->events_per_s / load_embedded->events_per_s;
  load->ceiling_p50_us = load_embedded->p50_us;
  results.push_back(std::move(load).value());
  if (folded == 42) results.front().description += ".";  // keeps the fold
  (void)(*remote)->close();
  return results;
}

}  // namespace evsrc::bench
