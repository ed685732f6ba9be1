// The workload of the no-skip tests (tests/postgres/no_skip_test.cc,
// tests/aws/dynamodb_no_skip_test.cc), backend-independent: writers, each
// with a store object of its own (as processes would have), append to shared
// streams with exact expectations (retrying conflicts), to shared streams
// with `any`, to streams of their own, and commit 3-part transactions, while
// three followers of $all run at once: a subscription on a reader store, one
// on writer 0's store, and a read_all poller (pages of 7) resuming from each
// page's `next`. Each follower, and a fresh store object afterwards, must see
// every acknowledged event exactly once, in a consistent order
// (check_followed_history).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc_test {

struct NoSkipWorkloadOptions {
  int writers = 16;  // store objects, one thread each
  int calls_per_writer = 20;
  int shared_streams = 4;  // written with exact expectations
  int any_streams = 3;     // written with `any`, and by transactions
  // An append to a shared stream gives up (an unexpected failure) after this
  // many conflicts in a row.
  int max_conflicts_per_call = 50;
  // Bounds the wait of a follower for events it is still owed: reaching it
  // fails the test (a follower that skipped an event never catches up to the
  // count it owes, but does reach the last position).
  std::chrono::milliseconds follow_deadline = std::chrono::minutes(3);
  // Failures a backend reports as having written nothing (e.g. DynamoDB
  // giving up a write after 30 s of contention): counted in refused_calls
  // instead of failing the run; the oracle checks that none of their events
  // is ever seen. Default: none.
  std::function<bool(const evsrc::Status&)> refused_without_writing;
};

// Opens a new store object on the store under test: for writer `writer`
// (0 .. writers - 1), or a reader when nullopt. Returns nullptr after failing
// the test (ADD_FAILURE / EXPECT) when it cannot.
using NoSkipStoreOpener = std::function<std::unique_ptr<evsrc::EventStore>(std::optional<int> writer)>;

// What a run did, for the test's RecordProperty and its report.
struct NoSkipFigures {
  int acknowledged_events = 0;
  int acknowledged_calls = 0;
  int conflicts_retried = 0;
  int unexpected_failures = 0;
  int refused_calls = 0;  // see NoSkipWorkloadOptions::refused_without_writing
  std::vector<std::size_t> seen_while_writing;  // per follower: followed live
  std::chrono::milliseconds writing_time{0};    // from the writers' start to the last one's end
};

// Runs the workload on stores that `open` gives (which must start empty and
// into which nothing else writes) and checks it with gtest assertions:
// no unexpected failure of a writer, no follower error, every follower's and
// a fresh store's $all against what the writers were told, and each stream's
// read_stream against $all. Closes every store it opened.
NoSkipFigures run_no_skip_workload(const NoSkipStoreOpener& open, const NoSkipWorkloadOptions& options = {});

}  // namespace evsrc_test
