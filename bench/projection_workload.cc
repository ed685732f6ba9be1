// bench-toolkit workload "projection": $all into a SQLite read model with
// batched transactions, against a plain $all read of the same events.
#include <cstdio>
#include <filesystem>

#include "bench/bench_stats.h"
#include "bench/toolkit_workloads.h"
#include "evsrc/event_store.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc::bench {
namespace {

// A typical read model: one row per stream, upserted by every event.
class StreamSummaryProjection final : public SqliteProjection {
 public:
  std::string name() const override { return "stream_summary"; }
  std::uint32_t version() const override { return 1; }
  Status create_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("CREATE TABLE stream_summary" + std::string(suffix) +
                   " (stream TEXT PRIMARY KEY, events INTEGER NOT NULL, last_revision INTEGER NOT NULL,"
                   " last_type TEXT NOT NULL, bytes INTEGER NOT NULL)");
  }
  Status apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view suffix) override {
    if (upsert_.empty()) {
      upsert_ = "INSERT INTO stream_summary" + std::string(suffix) +
                " (stream, events, last_revision, last_type, bytes) VALUES (?1, 1, ?2, ?3, ?4)"
                " ON CONFLICT(stream) DO UPDATE SET events = events + 1, last_revision = ?2, last_type = ?3,"
                " bytes = bytes + ?4";
    }
    return db.execute(upsert_, {event.stream, event.revision, event.type, event.data.size()});
  }
  Status drop_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS stream_summary" + std::string(suffix));
  }

 private:
  std::string upsert_;
};

Status fill_store(EventStore& store, std::uint64_t events, std::uint64_t streams) {
  EventData event;
  event.type = "Counted";
  event.data = R"({"amount":1,"note":"a payload of about one hundred bytes, like a small domain event......."})";
  std::vector<EventData> batch(1000, event);  // one fsync per 1000 events keeps filling fast
  std::uint64_t written = 0;
  for (std::uint64_t round = 0; written < events; ++round) {
    const std::uint64_t now = std::min<std::uint64_t>(batch.size(), events - written);
    const std::string stream = "item-" + std::to_string(round % streams);
    Result<AppendResult> appended =
        store.append(stream, ExpectedRevision::any(), std::span<const EventData>(batch.data(), now));
    if (!appended.ok()) return appended.status();
    written += now;
  }
  return Status();
}

}  // namespace

Result<std::vector<Figure>> run_projection_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                    const Progress& progress) {
  auto opened = open_store("file:" + scratch + "/store");
  if (!opened.ok()) return opened.status();
  EventStore& store = **opened;
  progress("writing " + std::to_string(settings.events) + " events over 10000 streams");
  if (Status status = fill_store(store, settings.events, 10'000); !status.ok()) return status;

  // Baseline: the same $all pages read without doing anything with them.
  const auto read_start = Clock::now();
  std::uint64_t read = 0;
  for (std::optional<Position> from = Position{0}; from;) {
    Result<AllPage> page = store.read_all(AllReadOptions{from, Direction::forward, 1000, {}});
    if (!page.ok()) return page.status();
    read += page->events.size();
    from = page->next;
  }
  const double read_per_s = static_cast<double>(read) / (micros_since(read_start) / 1e6);

  progress("projecting into SQLite");
  SqliteReadModelsOptions options;
  options.database_path = scratch + "/read-models.sqlite";
  options.batch_size = 1000;
  auto models = SqliteReadModels::open(store, options);
  if (!models.ok()) return models.status();
  if (Status status = (*models)->add(std::make_unique<StreamSummaryProjection>()); !status.ok()) return status;
  const auto project_start = Clock::now();
  if (Status status = (*models)->catch_up(); !status.ok()) return status;
  const double project_per_s = static_cast<double>(read) / (micros_since(project_start) / 1e6);
  std::vector<ProjectionStatus> statuses = (*models)->status();
  if (statuses.empty() || statuses.front().events_applied != read) {
    return Status::corruption("projection applied " +
                              std::to_string(statuses.empty() ? 0 : statuses.front().events_applied) + " of " +
                              std::to_string(read) + " events");
  }
  models->reset();
  if (Status status = store.close(); !status.ok()) return status;
  return std::vector<Figure>{
      Figure{"$all read, pages of 1000 (baseline)", read_per_s, "events/s", 1.0, "$all read"},
      Figure{"$all -> SQLite upsert per event, 1000 events per transaction", project_per_s, "events/s",
             project_per_s / read_per_s, "$all read"},
  };
}

}  // namespace evsrc::bench
