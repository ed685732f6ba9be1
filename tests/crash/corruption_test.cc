// Damaged log files: a flipped byte in the middle of the log is corruption,
// reported by open and by `evsrc verify`, never skipped; a torn tail (the
// last group cut short, or garbage after it) is cut on open, keeping
// everything before it.
//
// The tests find groups with the engine's own log format (engine/log_format.h)
// so that a damaged byte lands exactly where each case needs it.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crash/crash_support.h"
#include "engine/log_format.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

struct Group {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;  // header and records
};

struct SegmentFile {
  std::string path;
  std::string bytes;
  std::vector<Group> groups;
  std::uint64_t end() const {
    return groups.empty() ? log::kSegmentHeaderSize : groups.back().offset + groups.back().size;
  }
};

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store_dir_ = dir_.path() + "/store";
  }

  StoreOptions options() const {
    StoreOptions options;
    options.segment_bytes = segment_bytes_;
    return options;
  }

  Result<std::unique_ptr<EventStore>> open() { return open_store("file:" + store_dir_, options()); }

  // `appends` appends of `per_append` events to stream "c-<i % 3>", one
  // group each (a single writer waits for each acknowledgement).
  void write_history(int appends, int per_append = 5, std::size_t data_bytes = 100) {
    Result<std::unique_ptr<EventStore>> store = open();
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    for (int i = 0; i < appends; ++i) {
      std::vector<EventData> events;
      for (int e = 0; e < per_append; ++e) {
        EventData event;
        event.id = Uuid::random();
        event.type = "Written";
        event.data = "{\"append\":" + std::to_string(i) + ",\"pad\":\"" + std::string(data_bytes, 'd') + "\"}";
        events.push_back(event);
      }
      Result<AppendResult> result = (*store)->append("c-" + std::to_string(i % 3), ExpectedRevision::any(), events);
      ASSERT_TRUE(result.ok()) << result.status().to_string();
      batches_.push_back(events);
    }
    ASSERT_TRUE((*store)->close().ok());
  }

  // The segment files in number order, with their groups.
  std::vector<SegmentFile> segments() {
    std::vector<SegmentFile> files;
    Result<std::vector<std::string>> names = Env::posix()->list_dir(store_dir_ + "/log");
    EXPECT_TRUE(names.ok()) << names.status().to_string();
    if (!names.ok()) return files;
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      if (!name.starts_with("segment-")) continue;
      SegmentFile file;
      file.path = store_dir_ + "/log/" + name;
      std::ifstream in(file.path, std::ios::binary);
      file.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      std::uint64_t offset = log::kSegmentHeaderSize;
      while (offset + log::kGroupHeaderSize <= file.bytes.size()) {
        auto header = log::decode_group_header(std::string_view(file.bytes).substr(offset));
        if (!header) break;
        const std::uint64_t size = log::kGroupHeaderSize + header->record_bytes;
        file.groups.push_back({offset, size});
        offset += size;
      }
      files.push_back(std::move(file));
    }
    return files;
  }

  static void overwrite(const std::string& path, std::uint64_t offset, const std::string& bytes) {
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    ASSERT_TRUE(file.is_open()) << path;
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(file.good());
  }

  static void flip_byte(const SegmentFile& segment, std::uint64_t offset) {
    ASSERT_LT(offset, segment.bytes.size());
    overwrite(segment.path, offset, std::string(1, static_cast<char>(segment.bytes[offset] ^ 0x5A)));
  }

  // Exit code and output of the CLI.
  std::pair<int, std::string> run_cli(const std::string& arguments) {
    const std::string output_path = dir_.path() + "/cli-output.txt";
    const std::string command = std::string(EVSRC_CLI_PATH) + " " + arguments + " > " + output_path + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(output_path);
    std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  // The store opens and holds exactly the first `batches` batches written.
  void expect_exactly_batches(std::size_t batches) {
    Result<std::unique_ptr<EventStore>> store = open();
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    std::vector<std::string> problems;
    Result<std::vector<RecordedEvent>> events = crash::read_whole_store(**store, &problems);
    ASSERT_TRUE(events.ok()) << events.status().to_string();
    crash::check_streams_match(**store, *events, &problems);
    for (const std::string& problem : problems) ADD_FAILURE() << problem;
    std::vector<Uuid> expected;
    for (std::size_t i = 0; i < batches; ++i) {
      for (const EventData& event : batches_[i]) expected.push_back(event.id);
    }
    std::vector<Uuid> actual;
    for (const RecordedEvent& event : *events) actual.push_back(event.id);
    EXPECT_EQ(actual, expected) << "expected the first " << batches << " of " << batches_.size() << " appends";

    // The store accepts appends after the cut, and they survive a reopen.
    EventData event;
    event.id = Uuid::random();
    event.type = "AfterRepair";
    event.data = "{}";
    Result<AppendResult> appended = (*store)->append("c-0", ExpectedRevision::any(), std::vector<EventData>{event});
    ASSERT_TRUE(appended.ok()) << appended.status().to_string();
    ASSERT_TRUE((*store)->close().ok());
    store = open();
    ASSERT_TRUE(store.ok()) << "reopen after the repair: " << store.status().to_string();
    Result<std::vector<RecordedEvent>> again = crash::read_whole_store(**store, &problems);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    ASSERT_EQ(again->size(), actual.size() + 1);
    EXPECT_EQ(again->back().id, event.id);
    EXPECT_TRUE((*store)->close().ok());
  }

  crash::TempDir dir_{"evsrc-corruption"};
  std::string store_dir_;
  std::uint64_t segment_bytes_ = 1 << 20;
  std::vector<std::vector<EventData>> batches_;
};

