// The history checker: does a recorded history of concurrent appends and
// reads (history_recorder.h), together with the store's final state read
// after every client stopped, keep the store contract (DESIGN §1)?
//
// Rules, each violation reported as one human-readable line tagged with its
// rule:
//   [final]        the final state itself: event ids unique, every event
//                  appended by some client, stream reads agree with $all;
//   [order]        $all positions strictly increase, each stream's revisions
//                  are 0, 1, 2, ... in position order, and the events of one
//                  write (all parts of a transaction) are adjacent in $all;
//   [revisions]    an acknowledged write's revisions match its expectation
//                  and its event count; a write whose outcome was unknown but
//                  that took effect also kept its expectation;
//   [duplicate]    no two acknowledged writes got the same (stream, revision);
//                  a request sent again with the same event ids (a retry)
//                  is one write: it must not write twice, and no copy may
//                  fail definitely when the events are there;
//   [lost]         every acknowledged event is in the final state, once, at
//                  the acknowledged stream, revision and position;
//   [failed-write] nothing of a write that failed definitely is there;
//   [atomic]       a write of unknown outcome is there whole or not at all;
//   [conflict]     a wrong_expected_revision reports an actual revision that
//                  indeed contradicts the expectation;
//   [real-time]    an operation that began after a write was acknowledged
//                  sees it (reads), or comes after it in $all (writes);
//   [future]       no read sees an event whose write was invoked only after
//                  the read completed, nor a revision the stream never had;
//   [prefix]       a stream read returns contiguous revisions of the final
//                  stream; a forward scan of $all returns exactly the final
//                  $all from its start, without gap or reordering;
//   [monotonic]    of two reads of a stream ordered in real time, the later
//                  does not see an older head;
//   [visibility]   what one read saw stays visible to every operation that
//                  begins after it (positions are commit order, so a seen
//                  position means every lower one is committed too).
//
// Together these ask for one serial order of all operations (the order of
// positions) in which each operation takes effect between its invoke and
// complete times.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "history/history_recorder.h"

namespace evsrc::history {

struct FinalState {
  std::vector<SeenEvent> all;                             // $all forward, whole
  std::map<std::string, std::vector<SeenEvent>> streams;  // forward, whole; absent = empty
};

// Reads $all and each of `streams` to the end. Call when no client runs.
Result<FinalState> read_final_state(EventStore& store, std::span<const std::string> streams);

struct CheckReport {
  std::vector<std::string> violations;
  std::size_t writes = 0;
  std::size_t acknowledged = 0;
  std::size_t conflicts = 0;       // wrong_expected_revision
  std::size_t failed = 0;          // other definite failures
  std::size_t unknown = 0;         // outcome unknown to the client
  std::size_t unknown_applied = 0; // of those, found in the final state
  std::size_t resent = 0;          // writes repeating an earlier request (same ids)
  std::size_t stream_reads_checked = 0;
  std::size_t pages_checked = 0;   // pages of $all scans
  std::size_t failed_reads = 0;    // reads that returned an error (not checked)

  // "writes=.. acks=.. conflicts=.. ... violations=N"
  std::string summary() const;
  // The summary, then up to `limit` violations, one a line.
  std::string describe(std::size_t limit = 30) const;
};

CheckReport check_history(const History& history, const FinalState& final_state);

}  // namespace evsrc::history
