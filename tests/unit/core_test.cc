// Unit tests of the core vocabulary: Status, Uuid, ExpectedRevision,
// timestamps, stream categories and stream-name rules.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/append_rules.h"
#include "core/read_paging.h"
#include "core/stream_state.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

TEST(StatusTest, DefaultIsOk) {
  const Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::ok);
  EXPECT_EQ(status.to_string(), "ok");
  EXPECT_TRUE(Status::ok_status().ok());
}

TEST(StatusTest, CodesAndMessages) {
  const Status status = Status::not_found("stream user-1 does not exist");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), ErrorCode::not_found);
  EXPECT_EQ(status.to_string(), "not_found: stream user-1 does not exist");
  EXPECT_EQ(error_code_name(ErrorCode::wrong_expected_revision), "wrong_expected_revision");
  EXPECT_EQ(error_code_name(ErrorCode::idempotency_conflict), "idempotency_conflict");
  EXPECT_EQ(error_code_name(ErrorCode::timeout), "timeout");
  EXPECT_EQ(Status::closed("").to_string(), "closed");
}

TEST(StatusTest, WrongExpectedRevisionCarriesTheActualRevision) {
  const Status at = Status::wrong_expected_revision(5, "expected 3");
  EXPECT_EQ(at.code(), ErrorCode::wrong_expected_revision);
  EXPECT_EQ(at.actual_revision(), std::optional<std::uint64_t>(5));
  EXPECT_EQ(Status::wrong_expected_revision(std::nullopt, "absent").actual_revision(), std::nullopt);
  EXPECT_EQ(Status::invalid_argument("x").actual_revision(), std::nullopt);
}

TEST(StatusTest, PartErrorKeepsCodeAndActualRevision) {
  const Status status = part_error(2, Status::wrong_expected_revision(7, "expected 3"));
  EXPECT_EQ(status.code(), ErrorCode::wrong_expected_revision);
  EXPECT_EQ(status.actual_revision(), std::optional<std::uint64_t>(7));
  EXPECT_EQ(status.message(), "part 2: expected 3");
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> value = 42;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  EXPECT_TRUE(value.status().ok());
  Result<int> error = Status::too_large("big");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), ErrorCode::too_large);
}

TEST(UuidTest, FormatParseRoundTrip) {
  const Uuid uuid = Uuid::random();
  EXPECT_FALSE(uuid.is_nil());
  const std::string text = uuid.to_string();
  ASSERT_EQ(text.size(), 36u);
  EXPECT_EQ(Uuid::parse(text), uuid);
  EXPECT_EQ((uuid.bytes[6] >> 4), 4) << "version 4";
  const std::optional<Uuid> upper = Uuid::parse("0123ABCD-4567-89ab-CDEF-0123456789AB");
  ASSERT_TRUE(upper.has_value());
  EXPECT_EQ(upper->to_string(), "0123abcd-4567-89ab-cdef-0123456789ab");
  EXPECT_EQ(upper->bytes[0], 0x01);
  EXPECT_EQ(upper->bytes[15], 0xab);
}

