// SqliteReadModels: SqliteProjections run by the database-agnostic
// ReadModelBuilds (toolkit/read_model_builds.h) over SQLite sessions: one
// connection per active build plus one for the registry (see
// sqlite_read_model.h).
#include <utility>

#include "evsrc/sqlite_read_model.h"
#include "toolkit/read_model_builds.h"

namespace evsrc {
namespace {

using Target = ProjectionTarget<SqliteProjection, SqliteSqlSession, &SqliteSqlSession::database>;

Result<SqliteDatabase> open_database(const SqliteReadModelsOptions& options, bool read_only) {
  SqliteOpenOptions open_options;
  open_options.read_only = read_only;
  open_options.busy_timeout = options.busy_timeout;
  open_options.synchronous_full = options.synchronous_full;
  return SqliteDatabase::open(options.database_path, open_options);
}

}  // namespace

SqliteReadModels::SqliteReadModels(std::unique_ptr<ReadModelBuilds> engine, SqliteReadModelsOptions options)
    : SqlReadModels(std::move(engine)), options_(std::move(options)) {}

SqliteReadModels::~SqliteReadModels() = default;

Result<std::unique_ptr<SqliteReadModels>> SqliteReadModels::open(EventStore& store, SqliteReadModelsOptions options) {
  if (options.database_path.empty()) return Status::invalid_argument("read models: database_path is empty");
  ReadModelBuildsOptions engine_options;
  engine_options.batch_size = options.batch_size;
  engine_options.poll_interval = options.poll_interval;
  engine_options.drop_retired_tables = options.drop_retired_tables;
  engine_options.connect = [options]() -> Result<std::unique_ptr<SqlSession>> {
    Result<SqliteDatabase> db = open_database(options, /*read_only=*/false);
    if (!db.ok()) return db.status();
    return std::unique_ptr<SqlSession>(std::make_unique<SqliteSqlSession>(std::move(*db)));
  };
  Result<std::unique_ptr<ReadModelBuilds>> engine = ReadModelBuilds::open(store, std::move(engine_options));
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<SqliteReadModels>(new SqliteReadModels(std::move(*engine), std::move(options)));
}

Status SqliteReadModels::add(std::unique_ptr<SqliteProjection> projection) {
  return engine().add(Target::of(std::move(projection)));
}

Status SqliteReadModels::rebuild(std::string_view name, std::unique_ptr<SqliteProjection> projection) {
  return engine().rebuild(name, Target::of(std::move(projection)));
}

Result<SqliteDatabase> SqliteReadModels::connect(bool read_only) const { return open_database(options_, read_only); }

}  // namespace evsrc
