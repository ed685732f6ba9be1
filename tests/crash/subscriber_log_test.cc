// The subscriber check of the kill tests accepts exactly the at-least-once
// window it documents and rejects gaps, duplicates and wrong resumptions
// (written out by hand here, since a kill rarely lands in the window).
#include "crash/subscriber_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "crash/crash_support.h"

namespace evsrc {
namespace {

std::vector<RecordedEvent> store_events() {
  std::vector<RecordedEvent> events;
  for (Position position : {0, 1, 3, 4, 7, 8}) {  // positions need not be contiguous
    RecordedEvent event;
    event.position = position;
    event.id = crash::event_id(crash::BatchKey{0, 0, static_cast<std::uint32_t>(position)}, 0);
    events.push_back(event);
  }
  return events;
}

class SubscriberLogCheck : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  // `deliveries`: lines as in the log, "D <position>" gets the event's id.
  std::vector<std::string> check(const std::vector<std::string>& deliveries, const std::vector<Position>& checkpoints,
                                 crash::SubscriberCheck* result = nullptr) {
    const std::vector<RecordedEvent> events = store_events();
    std::ofstream out(deliveries_path());
    for (const std::string& line : deliveries) {
      if (line.starts_with("D ")) {
        const Position position = std::stoull(line.substr(2));
        out << line << " "
            << crash::event_id(crash::BatchKey{0, 0, static_cast<std::uint32_t>(position)}, 0).to_string() << "\n";
      } else {
        out << line << "\n";
      }
    }
    out.close();
    std::ofstream checkpoint_out(checkpoints_path());
    for (Position position : checkpoints) checkpoint_out << position << "\n";
    checkpoint_out.close();
    std::vector<std::string> problems;
    const crash::SubscriberCheck checked =
        crash::check_subscriber_log(events, deliveries_path(), checkpoints_path(), &problems);
    if (result != nullptr) *result = checked;
    return problems;
  }

  std::string deliveries_path() const { return dir_.path() + "/deliveries.log"; }
  std::string checkpoints_path() const { return dir_.path() + "/checkpoints.log"; }

  crash::TempDir dir_{"evsrc-subscriber-log"};
};

TEST_F(SubscriberLogCheck, AcceptsResumptionsFromTheCheckpoint) {
  crash::SubscriberCheck result;
  EXPECT_EQ(check({"S 0 -", "D 0", "D 1", "S 2 2", "D 3", "D 4", "D 7"}, {0, 1, 3, 4, 7}, &result),
            std::vector<std::string>());
  EXPECT_EQ(result.sessions, 2u);
  EXPECT_EQ(result.deliveries, 5u);
  EXPECT_EQ(result.redeliveries, 0u);
  EXPECT_EQ(result.behind, 1u);
}

TEST_F(SubscriberLogCheck, AcceptsTheRedeliveryOfAnEventKilledBeforeItsCheckpoint) {
  crash::SubscriberCheck result;
  // Session 1 handled 3 but was killed before its checkpoint line; session 2
  // delivers it again, then the same happens to 7 with an empty session between.
  EXPECT_EQ(check({"S 0 -", "D 0", "D 1", "D 3", "S 2 2", "D 3", "D 4", "D 7", "S 4 5", "S 4 5", "D 7", "D 8"},
                  {0, 1, 3, 4, 7, 8}, &result),
            std::vector<std::string>());
  EXPECT_EQ(result.redeliveries, 2u);
  EXPECT_EQ(result.behind, 0u);
}

TEST_F(SubscriberLogCheck, AcceptsAKillBeforeTheFirstCheckpoint) {
  EXPECT_EQ(check({"S 0 -", "D 0", "S 0 -", "D 0", "D 1"}, {0, 1}), std::vector<std::string>());
}

TEST_F(SubscriberLogCheck, RejectsAGap) {
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 3"}, {0, 3}).empty());
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 1", "S 2 4", "D 4"}, {0, 1, 4}).empty());  // resumed past the checkpoint
}

TEST_F(SubscriberLogCheck, RejectsADuplicateOutsideTheWindow) {
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 1", "D 1"}, {0, 1, 1}).empty());
  // Resumed from before its checkpoint: 0 again although 0 and 1 were checkpointed.
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 1", "S 2 0", "D 0"}, {0, 1, 0}).empty());
}

TEST_F(SubscriberLogCheck, RejectsDeliveriesThatAreNotInTheStore) {
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 2"}, {0, 2}).empty());
}

TEST_F(SubscriberLogCheck, RejectsCheckpointsThatDoNotMatchTheDeliveries) {
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 1", "D 3"}, {0}).empty());  // two deliveries without a checkpoint
  EXPECT_FALSE(check({"S 0 -", "D 0", "D 1"}, {0, 3}).empty());      // a checkpoint of what was not handled
}

}  // namespace
}  // namespace evsrc
