#include "evsrcd/builtin_projections.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace evsrc::evsrcd {
namespace {

// Events per (stream category, event type), and the last position counted.
class CategoriesProjection final : public SqliteProjection {
 public:
  std::string name() const override { return "categories"; }
  std::uint32_t version() const override { return 1; }
  Status create_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("CREATE TABLE categories" + std::string(suffix) +
                   " (category TEXT NOT NULL, event_type TEXT NOT NULL, events INTEGER NOT NULL,"
                   " last_position INTEGER NOT NULL, PRIMARY KEY (category, event_type))");
  }
  Status apply(SqliteDatabase& db, const RecordedEvent& event, std::string_view suffix) override {
    return db.execute("INSERT INTO categories" + std::string(suffix) +
                          " (category, event_type, events, last_position) VALUES (?1, ?2, 1, ?3)"
                          " ON CONFLICT (category, event_type) DO UPDATE SET events = events + 1,"
                          " last_position = excluded.last_position",
                      {stream_category(event.stream), event.type, static_cast<std::int64_t>(event.position)});
  }
  Status drop_tables(SqliteDatabase& db, std::string_view suffix) override {
    return db.exec("DROP TABLE IF EXISTS categories" + std::string(suffix));
  }
};

}  // namespace

Result<std::unique_ptr<BuiltinProjections>> BuiltinProjections::start(EventStore& store,
                                                                     const std::string& data_directory) {
  std::unique_ptr<BuiltinProjections> projections(new BuiltinProjections());
  SqliteReadModelsOptions options;
  if (!data_directory.empty()) {
    options.database_path = (std::filesystem::path(data_directory) / "server-read-models.sqlite").string();
  } else {
    std::string pattern = (std::filesystem::temp_directory_path() / "evsrcd-read-models-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) return Status(ErrorCode::io_error, "cannot create a temporary read-model database");
    ::close(fd);
    projections->temporary_path_ = pattern;
    options.database_path = pattern;
  }
  auto read_models = SqliteReadModels::open(store, options);
  if (!read_models.ok()) return read_models.status();
  projections->read_models_ = std::move(read_models).value();
  if (Status status = projections->read_models_->add(std::make_unique<CategoriesProjection>()); !status.ok()) {
    return status;
  }
  projections->read_models_->start();
  return projections;
}

BuiltinProjections::~BuiltinProjections() {
  if (read_models_) read_models_->stop();
  read_models_.reset();
  if (!temporary_path_.empty()) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(temporary_path_ + suffix, ignored);
  }
}

Server::ProjectionStatusSource BuiltinProjections::status_source() const {
  SqliteReadModels* read_models = read_models_.get();
  return [read_models] { return read_models->status(); };
}

}  // namespace evsrc::evsrcd
