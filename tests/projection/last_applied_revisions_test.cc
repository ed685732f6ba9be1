// LastAppliedRevisions: per-stream dedupe of at-least-once delivery.
#include "projection/projection_fixture.h"

namespace evsrc_projection_test {
namespace {

RecordedEvent event_at(std::string stream, StreamRevision revision) {
  RecordedEvent event;
  event.stream = std::move(stream);
  event.revision = revision;
  return event;
}

TEST(LastAppliedRevisions, SkipsWhatWasAppliedPerStream) {
  LastAppliedRevisions revisions;
  EXPECT_EQ(revisions.last("user-1"), std::nullopt);
  EXPECT_TRUE(revisions.apply(event_at("user-1", 0)));
  EXPECT_TRUE(revisions.apply(event_at("user-1", 1)));
  EXPECT_FALSE(revisions.apply(event_at("user-1", 1)));  // redelivered
  EXPECT_FALSE(revisions.apply(event_at("user-1", 0)));
  EXPECT_TRUE(revisions.apply(event_at("user-2", 0)));  // other streams are independent
  EXPECT_TRUE(revisions.apply(event_at("user-1", 2)));
  EXPECT_EQ(revisions.last("user-1"), 2u);
  EXPECT_EQ(revisions.last("user-2"), 0u);
}

TEST(LastAppliedRevisions, JsonRoundTrip) {
  LastAppliedRevisions revisions;
  ASSERT_TRUE(revisions.apply(event_at("user-1", 7)));
  ASSERT_TRUE(revisions.apply(event_at("group \"x\"", 18446744073709551614ull)));
  const std::string json = revisions.to_json();
  Result<LastAppliedRevisions> back = LastAppliedRevisions::from_json(json);
  ASSERT_TRUE(IsOk(back));
  EXPECT_EQ(back->last("user-1"), 7u);
  EXPECT_EQ(back->last("group \"x\""), 18446744073709551614ull);
  EXPECT_EQ(back->to_json(), json);
  EXPECT_FALSE(back->apply(event_at("user-1", 7)));
  EXPECT_TRUE(back->apply(event_at("user-1", 8)));

  Result<LastAppliedRevisions> empty = LastAppliedRevisions::from_json(LastAppliedRevisions().to_json());
  ASSERT_TRUE(IsOk(empty));
  EXPECT_EQ(empty->last("user-1"), std::nullopt);
}

TEST(LastAppliedRevisions, RejectsMalformedJson) {
  for (const char* bad : {"", "[", "[1,2]", R"({"user-1": -1})", R"({"user-1": "3"})", R"({"user-1": 1.5})"}) {
    Result<LastAppliedRevisions> parsed = LastAppliedRevisions::from_json(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace evsrc_projection_test
