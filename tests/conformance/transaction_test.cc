// Multi-stream transactions: all parts or none, condition-only parts, errors
// that name the part (DESIGN §1 "Multi-stream transaction").
#include <string>

#include "conformance/store_fixture.h"

namespace evsrc_test {
namespace {

TransactionPart part(std::string stream, ExpectedRevision expected, std::vector<EventData> events) {
  return TransactionPart{std::move(stream), expected, std::move(events)};
}

TEST_P(StoreConformance, CommitWritesEveryPart) {
  ASSERT_OK(store().append("account-1", ExpectedRevision::any(), make_events(2)));
  const std::vector<TransactionPart> parts{
      part("account-1", ExpectedRevision::exact(1), make_events(2)),
      part("account-2", ExpectedRevision::no_stream(), make_events(1)),
      part("limits-1", ExpectedRevision::no_stream(), {}),
  };
  Result<TransactionResult> result = store().commit(parts);
  ASSERT_OK(result);
  ASSERT_EQ(result->parts.size(), 3u);
  EXPECT_EQ(result->parts[0].first_revision, std::optional<StreamRevision>(2));
  EXPECT_EQ(result->parts[0].last_revision, std::optional<StreamRevision>(3));
  EXPECT_EQ(result->parts[1].first_revision, std::optional<StreamRevision>(0));
  EXPECT_EQ(result->parts[1].last_revision, std::optional<StreamRevision>(0));
  EXPECT_LT(result->parts[0].position, result->parts[1].position);
  EXPECT_EQ(result->position, result->parts[1].position);
  EXPECT_EQ(result->parts[2].first_revision, std::nullopt);
  EXPECT_EQ(result->parts[2].last_revision, std::nullopt);
  EXPECT_EQ(result->parts[2].position, result->position);
  EXPECT_EQ(read_whole_stream(store(), "account-1").size(), 4u);
  EXPECT_EQ(read_whole_stream(store(), "account-2").size(), 1u);
  EXPECT_CODE(store().read_stream("limits-1", {}), not_found);
  EXPECT_EQ(read_whole_all(store()).back().position, result->position);
}

TEST_P(StoreConformance, ConditionOnlyPartReportsTheHeadItChecked) {
  ASSERT_OK(store().append("config-1", ExpectedRevision::any(), make_events(3)));
  const std::vector<TransactionPart> parts{
      part("config-1", ExpectedRevision::exact(2), {}),
      part("job-1", ExpectedRevision::any(), make_events(1)),
  };
  Result<TransactionResult> result = store().commit(parts);
  ASSERT_OK(result);
  EXPECT_EQ(result->parts[0].first_revision, std::optional<StreamRevision>(2));
  EXPECT_EQ(result->parts[0].last_revision, std::optional<StreamRevision>(2));
  EXPECT_EQ(read_whole_stream(store(), "config-1").size(), 3u);
}

TEST_P(StoreConformance, FailingPartWritesNothingAndIsNamed) {
  ASSERT_OK(store().append("a-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().append("b-1", ExpectedRevision::any(), make_events(3)));
  const std::uint64_t before = event_count(store());
  const std::vector<TransactionPart> parts{
      part("a-1", ExpectedRevision::exact(0), make_events(2)),
      part("b-1", ExpectedRevision::exact(1), make_events(2)),
      part("c-1", ExpectedRevision::no_stream(), make_events(2)),
  };
  Result<TransactionResult> result = store().commit(parts);
  ASSERT_CODE(result, wrong_expected_revision);
  EXPECT_EQ(result.status().actual_revision(), std::optional<std::uint64_t>(2));
  EXPECT_NE(result.status().message().find("part 1"), std::string::npos) << result.status().to_string();
  EXPECT_EQ(event_count(store()), before);
  EXPECT_EQ(read_whole_stream(store(), "a-1").size(), 1u);
  EXPECT_CODE(store().read_stream("c-1", {}), not_found);
}

// commit() names the failing part even when it has only one (append() never
// does): callers of commit() parse "part N" the same way whatever the size.
TEST_P(StoreConformance, OnePartCommitNamesItsPart) {
  ASSERT_OK(store().append("a-1", ExpectedRevision::any(), make_events(1)));
  const std::vector<TransactionPart> parts{part("a-1", ExpectedRevision::no_stream(), make_events(1))};
  Result<TransactionResult> result = store().commit(parts);
  ASSERT_CODE(result, wrong_expected_revision);
  EXPECT_EQ(result.status().actual_revision(), std::optional<std::uint64_t>(0));
  EXPECT_NE(result.status().message().find("part 0"), std::string::npos) << result.status().to_string();
  Result<AppendResult> appended = store().append("a-1", ExpectedRevision::no_stream(), make_events(1));
  ASSERT_CODE(appended, wrong_expected_revision);
  EXPECT_EQ(appended.status().message().find("part "), std::string::npos) << appended.status().to_string();
}

TEST_P(StoreConformance, FailingConditionOnlyPartAbortsTheCommit) {
  ASSERT_OK(store().append("guard-1", ExpectedRevision::any(), make_events(2)));
  const std::vector<TransactionPart> parts{
      part("data-1", ExpectedRevision::any(), make_events(2)),
      part("guard-1", ExpectedRevision::exact(0), {}),
  };
  Result<TransactionResult> result = store().commit(parts);
  ASSERT_CODE(result, wrong_expected_revision);
  EXPECT_EQ(result.status().actual_revision(), std::optional<std::uint64_t>(1));
  EXPECT_NE(result.status().message().find("part 1"), std::string::npos) << result.status().to_string();
  EXPECT_CODE(store().read_stream("data-1", {}), not_found);
  EXPECT_EQ(event_count(store()), 2u);
}

TEST_P(StoreConformance, UniqueReservationAcrossStreams) {
  auto register_user = [&](const std::string& user, const std::string& name) {
    const std::vector<TransactionPart> parts{
        part("user-" + user, ExpectedRevision::no_stream(), make_events(1, "UserRegistered")),
        part("username-" + name, ExpectedRevision::no_stream(), make_events(1, "UsernameReserved")),
    };
    return store().commit(parts);
  };
  EXPECT_OK(register_user("1", "ann"));
  Result<TransactionResult> taken = register_user("2", "ann");
  EXPECT_CODE(taken, wrong_expected_revision);
  EXPECT_CODE(store().read_stream("user-2", {}), not_found);
  EXPECT_OK(register_user("2", "bob"));
}

TEST_P(StoreConformance, InvalidPartsAreRefusedBeforeAnythingIsWritten) {
  std::vector<TransactionPart> parts{
      part("x-1", ExpectedRevision::any(), make_events(1)),
      part("x-1", ExpectedRevision::any(), make_events(1)),
  };
  EXPECT_CODE(store().commit(parts), invalid_argument);
  parts[1].stream = "$bad";
  Result<TransactionResult> bad_name = store().commit(parts);
  EXPECT_CODE(bad_name, invalid_argument);
  EXPECT_NE(bad_name.status().message().find("part 1"), std::string::npos) << bad_name.status().to_string();
  parts[1] = part("x-2", ExpectedRevision::any(), {parts[0].events[0]});
  EXPECT_CODE(store().commit(parts), invalid_argument);  // the same id in two parts
  EXPECT_EQ(event_count(store()), 0u);
}

TEST_P(StoreConformance, TransactionLimitsCountEveryPart) {
  StoreOptions options;
  options.limits.max_events_per_batch = 4;
  options.limits.max_event_bytes = 1000;
  reopen(options);
  std::vector<TransactionPart> parts{
      part("x-1", ExpectedRevision::any(), make_events(3)),
      part("x-2", ExpectedRevision::any(), make_events(2)),
  };
  EXPECT_CODE(store().commit(parts), too_large);
  parts[1].events.pop_back();
  parts[1].events[0].data = std::string(1001, 'x');
  EXPECT_CODE(store().commit(parts), too_large);
  EXPECT_EQ(event_count(store()), 0u);
  parts[1].events[0].data = "{}";
  EXPECT_OK(store().commit(parts));
  EXPECT_EQ(event_count(store()), 4u);
}

TEST_P(StoreConformance, TransactionRetryIsIdempotent) {
  const std::vector<TransactionPart> parts{
      part("pay-1", ExpectedRevision::no_stream(), make_events(2)),
      part("ledger-1", ExpectedRevision::no_stream(), make_events(1)),
  };
  Result<TransactionResult> first = store().commit(parts);
  ASSERT_OK(first);
  Result<TransactionResult> retry = store().commit(parts);
  ASSERT_OK(retry);
  EXPECT_EQ(retry->position, first->position);
  ASSERT_EQ(retry->parts.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(retry->parts[i].first_revision, first->parts[i].first_revision);
    EXPECT_EQ(retry->parts[i].last_revision, first->parts[i].last_revision);
    EXPECT_EQ(retry->parts[i].position, first->parts[i].position);
  }
  EXPECT_EQ(event_count(store()), 3u);
  std::vector<TransactionPart> changed = parts;
  changed[1].events[0].data = R"({"other":1})";
  EXPECT_CODE(store().commit(changed), idempotency_conflict);
  EXPECT_EQ(event_count(store()), 3u);
}

TEST_P(StoreConformance, TransactionOnTombstonedStreamFails) {
  ASSERT_OK(store().append("t-1", ExpectedRevision::any(), make_events(1)));
  ASSERT_OK(store().tombstone_stream("t-1", ExpectedRevision::any()));
  const std::vector<TransactionPart> parts{
      part("t-2", ExpectedRevision::any(), make_events(1)),
      part("t-1", ExpectedRevision::any(), make_events(1)),
  };
  Result<TransactionResult> result = store().commit(parts);
  EXPECT_CODE(result, stream_deleted);
  EXPECT_NE(result.status().message().find("part 1"), std::string::npos) << result.status().to_string();
  EXPECT_CODE(store().read_stream("t-2", {}), not_found);
}

}  // namespace
}  // namespace evsrc_test
