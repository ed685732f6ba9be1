// The history checker on small fabricated histories: a consistent one passes,
// and each rule catches a history that breaks it (a checker that cannot fail
// proves nothing).
#include "history/history_checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace evsrc::history {
namespace {

// A history written by hand, with the final state it left.
class Fabricated {
 public:
  // A write of `count` events to `stream`, recorded with `outcome`. When
  // `stored`, its events are placed at the end of the final state and an ok
  // write is acknowledged with where they went.
  std::size_t write(const std::string& stream, ExpectedRevision expected, std::size_t count, Time invoke,
                    Time complete, Outcome outcome = Outcome::ok, bool stored = true) {
    WriteOp op;
    op.client = history.writes.size();
    op.invoke = invoke;
    op.complete = complete;
    op.completed = true;
    op.outcome = outcome;
    if (outcome != Outcome::ok) op.error = std::string(outcome_name(outcome)) + ": fabricated";
    WritePart part;
    part.stream = stream;
    part.expected = expected;
    for (std::size_t i = 0; i < count; ++i) part.ids.push_back(next_id());
    if (stored) {
      for (const Uuid& id : part.ids) place(stream, id);
      if (outcome == Outcome::ok && count > 0) {
        part.first_revision = final_state.all[final_state.all.size() - count].revision;
        part.last_revision = final_state.all.back().revision;
        part.position = final_state.all.back().position;
      }
    }
    op.parts.push_back(std::move(part));
    history.writes.push_back(std::move(op));
    return history.writes.size() - 1;
  }

  // An event of no recorded write's choosing placed in the final state.
  void place(const std::string& stream, const Uuid& id) {
    final_state.all.push_back(SeenEvent{id, stream, heads_[stream]++, next_position_});
    next_position_ += 10;
  }

  // A backward read of the stream's head (limit 1) that saw `head`
  // (nullopt: absent), taking the event from the final state.
  void read_head(const std::string& stream, std::optional<StreamRevision> head, Time invoke, Time complete) {
    StreamReadOp read;
    read.stream = stream;
    read.direction = Direction::backward;
    read.limit = 1;
    read.invoke = invoke;
    read.complete = complete;
    read.ok = true;
    read.absent = !head;
    if (head) {
      read.last_revision = *head;
      read.events.push_back(stored(stream, *head));
    }
    history.stream_reads.push_back(std::move(read));
  }

  // A one-page scan of $all from the start that returned `events` and
  // reported the end.
  void scan(std::vector<SeenEvent> events, Time invoke, Time complete) {
    AllPageRead page;
    page.limit = 1000;
    page.invoke = invoke;
    page.complete = complete;
    page.ok = true;
    page.events = std::move(events);
    history.scans.push_back(AllScan{0, {std::move(page)}});
  }

  SeenEvent stored(const std::string& stream, StreamRevision revision) const {
    for (const SeenEvent& event : final_state.all) {
      if (event.stream == stream && event.revision == revision) return event;
    }
    ADD_FAILURE() << "no " << stream << "@" << revision << " in the fabricated final state";
    return {};
  }

  // Checks, with the per-stream final reads derived from $all.
  CheckReport check() {
    final_state.streams.clear();
    for (const SeenEvent& event : final_state.all) final_state.streams[event.stream].push_back(event);
    for (auto& [stream, events] : final_state.streams) {
      std::sort(events.begin(), events.end(),
                [](const SeenEvent& a, const SeenEvent& b) { return a.revision < b.revision; });
    }
    return check_history(history, final_state);
  }

  History history;
  FinalState final_state;

 private:
  Uuid next_id() {
    Uuid id;
    ++ids_;
    id.bytes[14] = static_cast<std::uint8_t>(ids_ >> 8);
    id.bytes[15] = static_cast<std::uint8_t>(ids_);
    return id;
  }

