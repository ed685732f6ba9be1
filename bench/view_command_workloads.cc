// bench-toolkit workloads "view" and "commands".
#include <atomic>
#include <thread>

#include "bench/bench_stats.h"
#include "bench/toolkit_workloads.h"
#include "evsrc/command.h"
#include "evsrc/event_store.h"
#include "evsrc/view.h"

namespace evsrc::bench {
namespace {

struct Tally {
  std::int64_t total = 0;
  std::uint64_t events = 0;
};

// A fold with a realistic per-event cost: parse nothing, read the payload size.
View<Tally> tally_view() {
  View<Tally> view;
  view.name = "tally";
  view.version = 1;
  view.apply = [](Tally& tally, const EventView& event) {
    tally.total += static_cast<std::int64_t>(event.data.size());
    ++tally.events;
    return Status();
  };
  view.encode_state = [](const Tally& tally) { return std::to_string(tally.total) + " " + std::to_string(tally.events); };
  view.decode_state = [](std::string_view encoded) -> Result<Tally> {
    Tally tally;
    const std::size_t space = encoded.find(' ');
    if (space == std::string_view::npos) return Status::corruption("bad tally snapshot");
    tally.total = std::stoll(std::string(encoded.substr(0, space)));
    tally.events = std::stoull(std::string(encoded.substr(space + 1)));
    return tally;
  };
  return view;
}

EventData payload_event() {
  EventData event;
  event.type = "Counted";
  event.data = R"({"amount":1,"note":"a payload of about one hundred bytes, like a small domain event......."})";
  return event;
}

Status fill_stream(EventStore& store, const std::string& stream, std::uint64_t count) {
  std::vector<EventData> batch(1000, payload_event());
  for (std::uint64_t written = 0; written < count;) {
    const std::uint64_t now = std::min<std::uint64_t>(batch.size(), count - written);
    Result<AppendResult> appended =
        store.append(stream, ExpectedRevision::any(), std::span<const EventData>(batch.data(), now));
    if (!appended.ok()) return appended.status();
    written += now;
  }
  return Status();
}

// Median microseconds of `repeat` calls of `load`.
Result<double> time_loads(int repeat, const std::function<Status()>& load) {
  std::vector<double> samples;
  for (int i = 0; i < repeat; ++i) {
    const auto start = Clock::now();
    if (Status status = load(); !status.ok()) return status;
    samples.push_back(micros_since(start));
  }
  return median(samples);
}

}  // namespace

Result<std::vector<Figure>> run_view_workload(const std::string& scratch, const ToolkitSettings& settings,
                                              const Progress& progress) {
  auto opened = open_store("file:" + scratch + "/store");
  if (!opened.ok()) return opened.status();
  EventStore& store = **opened;
  const std::vector<std::uint64_t> lengths{1'000, 100'000, settings.largest_stream};
  ViewLoader<Tally> loader(store, tally_view(), SnapshotPolicy{settings.snapshot_every, 0});
  ViewLoader<Tally> without_snapshots(store, [] {
    View<Tally> view = tally_view();
    view.encode_state = nullptr;
    view.decode_state = nullptr;
    return view;
  }());
  std::vector<Figure> figures;
  double baseline_us = 0;
  for (std::uint64_t length : lengths) {
    const std::string stream = "tally-" + std::to_string(length);
    progress("writing a stream of " + std::to_string(length) + " events");
    if (Status status = fill_stream(store, stream, length); !status.ok()) return status;
    // The first load folds everything once and writes the snapshots.
    Result<VersionedState<Tally>> first = loader.state(stream);
    if (!first.ok()) return first.status();
    if (first->state.events != length) return Status::corruption("view folded the wrong number of events");
    Result<double> load_us = time_loads(21, [&] { return loader.state(stream).status(); });
    if (!load_us.ok()) return load_us.status();
    if (length == lengths.front()) baseline_us = *load_us;
    figures.push_back(Figure{"load state, " + std::to_string(length) + "-event stream, snapshot every " +
                                 std::to_string(settings.snapshot_every),
                             *load_us, "us", *load_us / baseline_us, "1k-event stream"});
    // Time travel to the middle, half a snapshot interval past a snapshot.
    if (length == 0) return Status::invalid_argument("--largest-stream must be at least 1");
    const StreamRevision middle = std::min<StreamRevision>(length / 2 + settings.snapshot_every / 2, length - 1);
    Result<double> travel_us = time_loads(21, [&] { return loader.state_at(stream, middle).status(); });
    if (!travel_us.ok()) return travel_us.status();
    figures.push_back(Figure{"state_at(middle revision), " + std::to_string(length) + "-event stream", *travel_us,
                             "us", *travel_us / baseline_us, "1k-event stream"});
  }
  // For contrast: a full fold of the 100k stream without snapshots.
  Result<double> full_us = time_loads(5, [&] { return without_snapshots.state("tally-100000").status(); });
  if (!full_us.ok()) return full_us.status();
  figures.push_back(Figure{"load state without snapshots, 100000-event stream", *full_us, "us",
                           *full_us / baseline_us, "1k-event stream"});
  if (Status status = store.close(); !status.ok()) return status;
  return figures;
}

Result<std::vector<Figure>> run_command_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                 const Progress& progress) {
  auto opened = open_store("file:" + scratch + "/store");
  if (!opened.ok()) return opened.status();
  EventStore& store = **opened;
  ViewLoader<Tally> loader(store, tally_view(), SnapshotPolicy{settings.snapshot_every, 4});
  constexpr int kThreads = 8;
  std::vector<Figure> figures;
  double uncontended = 0;
  for (int streams : {8, 1}) {
    progress("8 threads executing commands on " + std::to_string(streams) + " stream(s)");
    std::atomic<std::uint64_t> commands{0};
    std::atomic<std::uint64_t> conflicts{0};
    std::atomic<std::uint64_t> gave_up{0};
    std::atomic<bool> failed{false};
    Status failure;
    std::mutex failure_mutex;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        const std::string stream = "account-" + std::to_string(streams) + "-" + std::to_string(t % streams);
        const Decide<Tally> decide = [](const VersionedState<Tally>&) -> Result<Decision> {
          return Decision{{payload_event()}, {}};
        };
        while (!failed.load() && std::chrono::duration<double>(Clock::now() - start).count() < settings.seconds) {
          Result<CommandResult> result = execute(loader, stream, decide);
          if (result.ok()) {
            ++commands;
            conflicts += result->conflicts;
          } else if (result.status().code() == ErrorCode::wrong_expected_revision) {
            ++gave_up;
            conflicts += RetryPolicy{}.max_attempts;
          } else {
            std::lock_guard lock(failure_mutex);
            failure = result.status();
            failed = true;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    if (failed) return failure;
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double per_second = static_cast<double>(commands.load()) / seconds;
    if (streams == 8) uncontended = per_second;
    const std::string where = std::to_string(streams) + (streams == 1 ? " stream" : " streams");
    figures.push_back(Figure{"commands/s, 8 threads on " + where, per_second, "cmd/s", per_second / uncontended,
                             "8 threads on 8 streams"});
    figures.push_back(Figure{"conflicts (retries) per command, " + where,
                             commands ? static_cast<double>(conflicts.load()) / static_cast<double>(commands.load()) : 0,
                             "retries", std::nullopt, ""});
    figures.push_back(Figure{"commands that gave up after retries, " + where, static_cast<double>(gave_up.load()),
                             "commands", std::nullopt, ""});
  }
  if (Status status = store.close(); !status.ok()) return status;
  return figures;
}

}  // namespace evsrc::bench