TEST_F(CorruptionTest, HealthyStoreVerifies) {
  write_history(10);
  auto [exit_code, output] = run_cli("verify --store file:" + store_dir_);
  EXPECT_EQ(exit_code, 0) << output;
}

TEST_F(CorruptionTest, FlippedByteInARecordMidLogFailsOpenAndVerify) {
  write_history(20);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  const SegmentFile& segment = files[0];
  ASSERT_EQ(segment.groups.size(), 20u) << "expected one group per acknowledged append";
  const Group& middle = segment.groups[10];
  const std::uint64_t offset = middle.offset + log::kGroupHeaderSize + (middle.size - log::kGroupHeaderSize) / 2;
  flip_byte(segment, offset);

  Result<std::unique_ptr<EventStore>> store = open();
  ASSERT_FALSE(store.ok()) << "a damaged record in the middle of the log was accepted";
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
  const std::string name = std::filesystem::path(segment.path).filename().string();
  EXPECT_NE(store.status().message().find(name), std::string::npos)
      << "the error should name the damaged file: " << store.status().to_string();
  EXPECT_NE(store.status().message().find("offset"), std::string::npos)
      << "the error should give the offset: " << store.status().to_string();

  auto [exit_code, output] = run_cli("verify --store file:" + store_dir_);
  EXPECT_NE(exit_code, 0) << "verify passed a damaged log:\n" << output;
  // verify reports where: the file and the offset of the damaged record.
  std::uint64_t record = middle.offset + log::kGroupHeaderSize;  // the damaged record's start
  for (;;) {
    const auto size = log::framed_record_size(std::string_view(segment.bytes).substr(record));
    ASSERT_TRUE(size.has_value());
    if (record + *size > offset) break;
    record += *size;
  }
  const std::string location = name + " at offset " + std::to_string(record);
  EXPECT_NE(output.find(location), std::string::npos) << "verify should report " << location << ":\n" << output;
  EXPECT_NE(store.status().message().find(location), std::string::npos) << store.status().to_string();

  // Opening again must not have "repaired" the damage by cutting the log.
  Result<std::unique_ptr<EventStore>> again = open();
  EXPECT_EQ(again.status().code(), ErrorCode::corruption) << again.status().to_string();
}

TEST_F(CorruptionTest, FlippedByteInAGroupHeaderMidLogFailsOpen) {
  write_history(20);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  ASSERT_GE(files[0].groups.size(), 10u);
  flip_byte(files[0], files[0].groups[5].offset + 9);  // record_count
  Result<std::unique_ptr<EventStore>> store = open();
  ASSERT_FALSE(store.ok()) << "a damaged group header in the middle of the log was accepted";
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
}

