// The directory as a library, in process on memory: stores: the username
// invariant under concurrency and revert, deleted users, read models with
// read-your-writes and rebuild, and the RFC 3339 parser of --at-time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "directory/commands.h"
#include "directory/directory_runner.h"
#include "directory/events.h"
#include "directory/read_models.h"
#include "directory/rfc3339.h"
#include "directory/username_registry.h"
#include "evsrc/event_store.h"

namespace evsrc::directory {
namespace {

constexpr int kThreads = 8;

class DirectoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = open_store("memory:");
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
    service_ = std::make_unique<DirectoryService>(*store_, "tester");
  }
  void TearDown() override {
    service_.reset();
    if (store_) {
      EXPECT_TRUE(store_->close().ok());
    }
  }

  void create(const std::string& id, const std::string& username) {
    auto created = service_->create_user(NewUser{id, "User " + id, username, id + "@example.com"});
    ASSERT_TRUE(created.ok()) << created.status().to_string();
  }

  // Who holds `username` according to its registry stream.
  std::optional<std::string> holder(const std::string& username) {
    auto found = username_holder(*store_, username);
    EXPECT_TRUE(found.ok()) << found.status().to_string();
    return found.ok() ? found->user_id : std::nullopt;
  }

  std::string username_of(const std::string& id) {
    auto loaded = service_->user(id);
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    return loaded.ok() ? loaded->state.username : "";
  }

  std::unique_ptr<EventStore> store_;
  std::unique_ptr<DirectoryService> service_;
};

// Runs `command(i)` on kThreads threads released together; returns each
// thread's error code.
template <typename Command>
std::vector<ErrorCode> race(Command command) {
  std::vector<ErrorCode> codes(kThreads, ErrorCode::ok);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      codes[i] = command(i);
    });
  }
  for (std::thread& thread : threads) thread.join();
  return codes;
}

int count(const std::vector<ErrorCode>& codes, ErrorCode code) {
  return static_cast<int>(std::count(codes.begin(), codes.end(), code));
}

TEST_F(DirectoryServiceTest, ConcurrentCreatesClaimingOneUsernameHaveExactlyOneWinner) {
  for (int round = 0; round < 10; ++round) {
    const std::string name = "bob" + std::to_string(round);
    const std::vector<ErrorCode> codes = race([&](int i) {
      const std::string id = std::to_string(round) + "-" + std::to_string(i);
      return service_->create_user(NewUser{id, "Bob", name, "bob@example.com"}).status().code();
    });
    ASSERT_EQ(count(codes, ErrorCode::ok), 1) << "round " << round;
    ASSERT_EQ(count(codes, ErrorCode::rejected), kThreads - 1) << "round " << round;
    const int winner = static_cast<int>(std::find(codes.begin(), codes.end(), ErrorCode::ok) - codes.begin());
    EXPECT_EQ(holder(name), std::to_string(round) + "-" + std::to_string(winner));
    // One claim in the registry stream, and the losers' user streams were never written.
    auto page = store_->read_stream(username_stream(name), {});
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->events.size(), 1u);
    for (int i = 0; i < kThreads; ++i) {
      if (i == winner) continue;
      EXPECT_EQ(service_->user(std::to_string(round) + "-" + std::to_string(i)).status().code(), ErrorCode::not_found);
    }
  }
}

TEST_F(DirectoryServiceTest, ConcurrentUsernameChangesToOneNameHaveExactlyOneWinner) {
  for (int i = 0; i < kThreads; ++i) create(std::to_string(i), "user" + std::to_string(i));
  for (int round = 0; round < 10; ++round) {
    const std::string name = "lisa" + std::to_string(round);
    const std::vector<ErrorCode> codes =
        race([&](int i) { return service_->set_username(std::to_string(i), name).status().code(); });
    ASSERT_EQ(count(codes, ErrorCode::ok), 1) << "round " << round;
    ASSERT_EQ(count(codes, ErrorCode::rejected), kThreads - 1) << "round " << round;
    const int winner = static_cast<int>(std::find(codes.begin(), codes.end(), ErrorCode::ok) - codes.begin());
    EXPECT_EQ(holder(name), std::to_string(winner));
    int holding = 0;
    for (int i = 0; i < kThreads; ++i) holding += username_of(std::to_string(i)) == name ? 1 : 0;
    EXPECT_EQ(holding, 1);
  }
  // Every user holds exactly the name its state says, and nothing else.
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(holder(username_of(std::to_string(i))), std::to_string(i));
  }
}