  unsigned ids_ = 0;
  Position next_position_ = 5;
  std::map<std::string, StreamRevision> heads_;
};

// Whether some violation is tagged with `rule`.
::testing::AssertionResult Flags(const CheckReport& report, const std::string& rule) {
  const std::string tag = "[" + rule + "]";
  for (const std::string& line : report.violations) {
    if (line.starts_with(tag)) return ::testing::AssertionSuccess() << line;
  }
  return ::testing::AssertionFailure() << "no " << tag << " violation in: " << report.describe();
}

TEST(HistoryChecker, AcceptsAConsistentHistory) {
  Fabricated history;
  history.read_head("a", std::nullopt, 0, 5);
  history.write("a", ExpectedRevision::no_stream(), 2, 6, 20);
  history.write("b", ExpectedRevision::any(), 1, 10, 30);
  // Raced the first append of `a` and lost.
  const std::size_t lost = history.write("a", ExpectedRevision::no_stream(), 1, 7, 25,
                                         Outcome::wrong_expected_revision, /*stored=*/false);
  history.history.writes[lost].actual_known = true;
  history.history.writes[lost].actual_revision = 1;
  history.read_head("a", 1, 21, 22);
  history.read_head("b", std::nullopt, 11, 15);  // before b's append took effect
  history.write("a", ExpectedRevision::exact(1), 1, 40, 50, Outcome::unknown, /*stored=*/true);
  history.write("b", ExpectedRevision::exact(0), 1, 41, 51, Outcome::unknown, /*stored=*/false);
  history.read_head("a", 2, 45, 60);
  history.scan(history.final_state.all, 70, 80);
  const CheckReport report = history.check();
  EXPECT_TRUE(report.violations.empty()) << report.describe();
  EXPECT_EQ(report.writes, 5u);
  EXPECT_EQ(report.acknowledged, 2u);
  EXPECT_EQ(report.conflicts, 1u);
  EXPECT_EQ(report.unknown, 2u);
  EXPECT_EQ(report.unknown_applied, 1u);
  EXPECT_EQ(report.stream_reads_checked, 4u);
  EXPECT_EQ(report.pages_checked, 1u);
}

TEST(HistoryChecker, FlagsALostAcknowledgedEvent) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  const std::size_t lost = history.write("a", ExpectedRevision::exact(0), 1, 20, 30);
  // Acknowledged, then gone.
  history.final_state.all.pop_back();
  EXPECT_TRUE(Flags(history.check(), "lost"));
  (void)lost;
}

TEST(HistoryChecker, FlagsTwoAcknowledgementsOfOneRevision) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  // A second client also told it got a@0 (its event silently dropped).
  const std::size_t second = history.write("a", ExpectedRevision::no_stream(), 1, 1, 11, Outcome::ok, false);
  history.history.writes[second].parts[0].first_revision = 0;
  history.history.writes[second].parts[0].last_revision = 0;
  const CheckReport report = history.check();
  EXPECT_TRUE(Flags(report, "duplicate"));
  EXPECT_TRUE(Flags(report, "lost"));
}

TEST(HistoryChecker, FlagsAnAcknowledgementThatBreaksItsExpectation) {
  Fabricated history;
  history.write("a", ExpectedRevision::any(), 2, 0, 10);
  // Expected 0 but went in at 2.
  history.write("a", ExpectedRevision::exact(0), 1, 20, 30);
  EXPECT_TRUE(Flags(history.check(), "revisions"));
}

TEST(HistoryChecker, FlagsAStaleReadAfterAnAcknowledgement) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.read_head("a", std::nullopt, 20, 30);
  EXPECT_TRUE(Flags(history.check(), "real-time"));
}

TEST(HistoryChecker, FlagsAReadOfAFutureEvent) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 50, 60);
  history.read_head("a", 0, 20, 40);
  EXPECT_TRUE(Flags(history.check(), "future"));
}

TEST(HistoryChecker, FlagsAReadOfARevisionTheStreamNeverHad) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.read_head("a", 0, 20, 30);
  history.history.stream_reads[0].last_revision = 3;
  history.history.stream_reads[0].events.clear();
  EXPECT_TRUE(Flags(history.check(), "future"));
}

