// SegmentSet's read-only mappings (StoreOptions::mmap_reads): which segments
// are mapped, and when.
#include "engine/segment_set.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace evsrc {
namespace {

class SegmentSetMapping : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/evsrc-segments-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string directory_;
};

TEST_F(SegmentSetMapping, MapsOnlyOnceAskedThenEveryNewSegment) {
  SegmentSet set(Env::posix(), directory_);
  Result<std::shared_ptr<const Segment>> first = set.create(0, 0, 1 << 20);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ((*first)->mapped, nullptr) << "recovery reads with pread: no mapping before map_for_readers()";
  set.map_for_readers();
  const char* mapped = set.snapshot()->at(0)->mapped;
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(std::string_view(mapped, log::kSegmentHeaderSize),
            log::encode_segment_header(log::SegmentHeader{0, 0, 1 << 20}));
  Result<std::shared_ptr<const Segment>> second = set.create(1, 10, 1 << 20);
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*second)->mapped, nullptr);
  Result<std::shared_ptr<const Segment>> small = set.create(2, 20, 64 << 10);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ((*small)->mapped, nullptr) << "segments below 1 MiB are read with pread (mappings are bounded)";
}

TEST_F(SegmentSetMapping, AFileShorterThanItsCapacityIsNotMapped) {
  {
    SegmentSet set(Env::posix(), directory_);
    Result<std::shared_ptr<const Segment>> segment = set.create(0, 0, 1 << 20);
    ASSERT_TRUE(segment.ok());
    ASSERT_TRUE((*segment)->file->truncate(8192).ok());  // damage: a read past 8 KiB would fault
  }
  SegmentSet set(Env::posix(), directory_);
  ASSERT_TRUE(set.load().ok());
  set.map_for_readers();
  ASSERT_EQ(set.snapshot()->size(), 1u);
  EXPECT_EQ(set.snapshot()->at(0)->mapped, nullptr);
}

TEST_F(SegmentSetMapping, EnvsThatDoNotMapReadWithPread) {
  std::unique_ptr<Env> memory = new_memory_env();
  ASSERT_TRUE(memory->create_dirs("/log").ok());
  SegmentSet set(memory.get(), "/log");
  ASSERT_TRUE(set.create(0, 0, 1 << 20).ok());
  set.map_for_readers();
  EXPECT_EQ(set.snapshot()->at(0)->mapped, nullptr);
}

}  // namespace
}  // namespace evsrc
