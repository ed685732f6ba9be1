// The Kinesis record format and the file checkpoint store.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "evsrc/checkpoint_store.h"
#include "evsrc/kinesis.h"
#include "kinesis/kinesis_client.h"
#include "kinesis/kinesis_test_helpers.h"

namespace evsrc {
namespace {

RecordedEvent sample_event() {
  RecordedEvent event;
  event.stream = "user-42";
  event.revision = 7;
  event.position = 123456789012ull;
  event.recorded_at = Timestamp(std::chrono::microseconds(1'790'000'000'123'456));
  event.id = Uuid::random();
  event.type = "UserRenamed";
  event.data = std::string("\x00\xff{\"name\":\"x\"}\n", 15);
  event.metadata = "{\"actor\":\"me\"}";
  event.content_type = "application/octet-stream";
  return event;
}

TEST(KinesisRecordFormat, RoundTripsEveryByte) {
  const RecordedEvent event = sample_event();
  const std::string data = encode_kinesis_event(event);
  auto decoded = decode_kinesis_event(data);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, event);
  EXPECT_NE(data.find("\"v\":1"), std::string::npos) << data;
  EXPECT_NE(data.find("\"recordedAt\":\"2026-"), std::string::npos) << data;
}

TEST(KinesisRecordFormat, RejectsWhatIsNotAnEventRecord) {
  for (const char* bad : {"", "nope", "[]", "{\"v\":2}", "{\"v\":1}", "{\"v\":1,\"stream\":\"s\",\"revision\":-1}"}) {
    auto decoded = decode_kinesis_event(bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), ErrorCode::corruption) << bad;
  }
  std::string no_base64 = encode_kinesis_event(sample_event());
  const auto data_at = no_base64.find("\"data\":\"");
  no_base64.insert(data_at + 8, "!!");
  EXPECT_EQ(decode_kinesis_event(no_base64).status().code(), ErrorCode::corruption);
}

TEST(KinesisPartitionKey, IsTheStreamOrAHashedPrefixWithin256Bytes) {
  EXPECT_EQ(kinesis_partition_key("user-1"), "user-1");
  const std::string long_name(1000, 'a');
  const std::string key = kinesis_partition_key(long_name);
  EXPECT_LE(key.size(), 256u);
  EXPECT_EQ(key, kinesis_partition_key(long_name));
  EXPECT_NE(key, kinesis_partition_key(long_name + "b"));
}

TEST(FileCheckpoints, SavesLoadsAndReplaces) {
  kinesis_test::TempDir dir;
  const std::string path = (dir.path() / "checkpoints" / "nested").string();
  auto store = open_file_checkpoints(path);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto none = (*store)->load("forwarder");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE((*store)->save("forwarder", 41).ok());
  ASSERT_TRUE((*store)->save("forwarder", 42).ok());
  ASSERT_TRUE((*store)->save("other one", 7).ok());
  auto reopened = open_file_checkpoints(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->load("forwarder").value(), std::optional<Position>(42));
  EXPECT_EQ((*reopened)->load("other one").value(), std::optional<Position>(7));
  // Only the checkpoint files: no temporary file is left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    ++files;
    EXPECT_FALSE(entry.path().filename().string().starts_with(".")) << entry.path();
  }
  EXPECT_EQ(files, 2);
}

TEST(FileCheckpoints, RejectsBadNames) {
  kinesis_test::TempDir dir;
  auto store = open_file_checkpoints(dir.path().string());
  ASSERT_TRUE(store.ok());
  for (const std::string& bad : {std::string(), std::string("a/b"), std::string("a\nb"), std::string("a\0b", 3),
                                 std::string(256, 'x'), std::string("."), std::string("..")}) {
    EXPECT_EQ((*store)->save(bad, 1).code(), ErrorCode::invalid_argument) << bad;
    EXPECT_EQ((*store)->load(bad).status().code(), ErrorCode::invalid_argument) << bad;
  }
  EXPECT_TRUE(validate_checkpoint_name(std::string(255, 'x')).ok());
  EXPECT_EQ(validate_checkpoint_name("tab\there").code(), ErrorCode::invalid_argument);
}

TEST(FileCheckpoints, ReportsAGarbledFileAsCorruption) {
  kinesis_test::TempDir dir;
  auto store = open_file_checkpoints(dir.path().string());
  ASSERT_TRUE(store.ok());
  std::ofstream(dir.path() / "bad") << "12x\n";
  auto loaded = (*store)->load("bad");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), ErrorCode::corruption);
  EXPECT_NE(loaded.status().message().find("bad"), std::string::npos);
}

TEST(FileCheckpoints, FailsClearlyWhenTheDirectoryIsAFile) {
  kinesis_test::TempDir dir;
  std::ofstream(dir.path() / "file") << "x";
  auto store = open_file_checkpoints((dir.path() / "file").string());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("file"), std::string::npos);
}

}  // namespace
}  // namespace evsrc
