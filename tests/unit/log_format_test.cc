// Unit tests of the log format (src/engine/log_format.h): every record kind
// round-trips, its framed size is what *_record_size() says (the writer sizes
// groups and segments with them), and damage is refused.
#include <gtest/gtest.h>

#include <string>

#include "engine/log_format.h"

namespace evsrc {
namespace {

const Timestamp kTime{std::chrono::microseconds(1'700'000'000'123'456)};

EventData sample_event(std::size_t data_bytes) {
  EventData event;
  event.type = "UserCreated";
  event.data = std::string(data_bytes, 'x');
  event.metadata = R"({"who":"ada"})";
  return event;
}

TEST(LogFormatTest, EventRecordRoundTripsAtItsComputedSize) {
  for (const std::size_t data_bytes : {0u, 1u, 200u, 70'000u}) {
    const EventData event = sample_event(data_bytes);
    const Uuid id = Uuid::random();
    std::string out = "prefix";
    log::append_event_record(out, 42, kTime, "user-1", 7, id, true, event);
    ASSERT_EQ(out.size() - 6, log::event_record_size("user-1", event)) << data_bytes;
    const std::string_view framed = std::string_view(out).substr(6);
    ASSERT_EQ(log::framed_record_size(framed), framed.size());
    log::LogRecord record;
    ASSERT_TRUE(log::decode_record(framed, &record).ok());
    EXPECT_EQ(record.kind, log::RecordKind::event);
    EXPECT_EQ(record.position, 42u);
    EXPECT_EQ(record.recorded_at, kTime);
    EXPECT_EQ(record.stream, "user-1");
    EXPECT_EQ(record.revision, 7u);
    EXPECT_EQ(record.id, id);
    EXPECT_TRUE(record.client_id);
    EXPECT_EQ(record.type, event.type);
    EXPECT_EQ(record.content_type, event.content_type);
    EXPECT_EQ(record.metadata, event.metadata);
    EXPECT_EQ(record.data, event.data);
  }
}

TEST(LogFormatTest, LifecycleRecordsRoundTripAtTheirComputedSizes) {
  StreamMetadata metadata;
  metadata.max_count = 5;
  metadata.max_age = std::chrono::seconds(60);
  metadata.truncate_before = 3;
  metadata.custom = R"({"owner":"team-a"})";
  std::string out;
  log::append_metadata_record(out, 1, kTime, "cart-9", metadata);
  EXPECT_EQ(out.size(), log::metadata_record_size("cart-9", metadata));
  log::LogRecord record;
  ASSERT_TRUE(log::decode_record(out, &record).ok());
  EXPECT_EQ(record.kind, log::RecordKind::stream_metadata);
  EXPECT_EQ(record.stream_metadata, metadata);

  out.clear();
  log::append_deleted_record(out, 2, kTime, "cart-9", 11);
  EXPECT_EQ(out.size(), log::deleted_record_size("cart-9"));
  ASSERT_TRUE(log::decode_record(out, &record).ok());
  EXPECT_EQ(record.kind, log::RecordKind::stream_deleted);
  EXPECT_EQ(record.visible_from, 11u);

  out.clear();
  log::append_tombstone_record(out, 3, kTime, "cart-9");
  EXPECT_EQ(out.size(), log::tombstone_record_size("cart-9"));
  ASSERT_TRUE(log::decode_record(out, &record).ok());
  EXPECT_EQ(record.kind, log::RecordKind::stream_tombstoned);
  EXPECT_EQ(record.position, 3u);
}

TEST(LogFormatTest, EveryFlippedByteIsRefused) {
  std::string out;
  log::append_event_record(out, 9, kTime, "s-1", 0, Uuid::random(), false, sample_event(50));
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::string damaged = out;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    log::LogRecord record;
    const auto size = log::framed_record_size(damaged);
    const bool refused = !size || *size > damaged.size() || !log::decode_record(damaged, &record).ok();
    EXPECT_TRUE(refused) << "byte " << i;
  }
}

TEST(LogFormatTest, GroupHeaderRoundTripsAndRefusesDamage) {
  std::string out;
  log::append_group_header(out, log::GroupHeader{1234, 5, 77});
  ASSERT_EQ(out.size(), log::kGroupHeaderSize);
  const auto header = log::decode_group_header(out);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->record_bytes, 1234u);
  EXPECT_EQ(header->record_count, 5u);
  EXPECT_EQ(header->first_position, 77u);
  for (std::size_t i = 0; i < 24; ++i) {
    std::string damaged = out;
    damaged[i] = static_cast<char>(damaged[i] ^ 1);
    EXPECT_FALSE(log::decode_group_header(damaged).has_value()) << "byte " << i;
  }
}

}  // namespace
}  // namespace evsrc