TEST_F(DirectoryServiceTest, RevertIsRejectedWhenTheOldUsernameIsHeldByAnotherUser) {
  create("1", "homer");
  ASSERT_TRUE(service_->set_username("1", "homers").ok());
  create("2", "homer");  // "homer" was released, so Marge may take it

  auto reverted = service_->revert_user("1", 0);
  EXPECT_EQ(reverted.status().code(), ErrorCode::rejected) << reverted.status().to_string();
  EXPECT_NE(reverted.status().message().find("username homer is taken"), std::string::npos);
  // Nothing changed anywhere.
  EXPECT_EQ(username_of("1"), "homers");
  EXPECT_EQ(holder("homer"), "2");
  EXPECT_EQ(holder("homers"), "1");
  EXPECT_EQ(*service_->user("1")->revision, 1u);

  // Once Marge lets go of it, the revert goes through and frees "homers".
  ASSERT_TRUE(service_->set_username("2", "marge").ok());
  reverted = service_->revert_user("1", 0);
  ASSERT_TRUE(reverted.ok()) << reverted.status().to_string();
  EXPECT_EQ(reverted->user.username, "homer");
  EXPECT_EQ(reverted->revision, 2u);
  EXPECT_EQ(holder("homer"), "1");
  EXPECT_EQ(holder("homers"), std::nullopt);
}

TEST_F(DirectoryServiceTest, ARevertRacingAClaimOfTheSameNameHasOneWinner) {
  for (int round = 0; round < 10; ++round) {
    const std::string id = "r" + std::to_string(round);
    const std::string old_name = "old" + std::to_string(round);
    create(id, old_name);
    ASSERT_TRUE(service_->set_username(id, "new" + std::to_string(round)).ok());
    std::latch start(2);
    ErrorCode revert_code = ErrorCode::ok;
    ErrorCode claim_code = ErrorCode::ok;
    std::thread reverter([&] {
      start.arrive_and_wait();
      revert_code = service_->revert_user(id, 0).status().code();
    });
    std::thread claimer([&] {
      start.arrive_and_wait();
      claim_code = service_->create_user(NewUser{"c" + id, "Claimer", old_name, "c@example.com"}).status().code();
    });
    reverter.join();
    claimer.join();
    EXPECT_EQ((revert_code == ErrorCode::ok) + (claim_code == ErrorCode::ok), 1) << "round " << round;
    EXPECT_EQ(holder(old_name), revert_code == ErrorCode::ok ? id : "c" + id);
  }
}

TEST_F(DirectoryServiceTest, DeletedUsersReleaseTheirUsernameAndRejectCommands) {
  create("3", "bart");
  ASSERT_TRUE(service_->create_group("family", "The Simpsons").ok());
  ASSERT_TRUE(service_->add_member("family", "3").ok());
  auto deleted = service_->delete_user("3");
  ASSERT_TRUE(deleted.ok()) << deleted.status().to_string();
  EXPECT_TRUE(deleted->user.deleted);
  EXPECT_EQ(holder("bart"), std::nullopt);
  EXPECT_EQ(service_->set_name("3", "Bartholomew").status().code(), ErrorCode::rejected);
  EXPECT_EQ(service_->set_username("3", "el-barto").status().code(), ErrorCode::rejected);
  EXPECT_EQ(service_->delete_user("3").status().code(), ErrorCode::rejected);
  EXPECT_EQ(service_->revert_user("3", 0).status().code(), ErrorCode::rejected);
  EXPECT_EQ(service_->add_member("family", "3").status().code(), ErrorCode::ok);  // already a member: no-op
  ASSERT_TRUE(service_->remove_member("family", "3").ok());
  EXPECT_EQ(service_->add_member("family", "3").status().code(), ErrorCode::rejected);
  EXPECT_EQ(service_->set_name("99", "Nobody").status().code(), ErrorCode::not_found);
  create("4", "bart");  // the name is free again
  EXPECT_EQ(holder("bart"), "4");
}

