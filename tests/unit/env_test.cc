// Tests of new_memory_env(), FaultInjectionEnv and the mapping of Env::posix().
#include "evsrc/env.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/fault_injection_env.h"

namespace evsrc {
namespace {

std::string read_all(Env& env, const std::string& path) {
  Result<std::unique_ptr<File>> file = env.open_file(path, Env::OpenMode::read_only);
  if (!file.ok()) return "<" + file.status().to_string() + ">";
  Result<std::uint64_t> size = (*file)->size();
  EXPECT_TRUE(size.ok());
  std::string bytes(*size, '\0');
  std::size_t got = 0;
  EXPECT_TRUE((*file)->read_at(0, bytes.size(), bytes.data(), &got).ok());
  bytes.resize(got);
  return bytes;
}

std::unique_ptr<File> open_or_die(Env& env, const std::string& path, Env::OpenMode mode = Env::OpenMode::create) {
  Result<std::unique_ptr<File>> file = env.open_file(path, mode);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  return file.ok() ? std::move(*file) : nullptr;
}

std::vector<std::string> names(Env& env, const std::string& dir) {
  Result<std::vector<std::string>> list = env.list_dir(dir);
  EXPECT_TRUE(list.ok()) << list.status().to_string();
  if (!list.ok()) return {};
  std::sort(list->begin(), list->end());
  return *list;
}

// ---- posix env: read-only mappings ----------------------------------------

// A mapping shows what was written, before and after it was made (one page
// cache), survives close(), and is refused for what cannot be mapped.
TEST(PosixEnvMapping, ShowsWritesAndOutlivesClose) {
  char pattern[] = "/tmp/evsrc-env-map-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string path = std::string(pattern) + "/segment";
  Env* env = Env::posix();
  std::unique_ptr<File> file = open_or_die(*env, path);
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->allocate(1 << 16).ok());
  ASSERT_TRUE(file->write_at(100, "before").ok());
  const char* mapped = file->map_read_only(1 << 16);
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(std::string_view(mapped + 100, 6), "before");
  ASSERT_TRUE(file->write_at(40000, "after").ok());
  EXPECT_EQ(std::string_view(mapped + 40000, 5), "after");
  EXPECT_EQ(file->map_read_only(1 << 16), mapped) << "one mapping per file";
  EXPECT_EQ(file->map_read_only(1 << 17), nullptr) << "no second, larger mapping";
  ASSERT_TRUE(file->close().ok());
  EXPECT_EQ(std::string_view(mapped + 100, 6), "before") << "close() keeps the mapping";
  file.reset();
  std::filesystem::remove_all(pattern);
}

TEST(PosixEnvMapping, EnvsWithoutMappingsSayNo) {
  std::unique_ptr<Env> memory = new_memory_env();
  std::unique_ptr<File> file = open_or_die(*memory, "/f");
  ASSERT_TRUE(file->write_at(0, "bytes").ok());
  EXPECT_EQ(file->map_read_only(5), nullptr);
  FaultInjectionEnv faults(memory.get());
  std::unique_ptr<File> wrapped = open_or_die(faults, "/g");
  ASSERT_TRUE(wrapped->write_at(0, "bytes").ok());
  EXPECT_EQ(wrapped->map_read_only(5), nullptr) << "faults are injected into read_at, so no mapping";
}

// ---- memory env ------------------------------------------------------------

TEST(MemoryEnv, WriteReadAtOffsetsAndGrowWithZeros) {
  auto env = new_memory_env();
  EXPECT_TRUE(env->in_memory());
  ASSERT_TRUE(env->create_dirs("/db").ok());
  auto file = open_or_die(*env, "/db/a");
  ASSERT_TRUE(file->write_at(0, "hello").ok());
  ASSERT_TRUE(file->write_at(8, "xy").ok());
  EXPECT_EQ(*file->size(), 10u);
  EXPECT_EQ(read_all(*env, "/db/a"), std::string("hello\0\0\0xy", 10));

  char buffer[16];
  std::size_t got = 99;
  ASSERT_TRUE(file->read_at(8, sizeof buffer, buffer, &got).ok());
  EXPECT_EQ(got, 2u);
  ASSERT_TRUE(file->read_at(100, sizeof buffer, buffer, &got).ok());
  EXPECT_EQ(got, 0u);

  ASSERT_TRUE(file->allocate(16).ok());
  EXPECT_EQ(*file->size(), 16u);
  ASSERT_TRUE(file->allocate(4).ok());  // never shrinks
  EXPECT_EQ(*file->size(), 16u);
  ASSERT_TRUE(file->truncate(3).ok());
  EXPECT_EQ(read_all(*env, "/db/a"), "hel");
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(file->close().ok());
  EXPECT_FALSE(file->write_at(0, "x").ok());
}

TEST(MemoryEnv, OpenModesAndMissingParents) {
  auto env = new_memory_env();
  EXPECT_EQ(env->open_file("/x/a", Env::OpenMode::create).status().code(), ErrorCode::not_found);
  ASSERT_TRUE(env->create_dirs("/x/y/z").ok());
  EXPECT_TRUE(env->file_exists("/x/y"));
  EXPECT_EQ(env->open_file("/x/a", Env::OpenMode::read_write).status().code(), ErrorCode::not_found);
  EXPECT_EQ(env->open_file("/x/a", Env::OpenMode::read_only).status().code(), ErrorCode::not_found);
  auto created = open_or_die(*env, "/x/a");
  ASSERT_TRUE(created->write_at(0, "abc").ok());
  auto reader = open_or_die(*env, "/x/a", Env::OpenMode::read_only);
  EXPECT_FALSE(reader->write_at(0, "z").ok());
  EXPECT_EQ(*reader->size(), 3u);
  // Opening with create keeps existing content.
  auto again = open_or_die(*env, "/x/a");
  EXPECT_EQ(*again->size(), 3u);
  EXPECT_FALSE(env->open_file("/x/y", Env::OpenMode::read_only).ok());
  EXPECT_FALSE(env->create_dirs("/x/a/b").ok());
}

TEST(MemoryEnv, PathsAreNormalized) {
  auto env = new_memory_env();
  ASSERT_TRUE(env->create_dirs("db//log/").ok());
  auto file = open_or_die(*env, "./db/log/../log/seg");
  ASSERT_TRUE(file->write_at(0, "1").ok());
  EXPECT_TRUE(env->file_exists("db/log/seg"));
  EXPECT_EQ(names(*env, "db/log/"), std::vector<std::string>{"seg"});
  EXPECT_EQ(names(*env, "."), std::vector<std::string>{"db"});
  EXPECT_FALSE(env->file_exists("/db/log/seg"));  // absolute and relative differ
}

TEST(MemoryEnv, ListDirShowsDirectChildrenOnly) {
  auto env = new_memory_env();
  ASSERT_TRUE(env->create_dirs("/s/log").ok());
  ASSERT_TRUE(env->create_dirs("/s2").ok());
  open_or_die(*env, "/s/a");
  open_or_die(*env, "/s/log/b");
  open_or_die(*env, "/s2/c");
  EXPECT_EQ(names(*env, "/s"), (std::vector<std::string>{"a", "log"}));
  EXPECT_EQ(names(*env, "/s/log"), std::vector<std::string>{"b"});
  EXPECT_EQ(names(*env, "/"), (std::vector<std::string>{"s", "s2"}));
  EXPECT_EQ(env->list_dir("/nope").status().code(), ErrorCode::not_found);
  EXPECT_FALSE(env->list_dir("/s/a").ok());
}

TEST(MemoryEnv, RenameReplacesAndOpenHandlesFollowTheData) {
  auto env = new_memory_env();
  ASSERT_TRUE(env->create_dirs("/d").ok());
  auto a = open_or_die(*env, "/d/a");
  ASSERT_TRUE(a->write_at(0, "new").ok());
  open_or_die(*env, "/d/b")->write_at(0, "old-content").ok();
  ASSERT_TRUE(env->rename_file("/d/a", "/d/b").ok());
  EXPECT_FALSE(env->file_exists("/d/a"));
  EXPECT_EQ(read_all(*env, "/d/b"), "new");
  ASSERT_TRUE(a->write_at(3, "!").ok());  // the handle still writes the renamed file
  EXPECT_EQ(read_all(*env, "/d/b"), "new!");
  EXPECT_EQ(env->rename_file("/d/missing", "/d/c").code(), ErrorCode::not_found);
  EXPECT_FALSE(env->rename_file("/d/b", "/nodir/c").ok());

  ASSERT_TRUE(env->remove_file("/d/b").ok());
  EXPECT_FALSE(env->file_exists("/d/b"));
  EXPECT_EQ(env->remove_file("/d/b").code(), ErrorCode::not_found);
  EXPECT_TRUE(names(*env, "/d").empty());
  ASSERT_TRUE(env->sync_dir("/d").ok());
  EXPECT_EQ(env->sync_dir("/e").code(), ErrorCode::not_found);
}

TEST(MemoryEnv, LockIsExclusiveUntilReleased) {
  auto env = new_memory_env();
  ASSERT_TRUE(env->create_dirs("/s").ok());
  auto lock = env->lock_file("/s/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(env->file_exists("/s/LOCK"));
  auto second = env->lock_file("/s/LOCK");
  EXPECT_EQ(second.status().code(), ErrorCode::io_error);
  EXPECT_TRUE(env->lock_file("/s/OTHER").ok());
  lock->reset();
  EXPECT_TRUE(env->lock_file("/s/LOCK").ok());
}

TEST(MemoryEnv, EnvsAreIndependent) {
  auto one = new_memory_env();
  auto two = new_memory_env();
  ASSERT_TRUE(one->create_dirs("/a").ok());
  EXPECT_FALSE(two->file_exists("/a"));
}

TEST(MemoryEnv, ConcurrentReadersAndWritersOnSeparateFiles) {
  auto env = new_memory_env();
  ASSERT_TRUE(env->create_dirs("/c").ok());
  constexpr int kThreads = 4;
  constexpr int kWrites = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string path = "/c/f" + std::to_string(t);
      auto file = env->open_file(path, Env::OpenMode::create);
      ASSERT_TRUE(file.ok());
      for (int i = 0; i < kWrites; ++i) {
        ASSERT_TRUE((*file)->write_at(static_cast<std::uint64_t>(i) * 4, "abcd").ok());
        char buffer[4];
        std::size_t got = 0;
        ASSERT_TRUE((*file)->read_at(static_cast<std::uint64_t>(i) * 4, 4, buffer, &got).ok());
        ASSERT_EQ(std::string(buffer, got), "abcd");
        (void)env->list_dir("/c");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(names(*env, "/c").size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(read_all(*env, "/c/f0").size(), static_cast<std::size_t>(kWrites) * 4);
}

// ---- fault injection env: power loss -----------------------------------------

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fault_.create_dirs("/db/log").ok()); }

  // A file whose content and directory entry are durable.
  void make_durable(const std::string& path, const std::string& bytes) {
    auto file = open_or_die(fault_, path);
    ASSERT_TRUE(file->write_at(0, bytes).ok());
    ASSERT_TRUE(file->sync().ok());
    ASSERT_TRUE(file->close().ok());
    ASSERT_TRUE(fault_.sync_dir(path.substr(0, path.rfind('/'))).ok());
  }

  std::unique_ptr<Env> base_ = new_memory_env();
  FaultInjectionEnv fault_{base_.get()};
};

TEST_F(FaultEnvTest, DropRestoresExactlyTheSyncedImage) {
  make_durable("/db/log/seg", "0123456789");
  auto file = open_or_die(fault_, "/db/log/seg", Env::OpenMode::read_write);
  ASSERT_TRUE(file->write_at(2, "AB").ok());    // below the synced size
  ASSERT_TRUE(file->write_at(8, "CDEF").ok());  // straddles the end
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(file->write_at(0, "zz").ok());            // unsynced overwrite
  ASSERT_TRUE(file->write_at(4, "yyyyyyyyyyyy").ok());  // unsynced, overlapping, growing
  ASSERT_TRUE(file->write_at(5, "x").ok());             // overwrite of an unsynced overwrite
  ASSERT_TRUE(file->allocate(64).ok());
  EXPECT_GT(fault_.unsynced_bytes(), 0u);
  EXPECT_EQ(fault_.unsynced_dir_entries(), 0u);
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/log/seg"), "01AB4567CDEF");
  EXPECT_EQ(fault_.unsynced_bytes(), 0u);
}

TEST_F(FaultEnvTest, DropUndoesUnsyncedTruncateAndAllocate) {
  make_durable("/db/log/seg", "abcdefghij");
  auto file = open_or_die(fault_, "/db/log/seg", Env::OpenMode::read_write);
  ASSERT_TRUE(file->truncate(3).ok());
  ASSERT_TRUE(file->write_at(6, "ZZ").ok());  // past the cut: leaves a zero hole
  ASSERT_TRUE(file->truncate(1).ok());
  ASSERT_TRUE(file->allocate(1 << 16).ok());
  ASSERT_TRUE(file->write_at(1000, "tail").ok());
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/log/seg"), "abcdefghij");
}

TEST_F(FaultEnvTest, PreallocatedAndSyncedThenOverwrittenIsRestoredToZeros) {
  // The log engine's pattern: preallocate, sync, then write records in place.
  auto file = open_or_die(fault_, "/db/log/seg");
  ASSERT_TRUE(file->allocate(4096).ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(fault_.sync_dir("/db/log").ok());
  ASSERT_TRUE(file->write_at(0, "record-1").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(file->write_at(8, "record-2").ok());
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  const std::string image = read_all(*base_, "/db/log/seg");
  ASSERT_EQ(image.size(), 4096u);
  EXPECT_EQ(image.substr(0, 8), "record-1");
  EXPECT_EQ(image.substr(8), std::string(4096 - 8, '\0'));
}

TEST_F(FaultEnvTest, UnsyncedNewFilesVanishEvenWithSyncedData) {
  make_durable("/db/CURRENT", "1");
  auto file = open_or_die(fault_, "/db/log/new");
  ASSERT_TRUE(file->write_at(0, "data").ok());
  ASSERT_TRUE(file->sync().ok());  // data synced, directory entry not
  auto other = open_or_die(fault_, "/db/other");
  EXPECT_EQ(fault_.unsynced_dir_entries(), 2u);
  ASSERT_TRUE(fault_.sync_dir("/db").ok());  // makes /db/other durable, not /db/log/new
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_FALSE(base_->file_exists("/db/log/new"));
  EXPECT_TRUE(base_->file_exists("/db/other"));
  EXPECT_EQ(read_all(*base_, "/db/other"), "");
  EXPECT_EQ(read_all(*base_, "/db/CURRENT"), "1");
}

TEST_F(FaultEnvTest, NewFileWithSyncedEntryKeepsOnlySyncedBytes) {
  auto file = open_or_die(fault_, "/db/log/seg");
  ASSERT_TRUE(fault_.sync_dir("/db/log").ok());
  ASSERT_TRUE(file->write_at(0, "synced").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(file->write_at(6, "-lost").ok());
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/log/seg"), "synced");
}

TEST_F(FaultEnvTest, UnsyncedRenameAndRemoveAreUndone) {
  make_durable("/db/MANIFEST", "old manifest");
  make_durable("/db/log/seg-1", "segment one");
  // Write-temp-then-rename, without syncing the directory.
  auto temp = open_or_die(fault_, "/db/MANIFEST.tmp");
  ASSERT_TRUE(temp->write_at(0, "new manifest").ok());
  ASSERT_TRUE(temp->sync().ok());
  ASSERT_TRUE(fault_.rename_file("/db/MANIFEST.tmp", "/db/MANIFEST").ok());
  ASSERT_TRUE(fault_.remove_file("/db/log/seg-1").ok());
  EXPECT_EQ(read_all(*base_, "/db/MANIFEST"), "new manifest");
  EXPECT_FALSE(base_->file_exists("/db/log/seg-1"));

  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/MANIFEST"), "old manifest");
  EXPECT_FALSE(base_->file_exists("/db/MANIFEST.tmp"));  // its creation was never synced either
  EXPECT_EQ(read_all(*base_, "/db/log/seg-1"), "segment one");
}

TEST_F(FaultEnvTest, SyncedRenameSurvives) {
  make_durable("/db/MANIFEST", "old");
  auto temp = open_or_die(fault_, "/db/MANIFEST.tmp");
  ASSERT_TRUE(temp->write_at(0, "new").ok());
  ASSERT_TRUE(temp->sync().ok());
  ASSERT_TRUE(fault_.rename_file("/db/MANIFEST.tmp", "/db/MANIFEST").ok());
  ASSERT_TRUE(fault_.sync_dir("/db").ok());
  ASSERT_TRUE(temp->write_at(3, " and unsynced").ok());  // through the old handle, now /db/MANIFEST
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/MANIFEST"), "new");
  EXPECT_FALSE(base_->file_exists("/db/MANIFEST.tmp"));
}

TEST_F(FaultEnvTest, RenamedFileWithUnsyncedDataGoesBackUnderItsOldName) {
  make_durable("/db/a", "durable");
  auto file = open_or_die(fault_, "/db/a", Env::OpenMode::read_write);
  ASSERT_TRUE(file->write_at(0, "CHANGED").ok());
  ASSERT_TRUE(fault_.rename_file("/db/a", "/db/b").ok());
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_FALSE(base_->file_exists("/db/b"));
  EXPECT_EQ(read_all(*base_, "/db/a"), "durable");
}

TEST_F(FaultEnvTest, HandlesFromBeforeAPowerLossAreStale) {
  make_durable("/db/a", "x");
  auto file = open_or_die(fault_, "/db/a", Env::OpenMode::read_write);
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(file->write_at(0, "y").code(), ErrorCode::io_error);
  auto fresh = open_or_die(fault_, "/db/a", Env::OpenMode::read_write);
  EXPECT_TRUE(fresh->write_at(0, "y").ok());
}

TEST_F(FaultEnvTest, ReadsSeeUnsyncedDataBeforeTheDrop) {
  auto file = open_or_die(fault_, "/db/a");
  ASSERT_TRUE(file->write_at(0, "visible").ok());
  EXPECT_EQ(read_all(fault_, "/db/a"), "visible");
  EXPECT_EQ(names(fault_, "/db"), (std::vector<std::string>{"a", "log"}));
  EXPECT_FALSE(fault_.in_memory() != base_->in_memory());
}

// ---- fault injection env: faults and counters --------------------------------

TEST_F(FaultEnvTest, FailNthWriteOfAKind) {
  auto file = open_or_die(fault_, "/db/a");
  fault_.fail_nth(EnvOp::write, 1);
  EXPECT_TRUE(file->write_at(0, "one").ok());
  Status failed = file->write_at(3, "two");
  EXPECT_EQ(failed.code(), ErrorCode::io_error);
  EXPECT_NE(failed.message().find("EIO"), std::string::npos) << failed.message();
  EXPECT_TRUE(file->write_at(3, "three").ok());  // a rule fires once
  EXPECT_TRUE(file->sync().ok());
  EXPECT_EQ(read_all(*base_, "/db/a"), "onethree");
  EXPECT_EQ(fault_.injected_faults(), 1u);
}

TEST_F(FaultEnvTest, FailedSyncKeepsDataUnsynced) {
  make_durable("/db/a", "base");
  auto file = open_or_die(fault_, "/db/a", Env::OpenMode::read_write);
  ASSERT_TRUE(file->write_at(4, "+more").ok());
  fault_.fail_nth(EnvOp::sync, 0, FaultKind::no_space);
  Status failed = file->sync();
  EXPECT_EQ(failed.code(), ErrorCode::io_error);
  EXPECT_NE(failed.message().find("no space left on device"), std::string::npos);
  ASSERT_TRUE(fault_.drop_unsynced_data().ok());
  EXPECT_EQ(read_all(*base_, "/db/a"), "base");
}

TEST_F(FaultEnvTest, ShortWriteWritesHalfThenFails) {
  auto file = open_or_die(fault_, "/db/a");
  fault_.fail_nth(EnvOp::write, 0, FaultKind::short_write);
  EXPECT_EQ(file->write_at(0, "12345678").code(), ErrorCode::io_error);
  EXPECT_EQ(read_all(*base_, "/db/a"), "1234");
}

TEST_F(FaultEnvTest, FailedAllocateAndTruncateChangeNothing) {
  auto file = open_or_die(fault_, "/db/a");
  ASSERT_TRUE(file->write_at(0, "abc").ok());
  fault_.fail_nth(EnvOp::allocate, 0, FaultKind::no_space);
  fault_.fail_nth(EnvOp::truncate, 0);
  EXPECT_FALSE(file->allocate(100).ok());
  EXPECT_FALSE(file->truncate(1).ok());
  EXPECT_EQ(*file->size(), 3u);
}

TEST_F(FaultEnvTest, CountdownKillsTheDiskUntilReset) {
  auto file = open_or_die(fault_, "/db/a");
  fault_.fail_after(2);
  EXPECT_TRUE(file->write_at(0, "a").ok());
  EXPECT_TRUE(file->sync().ok());
  EXPECT_FALSE(file->write_at(1, "b").ok());
  EXPECT_FALSE(file->sync().ok());
  EXPECT_FALSE(fault_.rename_file("/db/a", "/db/b").ok());
  EXPECT_FALSE(fault_.open_file("/db/c", Env::OpenMode::create).ok());
  EXPECT_FALSE(fault_.sync_dir("/db").ok());
  EXPECT_TRUE(fault_.list_dir("/db").ok());  // reads still work unless asked
  char c;
  std::size_t got = 0;
  EXPECT_TRUE(file->read_at(0, 1, &c, &got).ok());
  fault_.fail_after(0, FaultKind::io_error, /*fail_reads=*/true);
  EXPECT_FALSE(fault_.list_dir("/db").ok());
  EXPECT_FALSE(file->read_at(0, 1, &c, &got).ok());
  fault_.reset();
  EXPECT_TRUE(file->write_at(1, "b").ok());
  EXPECT_TRUE(fault_.list_dir("/db").ok());
}

TEST_F(FaultEnvTest, CountersAndFailNthMutationEnumerateSteps) {
  // A "commit" of four steps: create, write, sync, sync_dir.
  auto commit = [&](const std::string& name) -> Status {
    auto file = fault_.open_file("/db/log/" + name, Env::OpenMode::create);
    if (!file.ok()) return file.status();
    if (Status s = (*file)->write_at(0, "payload"); !s.ok()) return s;
    if (Status s = (*file)->sync(); !s.ok()) return s;
    return fault_.sync_dir("/db/log");
  };
  fault_.reset_counters();
  ASSERT_TRUE(commit("probe").ok());
  const std::uint64_t steps = fault_.mutation_count();
  EXPECT_EQ(steps, 4u);
  EXPECT_EQ(fault_.count(EnvOp::create), 1u);
  EXPECT_EQ(fault_.count(EnvOp::write), 1u);
  EXPECT_EQ(fault_.count(EnvOp::sync), 1u);
  EXPECT_EQ(fault_.count(EnvOp::sync_dir), 1u);

  for (std::uint64_t k = 0; k < steps; ++k) {
    const std::string name = "c" + std::to_string(k);
    fault_.fail_nth_mutation(k);
    EXPECT_FALSE(commit(name).ok()) << "step " << k;
    ASSERT_TRUE(fault_.drop_unsynced_data().ok());
    // A commit that failed before its directory sync leaves no file behind.
    EXPECT_FALSE(base_->file_exists("/db/log/" + name)) << "step " << k;
  }
  EXPECT_EQ(fault_.injected_faults(), steps);
  EXPECT_TRUE(base_->file_exists("/db/log/probe"));
}

TEST_F(FaultEnvTest, ObserverSeesEveryOperation) {
  std::vector<std::string> seen;
  fault_.set_observer(
      [&](EnvOp op, const std::string& path) { seen.push_back(std::string(env_op_name(op)) + " " + path); });
  auto file = open_or_die(fault_, "/db/a");
  ASSERT_TRUE(file->write_at(0, "x").ok());
  ASSERT_TRUE(file->sync().ok());
  ASSERT_TRUE(fault_.rename_file("/db/a", "/db/b").ok());
  ASSERT_TRUE(file->write_at(1, "y").ok());
  ASSERT_TRUE(file->close().ok());
  fault_.set_observer(nullptr);
  ASSERT_TRUE(fault_.sync_dir("/db").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"create /db/a", "write /db/a", "sync /db/a", "rename /db/a", "write /db/b",
                                            "close /db/b"}));
}

TEST(FaultEnvConcurrency, ParallelWritersAndFaultsAreThreadSafe) {
  auto base = new_memory_env();
  FaultInjectionEnv fault(base.get());
  ASSERT_TRUE(fault.create_dirs("/p").ok());
  std::atomic<int> failures{0};
  fault.fail_nth(EnvOp::write, 50);
  fault.fail_nth(EnvOp::sync, 10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto file = fault.open_file("/p/f" + std::to_string(t), Env::OpenMode::create);
      ASSERT_TRUE(file.ok());
      for (int i = 0; i < 100; ++i) {
        if (!(*file)->write_at(static_cast<std::uint64_t>(i), "x").ok()) ++failures;
        if (i % 10 == 0 && !(*file)->sync().ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 2);
  EXPECT_EQ(fault.count(EnvOp::write), 400u);
  EXPECT_EQ(fault.count(EnvOp::sync), 40u);
}

}  // namespace
}  // namespace evsrc