TEST(HistoryChecker, FlagsNonMonotonicReads) {
  Fabricated history;
  // Acknowledged only at 100: neither read is bound by the acknowledgement.
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 100);
  history.read_head("a", 0, 10, 20);
  history.read_head("a", std::nullopt, 30, 40);
  const CheckReport report = history.check();
  EXPECT_TRUE(Flags(report, "monotonic"));
  EXPECT_FALSE(Flags(report, "real-time"));
}

TEST(HistoryChecker, FlagsAllPositionsOutOfOrder) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.write("b", ExpectedRevision::no_stream(), 1, 20, 30);
  std::swap(history.final_state.all[0].position, history.final_state.all[1].position);
  EXPECT_TRUE(Flags(history.check(), "order"));
}

TEST(HistoryChecker, FlagsRevisionsThatDoNotAscendWithPositions) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.write("a", ExpectedRevision::exact(0), 1, 20, 30);
  std::swap(history.final_state.all[0].revision, history.final_state.all[1].revision);
  EXPECT_TRUE(Flags(history.check(), "order"));
}

TEST(HistoryChecker, FlagsAWriteWhoseEventsAreNotAdjacent) {
  Fabricated history;
  const std::size_t batch = history.write("a", ExpectedRevision::no_stream(), 2, 0, 10);
  history.write("b", ExpectedRevision::no_stream(), 1, 0, 10);
  // b's event slipped between the two events of the batch.
  std::vector<SeenEvent>& all = history.final_state.all;
  std::swap(all[1].position, all[2].position);
  std::swap(all[1], all[2]);
  history.history.writes[batch].parts[0].position = all[2].position;
  EXPECT_TRUE(Flags(history.check(), "order"));
}

TEST(HistoryChecker, FlagsAWriteOrderedAgainstRealTime) {
  Fabricated history;
  // `later` was invoked after `earlier` was acknowledged, yet precedes it.
  const std::size_t later = history.write("a", ExpectedRevision::any(), 1, 20, 30);
  const std::size_t earlier = history.write("a", ExpectedRevision::any(), 1, 0, 10);
  (void)later;
  (void)earlier;
  EXPECT_TRUE(Flags(history.check(), "real-time"));
}

TEST(HistoryChecker, FlagsAFailedWriteThatTookEffect) {
  Fabricated history;
  history.write("a", ExpectedRevision::exact(4), 1, 0, 10, Outcome::wrong_expected_revision, /*stored=*/true);
  EXPECT_TRUE(Flags(history.check(), "failed-write"));
}

TEST(HistoryChecker, FlagsAnUnknownWriteThatIsPartlyThere) {
  Fabricated history;
  history.write("a", ExpectedRevision::any(), 3, 0, 10, Outcome::unknown, /*stored=*/true);
  history.final_state.all.pop_back();
  EXPECT_TRUE(Flags(history.check(), "atomic"));
}

TEST(HistoryChecker, FlagsAConflictThatReportsASatisfyingHead) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  const std::size_t conflict =
      history.write("a", ExpectedRevision::exact(0), 1, 20, 30, Outcome::wrong_expected_revision, false);
  history.history.writes[conflict].actual_known = true;
  history.history.writes[conflict].actual_revision = 0;
  EXPECT_TRUE(Flags(history.check(), "conflict"));
}

TEST(HistoryChecker, FlagsAScanWithAGap) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.write("b", ExpectedRevision::no_stream(), 1, 0, 10);
  history.write("a", ExpectedRevision::exact(0), 1, 0, 10);
  std::vector<SeenEvent> skipping = history.final_state.all;
  skipping.erase(skipping.begin() + 1);
  history.scan(skipping, 20, 30);
  EXPECT_TRUE(Flags(history.check(), "prefix"));
}