TEST(UuidTest, NilAndRandomness) {
  EXPECT_TRUE(Uuid{}.is_nil());
  EXPECT_EQ(Uuid{}.to_string(), "00000000-0000-0000-0000-000000000000");
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(Uuid::random());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(UuidTest, RejectsBadInput) {
  for (const char* text : {"", "0123abcd-4567-89ab-cdef-0123456789a", "0123abcd-4567-89ab-cdef-0123456789abc",
                           "0123abcd_4567-89ab-cdef-0123456789ab", "0123abcd-4567-89ab-cdef-0123456789ag",
                           "{0123abcd-4567-89ab-cdef-0123456789}", "0123abcd4567089ab0cdef00123456789ab0"}) {
    EXPECT_EQ(Uuid::parse(text), std::nullopt) << text;
  }
  EXPECT_EQ(Uuid::parse(std::string_view("0123abcd-4567-89ab-cdef-0123456789a\0", 36)), std::nullopt);
}

TEST(ExpectedRevisionTest, Parse) {
  EXPECT_EQ(ExpectedRevision::parse("any"), ExpectedRevision::any());
  EXPECT_EQ(ExpectedRevision::parse("no-stream"), ExpectedRevision::no_stream());
  EXPECT_EQ(ExpectedRevision::parse("exists"), ExpectedRevision::stream_exists());
  EXPECT_EQ(ExpectedRevision::parse("0"), ExpectedRevision::exact(0));
  EXPECT_EQ(ExpectedRevision::parse("18446744073709551615"), ExpectedRevision::exact(18446744073709551615ull));
  for (const char* bad : {"", "-1", "1x", " 1", "ANY", "18446744073709551616", "+3"}) {
    EXPECT_EQ(ExpectedRevision::parse(bad), std::nullopt) << bad;
  }
}

TEST(ExpectedRevisionTest, ToStringRoundTrips) {
  for (const ExpectedRevision expected : {ExpectedRevision::any(), ExpectedRevision::no_stream(),
                                          ExpectedRevision::stream_exists(), ExpectedRevision::exact(17)}) {
    EXPECT_EQ(ExpectedRevision::parse(expected.to_string()), expected) << expected.to_string();
  }
  EXPECT_EQ(ExpectedRevision::exact(17).revision(), 17u);
}

TEST(TimestampTest, FormatRfc3339) {
  EXPECT_EQ(format_rfc3339(Timestamp{}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(Timestamp(std::chrono::microseconds(1'795'941'248'123'456))), "2026-11-29T08:34:08.123456Z");
  EXPECT_EQ(format_rfc3339(Timestamp(std::chrono::microseconds(-1))), "1969-12-31T23:59:59.999999Z");
}

// The civil-date arithmetic of format_rfc3339 against the C library's
// gmtime over the years 0000-9999 (leap days, centuries, the epoch's edges).
TEST(TimestampTest, FormatRfc3339MatchesGmtimeAcrossTheYears) {
  std::mt19937_64 random(7);
  constexpr std::int64_t kYear0 = -62'167'219'200;   // 0000-01-01T00:00:00Z
  constexpr std::int64_t kYear10000 = 253'402'300'800;
  std::vector<std::int64_t> seconds = {kYear0, kYear10000 - 1, 0, -1, 951'782'400 /* 2000-02-29 */,
                                       4'107'542'399 /* 2100-02-28T23:59:59 */};
  for (int i = 0; i < 20000; ++i) {
    seconds.push_back(kYear0 + static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(kYear10000 - kYear0)));
  }
  for (const std::int64_t second : seconds) {
    const std::int64_t micros = second * 1'000'000 + static_cast<std::int64_t>(random() % 1'000'000);
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&t, &tm), nullptr);
    char expected[64];
    std::snprintf(expected, sizeof(expected), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros - second * 1'000'000));
    ASSERT_EQ(format_rfc3339(Timestamp(std::chrono::microseconds(micros))), expected) << second;
  }
  // Outside 0000-9999: still written (with more digits or a sign).
  EXPECT_EQ(format_rfc3339(Timestamp(std::chrono::microseconds(kYear10000 * 1'000'000))),
            "10000-01-01T00:00:00.000000Z");
}

TEST(StreamCategoryTest, PartBeforeTheFirstDash) {
  EXPECT_EQ(stream_category("user-42"), "user");
  EXPECT_EQ(stream_category("user-42-x"), "user");
  EXPECT_EQ(stream_category("user"), "user");
  EXPECT_EQ(stream_category("-42"), "");
}

TEST(StreamNameTest, Validation) {
  EXPECT_TRUE(validate_stream_name("user-1").ok());
  EXPECT_TRUE(validate_stream_name(std::string(1024, 'a')).ok());
  EXPECT_TRUE(validate_stream_name("ünïcode-ストリーム-😀").ok());
  EXPECT_TRUE(validate_stream_name("a$").ok());
  for (const std::string& bad : {std::string(), std::string(1025, 'a'), std::string("a\0b", 3), std::string("$all"),
                                 std::string("bad\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                 std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80")}) {
    const Status status = validate_stream_name(bad);
    EXPECT_EQ(status.code(), ErrorCode::invalid_argument) << status.to_string();
  }
}

TEST(StreamStateTest, ExpectedRevisionRules) {
  StreamState state;
  EXPECT_TRUE(check_expected_revision("s", state, ExpectedRevision::no_stream()).ok());
  EXPECT_EQ(check_expected_revision("s", state, ExpectedRevision::exact(0)).actual_revision(), std::nullopt);
  state.last_revision = 4;
  EXPECT_TRUE(check_expected_revision("s", state, ExpectedRevision::exact(4)).ok());
  EXPECT_EQ(check_expected_revision("s", state, ExpectedRevision::no_stream()).actual_revision(),
            std::optional<std::uint64_t>(4));
  state.soft_deleted = true;
  EXPECT_TRUE(check_expected_revision("s", state, ExpectedRevision::no_stream()).ok());
  state.tombstoned = true;
  EXPECT_EQ(check_expected_revision("s", state, ExpectedRevision::any()).code(), ErrorCode::stream_deleted);
}

TEST(AppendRulesTest, IdsAreAssignedAndChecked) {
  std::vector<EventData> events(3);
  for (EventData& event : events) event.type = "T";
  const std::vector<EventData> assigned = with_assigned_ids(events);
  for (const EventData& event : assigned) EXPECT_FALSE(event.id.is_nil());
  EXPECT_TRUE(check_unique_ids(assigned).ok());
  EXPECT_TRUE(check_unique_ids(events).ok()) << "nil ids are not duplicates";
  const std::vector<EventData> twice{assigned[0], assigned[1], assigned[0]};
  EXPECT_EQ(check_unique_ids(twice).code(), ErrorCode::invalid_argument);
}

TEST(ReadPagingTest, WalkPageStopsAtLimitAndReportsNext) {
  std::vector<std::uint64_t> seen;
  auto take_even = [&](std::uint64_t key) {
    if (key % 2 != 0) return false;
    seen.push_back(key);
    return true;
  };
  EXPECT_EQ(walk_page(KeyRange{0, 9}, 2, 0, take_even), std::optional<std::uint64_t>(3));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 2}));
  seen.clear();
  EXPECT_EQ(walk_page(KeyRange{9, 0}, 10, 0, take_even), std::nullopt);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{8, 6, 4, 2, 0}));
  seen.clear();
  EXPECT_EQ(walk_page(KeyRange{4, 8}, 3, 0, take_even), std::nullopt) << "limit reached at the last key";
  // A scan limit stops the walk after that many keys, matched or not.
  seen.clear();
  EXPECT_EQ(walk_page(KeyRange{1, 9}, 10, 4, take_even), std::optional<std::uint64_t>(5));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{2, 4}));
  seen.clear();
  EXPECT_EQ(walk_page(KeyRange{9, 0}, 10, 3, take_even), std::optional<std::uint64_t>(6));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{8}));
  EXPECT_EQ(walk_page(KeyRange{0, 3}, 10, 4, take_even), std::nullopt) << "window ends at the last key";
  EXPECT_EQ(scan_window_end(10, Direction::forward, 5), 14u);
  EXPECT_EQ(scan_window_end(10, Direction::backward, 5), 6u);
  EXPECT_EQ(scan_window_end(3, Direction::backward, 5), 0u);
  EXPECT_EQ(scan_window_end(UINT64_MAX - 1, Direction::forward, 5), UINT64_MAX);
  EXPECT_EQ(scan_window_end(7, Direction::forward, 0), UINT64_MAX) << "0: no bound";
  EXPECT_EQ(clamp_read_range(12, Direction::forward, 0, 10), std::nullopt);
  const std::optional<KeyRange> backward = clamp_read_range(12, Direction::backward, 3, 10);
  ASSERT_TRUE(backward.has_value());
  EXPECT_EQ(backward->start, 10u);
  EXPECT_EQ(backward->stop, 3u);
}

}  // namespace
}  // namespace evsrc