TEST_F(CorruptionTest, FlippedByteInASealedSegmentFailsOpenAndVerify) {
  segment_bytes_ = 64 << 10;  // the engine's minimum
  write_history(150, 5, 200);
  std::vector<SegmentFile> files = segments();
  ASSERT_GE(files.size(), 3u) << "expected several segments";
  // The last group of a sealed segment: a torn tail would be cut there, a
  // sealed segment must not be.
  const SegmentFile& sealed = files[1];
  ASSERT_FALSE(sealed.groups.empty());
  const Group& last = sealed.groups.back();
  flip_byte(sealed, last.offset + last.size - 3);

  Result<std::unique_ptr<EventStore>> store = open();
  ASSERT_FALSE(store.ok()) << "damage at the end of a sealed segment was cut as if it were a torn tail";
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
  EXPECT_NE(store.status().message().find(std::filesystem::path(sealed.path).filename().string()), std::string::npos)
      << store.status().to_string();
  EXPECT_NE(store.status().message().find("at offset "), std::string::npos) << store.status().to_string();
  auto [exit_code, output] = run_cli("verify --store file:" + store_dir_);
  EXPECT_NE(exit_code, 0) << output;
  EXPECT_NE(output.find(std::filesystem::path(sealed.path).filename().string() + " at offset "), std::string::npos)
      << "verify should name the file and offset:\n" << output;
}

TEST_F(CorruptionTest, FlippedByteFoundByVerifyEvenWhenOpenSkipsOldRecords) {
  write_history(20);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  ASSERT_GE(files[0].groups.size(), 10u);
  const Group& early = files[0].groups[3];
  flip_byte(files[0], early.offset + early.size - 5);
  // verify_all_on_open = false may open (only the tail is checked), but the
  // damaged event must never be served as if it were whole.
  StoreOptions quick = options();
  quick.verify_all_on_open = false;
  Result<std::unique_ptr<EventStore>> store = open_store("file:" + store_dir_, quick);
  if (store.ok()) {
    AllReadOptions all;
    all.limit = 100000;
    Result<AllPage> page = (*store)->read_all(all);
    EXPECT_FALSE(page.ok() && page->events.size() == 100u) << "read_all served a damaged record without an error";
    if (!page.ok()) {
      EXPECT_EQ(page.status().code(), ErrorCode::corruption) << page.status().to_string();
    }
    EXPECT_TRUE((*store)->close().ok());
  } else {
    EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
  }
  auto [exit_code, output] = run_cli("verify --store file:" + store_dir_);
  EXPECT_NE(exit_code, 0) << output;
}

// A torn write can only hit a group that was never acknowledged, so the
// index (written after the sync) never saw it: these tests drop the index, as
// a crash before the index reached the disk leaves it.
TEST_F(CorruptionTest, TornLastGroupIsCut) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  ASSERT_EQ(files[0].groups.size(), 10u);
  // The write of the last group reached the disk only partly.
  const Group& last = files[0].groups.back();
  const std::uint64_t kept = last.size / 3;
  overwrite(files[0].path, last.offset + kept, std::string(last.size - kept, '\0'));
  std::filesystem::remove_all(store_dir_ + "/index");
  expect_exactly_batches(9);
}

TEST_F(CorruptionTest, TruncatedFileInsideTheLastGroupIsCut) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  const Group& last = files[0].groups.back();
  std::filesystem::resize_file(files[0].path, last.offset + last.size - 7);
  std::filesystem::remove_all(store_dir_ + "/index");
  expect_exactly_batches(9);
}

// The same damage to a group the index knows was acknowledged is not a torn
// write: open refuses with corruption instead of cutting acknowledged events.
TEST_F(CorruptionTest, DamageToAnAcknowledgedLastGroupIsCorruption) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  const Group& last = files[0].groups.back();
  overwrite(files[0].path, last.offset + last.size / 2, std::string(8, '\x5a'));
  Result<std::unique_ptr<EventStore>> store = open();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
}

TEST_F(CorruptionTest, DamagedHeaderOfAnAcknowledgedLastGroupIsCorruption) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  flip_byte(files[0], files[0].groups.back().offset + 2);
  Result<std::unique_ptr<EventStore>> store = open();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::corruption) << store.status().to_string();
}

TEST_F(CorruptionTest, GarbageAfterTheLastGroupIsCut) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage.push_back(static_cast<char>(1 + (i * 37) % 250));
  overwrite(files[0].path, files[0].end(), garbage);
  expect_exactly_batches(10);
  // The garbage is gone: the new append replaced it and the log is whole.
  auto [exit_code, output] = run_cli("verify --store file:" + store_dir_);
  EXPECT_EQ(exit_code, 0) << output;
}

TEST_F(CorruptionTest, DamagedLastGroupHeaderIsATornTail) {
  write_history(10);
  std::vector<SegmentFile> files = segments();
  ASSERT_EQ(files.size(), 1u);
  flip_byte(files[0], files[0].groups.back().offset + 2);  // the magic of the last group
  std::filesystem::remove_all(store_dir_ + "/index");   // never acknowledged (see above)
  expect_exactly_batches(9);
}

}  // namespace
}  // namespace evsrc