TEST(HistoryChecker, FlagsAScanThatMissesAnAcknowledgedWrite) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.write("a", ExpectedRevision::exact(0), 1, 0, 10);
  std::vector<SeenEvent> short_of_one = history.final_state.all;
  short_of_one.pop_back();
  history.scan(short_of_one, 20, 30);
  EXPECT_TRUE(Flags(history.check(), "real-time"));
}

TEST(HistoryChecker, FlagsAStreamReadWithAHole) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 3, 0, 10);
  StreamReadOp read;
  read.stream = "a";
  read.limit = 10;
  read.invoke = 20;
  read.complete = 30;
  read.ok = true;
  read.last_revision = 2;
  read.events = {history.stored("a", 0), history.stored("a", 2)};
  history.history.stream_reads.push_back(read);
  EXPECT_TRUE(Flags(history.check(), "prefix"));
}

TEST(HistoryChecker, FlagsAStreamReadThatMissesAnEarlierCommit) {
  Fabricated history;
  // b@0 (unknown outcome, so no acknowledgement binds) is committed before
  // a@0; once a read saw a@0, b@0 must stay visible.
  history.write("b", ExpectedRevision::no_stream(), 1, 0, 100, Outcome::unknown, /*stored=*/true);
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 100);
  history.read_head("a", 0, 10, 20);
  history.read_head("b", std::nullopt, 30, 40);
  const CheckReport report = history.check();
  EXPECT_TRUE(Flags(report, "visibility"));
  EXPECT_FALSE(Flags(report, "monotonic"));
  EXPECT_FALSE(Flags(report, "real-time"));
}

// The same request sent again (`copy_of`'s ids, expectation, stream).
std::size_t resend(Fabricated& history, std::size_t copy_of, Time invoke, Time complete, Outcome outcome) {
  WriteOp op = history.history.writes[copy_of];
  op.invoke = invoke;
  op.complete = complete;
  op.outcome = outcome;
  if (outcome != Outcome::ok) {
    op.error = "fabricated";
    op.parts[0].first_revision.reset();
    op.parts[0].last_revision.reset();
  }
  history.history.writes.push_back(op);
  return history.history.writes.size() - 1;
}

TEST(HistoryChecker, AcceptsAResendAnsweredWithTheFirstResult) {
  Fabricated history;
  const std::size_t first = history.write("a", ExpectedRevision::no_stream(), 2, 0, 10);
  history.write("a", ExpectedRevision::exact(1), 1, 12, 14);
  // Answered from the record after the stream moved on.
  resend(history, first, 5, 20, Outcome::ok);
  history.read_head("a", 2, 25, 30);
  const CheckReport report = history.check();
  EXPECT_TRUE(report.violations.empty()) << report.describe();
  EXPECT_EQ(report.resent, 1u);
}

TEST(HistoryChecker, FlagsAResendThatWroteTwice) {
  Fabricated history;
  const std::size_t first = history.write("a", ExpectedRevision::any(), 1, 0, 10);
  const std::size_t again = resend(history, first, 5, 20, Outcome::ok);
  history.place("a", history.history.writes[first].parts[0].ids[0]);
  history.history.writes[again].parts[0].first_revision = 1;
  history.history.writes[again].parts[0].last_revision = 1;
  history.history.writes[again].parts[0].position = history.final_state.all.back().position;
  EXPECT_TRUE(Flags(history.check(), "final"));
}

TEST(HistoryChecker, FlagsAResendThatFailedAlthoughTheEventsAreThere) {
  Fabricated history;
  const std::size_t first = history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  resend(history, first, 5, 20, Outcome::wrong_expected_revision);
  EXPECT_TRUE(Flags(history.check(), "failed-write"));
}

TEST(HistoryChecker, FlagsAnEventNoClientAppended) {
  Fabricated history;
  history.write("a", ExpectedRevision::no_stream(), 1, 0, 10);
  history.place("a", Uuid::random());
  EXPECT_TRUE(Flags(history.check(), "final"));
}

}  // namespace
}  // namespace evsrc::history
