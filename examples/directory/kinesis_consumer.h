// evsrc-directory consume-kinesis: the directory's read models kept in sync
// from a Kinesis data stream that `evsrc forward kinesis` fills with the
// store's events (evsrc/kinesis.h), instead of from the store itself.
//
//   evsrc-directory --store URI --read-models LOCATION consume-kinesis
//       --stream NAME [--endpoint URL] [--region R] [--name CONSUMER]
//       [--limit N] [--poll-ms N] [--once]
//
// The three directory projections (users, group_members, audit_log) at
// version 1 are applied by a SqlKinesisConsumerSink named CONSUMER into the
// database at LOCATION (a SQLite file or a postgres:// URI, as --read-models
// takes it), in tables with the suffix "_kinesis" (users_kinesis, groups_
// kinesis, group_members_kinesis, audit_log_kinesis): apart from the
// registry's own builds ("_v1", "_v2", ...) that the query commands read, so
// one database may hold both. Exactly once: each event's updates and the
// stream's applied revision commit in one transaction, so a consumer killed
// at any point and started again ends with the same tables (see
// SqlKinesisConsumerSink). The store (--store) fills gaps.
//
// Output: one JSON line per GetRecords batch that had records (whatever
// --json says), the consumer's totals so far:
//   {"stream","read","applied","duplicates","gaps","backfilled","shard","records"}
// With --once: reads every shard to its end, prints one line of totals with
// "caughtUp":true and exits; otherwise follows the stream until SIGINT or
// SIGTERM (exit 0).
#pragma once

#include <string>

#include "directory/cli_output.h"
#include "directory/session.h"
#include "evsrc/status.h"

namespace evsrc::directory {

inline constexpr char kKinesisTableSuffix[] = "_kinesis";

struct KinesisConsumerArguments {
  std::string stream;
  std::string region = "us-east-1";
  std::string endpoint;  // empty: AWS's endpoint of `region`
  std::string name = "directory";
  int limit = 1000;  // records per GetRecords
  int poll_ms = 1000;
  bool once = false;
};

// Runs the consumer over the session's store and read-models location.
// invalid_argument when the read models are a temporary file (memory: or
// dynamodb:// without --read-models).
Status run_consume_kinesis(Session& session, Printer& printer, const KinesisConsumerArguments& args);

}  // namespace evsrc::directory
