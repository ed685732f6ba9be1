// PostgresReadModels: PostgresProjections run by the database-agnostic
// ReadModelBuilds (toolkit/read_model_builds.h) over PostgreSQL sessions
// (see postgres_read_model.h).
#include <utility>

#include "evsrc/postgres_read_model.h"
#include "toolkit/read_model_builds.h"

namespace evsrc {
namespace {

using Target = ProjectionTarget<PostgresProjection, PostgresSqlSession, &PostgresSqlSession::connection>;

}  // namespace

PostgresReadModels::PostgresReadModels(std::unique_ptr<ReadModelBuilds> engine, std::string libpq_uri,
                                       PostgresConnectOptions connect)
    : SqlReadModels(std::move(engine)),
      libpq_uri_(std::move(libpq_uri)),
      connect_options_(std::move(connect)),
      schema_(connect_options_.schema) {}

PostgresReadModels::~PostgresReadModels() = default;

Result<std::unique_ptr<PostgresReadModels>> PostgresReadModels::open(EventStore& store,
                                                                     PostgresReadModelsOptions options) {
  Result<PostgresUri> uri = parse_postgres_uri(options.uri);
  if (!uri.ok()) return uri.status();
  PostgresConnectOptions connect;
  connect.schema = uri->schema;
  connect.statement_timeout = uri->statement_timeout;
  ReadModelBuildsOptions engine_options;
  engine_options.batch_size = options.batch_size;
  engine_options.poll_interval = options.poll_interval;
  engine_options.drop_retired_tables = options.drop_retired_tables;
  engine_options.retry_after = options.retry_after;
  engine_options.connect = [libpq_uri = uri->libpq_uri, connect]() -> Result<std::unique_ptr<SqlSession>> {
    Result<std::unique_ptr<PostgresSqlSession>> session = PostgresSqlSession::connect(libpq_uri, connect);
    if (!session.ok()) return session.status();
    return std::unique_ptr<SqlSession>(std::move(*session));
  };
  Result<std::unique_ptr<ReadModelBuilds>> engine = ReadModelBuilds::open(store, std::move(engine_options));
  if (!engine.ok()) return engine.status();
  return std::unique_ptr<PostgresReadModels>(
      new PostgresReadModels(std::move(*engine), std::move(uri->libpq_uri), std::move(connect)));
}

Status PostgresReadModels::add(std::unique_ptr<PostgresProjection> projection) {
  return engine().add(Target::of(std::move(projection)));
}

Status PostgresReadModels::rebuild(std::string_view name, std::unique_ptr<PostgresProjection> projection) {
  return engine().rebuild(name, Target::of(std::move(projection)));
}

Result<std::unique_ptr<PostgresSqlSession>> PostgresReadModels::connect() const {
  return PostgresSqlSession::connect(libpq_uri_, connect_options_);
}

}  // namespace evsrc
