// SqlKinesisConsumerSink: a Kinesis consumer's read model and progress in SQL
// tables, exactly once (see evsrc/kinesis.h).
#include <string>
#include <utility>

#include "evsrc/kinesis.h"

namespace evsrc {
namespace {

constexpr std::string_view kConsumerTables =
    "CREATE TABLE IF NOT EXISTS evsrc_consumer_revisions (consumer TEXT NOT NULL, stream TEXT NOT NULL, "
    "revision BIGINT NOT NULL, PRIMARY KEY (consumer, stream));\n"
    "CREATE TABLE IF NOT EXISTS evsrc_consumer_shards (consumer TEXT NOT NULL, shard TEXT NOT NULL, "
    "sequence_number TEXT NOT NULL, PRIMARY KEY (consumer, shard));\n"
    "CREATE TABLE IF NOT EXISTS evsrc_consumer_projections (consumer TEXT NOT NULL, projection TEXT NOT NULL, "
    "version BIGINT NOT NULL, suffix TEXT NOT NULL, PRIMARY KEY (consumer, projection, suffix));\n";

// Rolls back and returns `status` (the rollback's own error is secondary).
Status rolled_back(SqlSession& session, Status status) {
  (void)session.rollback();
  return status;
}

}  // namespace

SqlKinesisConsumerSink::SqlKinesisConsumerSink(SqlSession& session, std::string consumer, std::vector<Target> targets)
    : session_(session), consumer_(std::move(consumer)), targets_(std::move(targets)) {}

Result<std::unique_ptr<SqlKinesisConsumerSink>> SqlKinesisConsumerSink::open(SqlSession& session, std::string consumer,
                                                                             std::vector<Target> targets) {
  if (consumer.empty() || consumer.size() > 255) {
    return Status::invalid_argument("Kinesis consumer name must have 1..255 bytes");
  }
  for (const Target& target : targets) {
    if (target.projection == nullptr)
      return Status::invalid_argument("Kinesis consumer sink: a target without projection");
  }
  if (Status begun = session.begin(); !begun.ok()) return begun;
  if (Status created = session.exec(kConsumerTables); !created.ok()) return rolled_back(session, created);
  for (const Target& target : targets) {
    const std::string name = target.projection->name();
    auto known = session.query(
        "SELECT version FROM evsrc_consumer_projections WHERE consumer = $1 AND projection = $2 AND suffix = $3",
        {consumer, name, target.table_suffix});
    if (!known.ok()) return rolled_back(session, known.status());
    if (!known->empty()) continue;
    if (Status created = target.projection->create_tables(session, target.table_suffix); !created.ok()) {
      return rolled_back(
          session, Status(created.code(), "creating the tables of projection " + name + ": " + created.message()));
    }
    auto recorded = session.execute(
        "INSERT INTO evsrc_consumer_projections (consumer, projection, version, suffix) VALUES ($1, $2, $3, $4)",
        {consumer, name, static_cast<std::int64_t>(target.projection->version()), target.table_suffix});
    if (!recorded.ok()) return rolled_back(session, recorded.status());
  }
  if (Status committed = session.commit(); !committed.ok()) return rolled_back(session, committed);
  return std::unique_ptr<SqlKinesisConsumerSink>(
      new SqlKinesisConsumerSink(session, std::move(consumer), std::move(targets)));
}

Result<std::optional<StreamRevision>> SqlKinesisConsumerSink::applied_revision(std::string_view stream) {
  auto rows = session_.query("SELECT revision FROM evsrc_consumer_revisions WHERE consumer = $1 AND stream = $2",
                             {consumer_, stream});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<StreamRevision>();
  return std::optional<StreamRevision>(static_cast<StreamRevision>(rows->integer(0, 0)));
}

Status SqlKinesisConsumerSink::apply(std::string_view stream, std::span<const RecordedEvent> events,
                                     StreamRevision last_revision) {
  if (Status begun = session_.begin(); !begun.ok()) return begun;
  // Another consumer of the same name may have got here first: never apply
  // a revision twice.
  auto current = session_.query("SELECT revision FROM evsrc_consumer_revisions WHERE consumer = $1 AND stream = $2",
                                {consumer_, stream});
  if (!current.ok()) return rolled_back(session_, current.status());
  const StreamRevision first = events.empty() ? last_revision : events.front().revision;
  if (!current->empty() && static_cast<StreamRevision>(current->integer(0, 0)) >= first) {
    const auto applied = static_cast<std::uint64_t>(current->integer(0, 0));
    return rolled_back(session_, Status::wrong_expected_revision(
                                     applied, "consumer " + consumer_ + " has applied stream " + std::string(stream) +
                                                  " up to revision " + std::to_string(applied) +
                                                  " already (another consumer of that name?)"));
  }
  for (const RecordedEvent& event : events) {
    for (const Target& target : targets_) {
      if (!target.projection->filter().matches(event)) continue;
      if (Status applied = target.projection->apply(session_, event, target.table_suffix); !applied.ok()) {
        return rolled_back(
            session_, Status(applied.code(), "projection " + target.projection->name() + " at " + event.stream + "@" +
                                                 std::to_string(event.revision) + ": " + applied.message()));
      }
    }
  }
  auto updated = session_.execute(
      "INSERT INTO evsrc_consumer_revisions (consumer, stream, revision) VALUES ($1, $2, $3) "
      "ON CONFLICT (consumer, stream) DO UPDATE SET revision = excluded.revision",
      {consumer_, stream, static_cast<std::int64_t>(last_revision)});
  if (!updated.ok()) return rolled_back(session_, updated.status());
  if (Status committed = session_.commit(); !committed.ok()) return rolled_back(session_, committed);
  return Status();
}

Result<std::optional<std::string>> SqlKinesisConsumerSink::shard_checkpoint(std::string_view shard) {
  auto rows = session_.query("SELECT sequence_number FROM evsrc_consumer_shards WHERE consumer = $1 AND shard = $2",
                             {consumer_, shard});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(rows->text(0, 0));
}

Status SqlKinesisConsumerSink::save_shard_checkpoint(std::string_view shard, std::string_view sequence_number) {
  auto saved = session_.execute(
      "INSERT INTO evsrc_consumer_shards (consumer, shard, sequence_number) VALUES ($1, $2, $3) "
      "ON CONFLICT (consumer, shard) DO UPDATE SET sequence_number = excluded.sequence_number",
      {consumer_, shard, sequence_number});
  return saved.ok() ? Status() : saved.status();
}

}  // namespace evsrc