TEST_F(DirectoryServiceTest, EveryEventRecordsItsActor) {
  create("1", "homer");
  DirectoryService other(*store_, "marge");
  ASSERT_TRUE(other.set_name("1", "Homer J. Simpson").ok());
  auto history = service_->user_history("1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(actor_of((*history)[0].event.metadata), "tester");
  EXPECT_EQ(actor_of((*history)[1].event.metadata), "marge");
  // The claim in the registry is attributed too.
  auto claim = store_->read_stream(username_stream("homer"), {});
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(actor_of(claim->events.at(0).metadata), "tester");
}

TEST_F(DirectoryServiceTest, ReadModelsSeeACommandOnceTheyPassItsPosition) {
  directory_test::TempDir dir;
  auto opened = DirectoryReadModels::open(*store_, (dir.path() / "read-models.sqlite").string());
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<DirectoryReadModels> models = std::move(opened).value();
  models->start();
  for (int i = 0; i < 20; ++i) {
    const std::string id = std::to_string(i);
    auto created = service_->create_user(NewUser{id, "User " + id, "user" + id, "u" + id + "@Example.COM"});
    ASSERT_TRUE(created.ok()) << created.status().to_string();
    ASSERT_TRUE(models->wait_for(*created->command.position, std::chrono::seconds(10)).ok());
    auto row = models->user_by_username("user" + id);
    ASSERT_TRUE(row.ok()) << row.status().to_string();
    EXPECT_EQ(row->id, id);
    EXPECT_EQ(row->email_domain, std::nullopt);  // users v1
  }
  auto renamed = service_->set_username("7", "seven");
  ASSERT_TRUE(renamed.ok());
  ASSERT_TRUE(models->wait_for(*renamed->command.position, std::chrono::seconds(10)).ok());
  EXPECT_EQ(models->user_by_username("seven")->id, "7");
  EXPECT_EQ(models->user_by_username("user7").status().code(), ErrorCode::not_found);
  models->stop();

  // Rebuild: version 2 of every model, the users one with email_domain.
  auto steps = models->rebuild();
  ASSERT_TRUE(steps.ok()) << steps.status().to_string();
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ(models->serving_version("users").value(), 2u);
  auto row = models->user_by_id("7");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->username, "seven");
  EXPECT_EQ(row->email_domain, "example.com");
  auto by_email = models->users_by_email("u3@Example.COM");
  ASSERT_TRUE(by_email.ok());
  ASSERT_EQ(by_email->size(), 1u);
  EXPECT_EQ(by_email->front().id, "3");
  auto audit = models->audit_log(user_stream("7"));
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ(audit->at(1).type, "UsernameSet");
  EXPECT_EQ(audit->at(1).actor, "tester");
}

TEST(Rfc3339, ParsesWhatFormatWritesAndOffsets) {
  const Timestamp time{std::chrono::microseconds(1'790'000'000'123'456)};
  EXPECT_EQ(parse_rfc3339(format_rfc3339(time)), time);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), Timestamp{});
  EXPECT_EQ(parse_rfc3339("1970-01-01T02:00:00.5+02:00"), Timestamp{std::chrono::microseconds(500'000)});
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:00.000000001-01:00"), Timestamp{});
  for (const char* bad : {"", "yesterday", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00", "2026-01-01 00:00:00Z",
                          "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zjunk"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace evsrc::directory
