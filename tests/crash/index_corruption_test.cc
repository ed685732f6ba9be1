// A damaged index (RocksDB, derived from the log) of a closed store: every
// file of <store>/index — CURRENT, MANIFEST, OPTIONS, table files (SST),
// the (empty) WAL, IDENTITY — with a flipped byte, cut to half its size, or
// deleted; and the whole directory deleted.
//
// Contract checked: open never returns wrong data. It rebuilds the index
// from the log (the log is the truth) with a warning naming the damage, and
// then every event reads back as before the damage, through $all and
// through every stream; or it fails naming the file. `evsrc verify` on the
// damaged store reports the damaged file (exit 1) for the files RocksDB
// needs (CURRENT, MANIFEST, tables); a second verify, after the rebuild,
// passes.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "crash/crash_support.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

namespace fs = std::filesystem;

enum class Damage { flip, truncate, remove };

std::string damage_name(Damage damage) {
  switch (damage) {
    case Damage::flip:
      return "flipped byte";
    case Damage::truncate:
      return "cut to half";
    case Damage::remove:
      return "deleted";
  }
  return "?";
}

// The files RocksDB cannot open or read the index without.
bool is_essential(const std::string& name) {
  return name == "CURRENT" || name.starts_with("MANIFEST-") || name.ends_with(".sst");
}

// (id, stream, revision, position) of every event: what must survive.
using Fingerprint = std::vector<std::string>;

std::string fingerprint_of(const RecordedEvent& event) {
  return event.id.to_string() + " " + event.stream + "@" + std::to_string(event.revision) + " #" +
         std::to_string(event.position) + " " + event.type + " " + event.data;
}

class IndexCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    pristine_ = dir_.path() + "/pristine";
    // Two sessions: the index gets a table file from each close.
    for (int session = 0; session < 2; ++session) {
      Result<std::unique_ptr<EventStore>> store = open_store("file:" + pristine_, options());
      ASSERT_TRUE(store.ok()) << store.status().to_string();
      for (int i = 0; i < 40; ++i) {
        std::vector<EventData> events(1 + i % 3);
        for (EventData& event : events) {
          event.id = Uuid::random();  // client ids: the index holds them too
          event.type = "Indexed";
          event.data = "{\"session\":" + std::to_string(session) + ",\"i\":" + std::to_string(i) + "}";
        }
        ASSERT_TRUE((*store)->append("idx-" + std::to_string(i % 5), ExpectedRevision::any(), events).ok());
      }
      StreamMetadata metadata;
      metadata.custom = "{\"session\":" + std::to_string(session) + "}";
      ASSERT_TRUE((*store)->set_stream_metadata("idx-1", metadata).ok());
      ASSERT_TRUE((*store)->close().ok());
    }
    Result<std::unique_ptr<EventStore>> store = open_store("file:" + pristine_, options());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    expected_ = contents(**store, "pristine");
    ASSERT_TRUE((*store)->close().ok());
    ASSERT_FALSE(expected_.all.empty());
  }

  // Small preallocated segments: every case copies the store twice.
  static StoreOptions options() {
    StoreOptions options;
    options.segment_bytes = 1 << 20;
    return options;
  }

  struct Contents {
    Fingerprint all;
    std::map<std::string, Fingerprint> streams;
    std::map<std::string, std::string> metadata;
  };

  // Everything a reader can see: $all, and every stream through its index.
  Contents contents(EventStore& store, const std::string& context) {
    Contents contents;
    std::vector<std::string> problems;
    Result<std::vector<RecordedEvent>> all = crash::read_whole_store(store, &problems);
    EXPECT_TRUE(all.ok()) << context << ": read_all: " << all.status().to_string();
    if (!all.ok()) return contents;
    crash::check_streams_match(store, *all, &problems);
    for (const std::string& problem : problems) ADD_FAILURE() << context << ": " << problem;
    for (const RecordedEvent& event : *all) contents.all.push_back(fingerprint_of(event));
    Result<std::vector<std::string>> names = store.list_streams("", "", 1000);
    EXPECT_TRUE(names.ok()) << context << ": " << names.status().to_string();
    if (!names.ok()) return contents;
    for (const std::string& name : *names) {
      StreamReadOptions options;
      options.limit = 100000;
      Result<StreamPage> page = store.read_stream(name, options);
      EXPECT_TRUE(page.ok()) << context << ": read_stream " << name << ": " << page.status().to_string();
      if (!page.ok()) continue;
      for (const RecordedEvent& event : page->events) contents.streams[name].push_back(fingerprint_of(event));
      Result<StreamInfo> info = store.stream_info(name);
      EXPECT_TRUE(info.ok()) << context;
      if (info.ok()) contents.metadata[name] = info->metadata.custom;
    }
    return contents;
  }

  void expect_same(const Contents& actual, const std::string& context) {
    EXPECT_EQ(actual.all, expected_.all) << context << ": $all differs";
    EXPECT_EQ(actual.streams, expected_.streams) << context << ": stream reads differ";
    EXPECT_EQ(actual.metadata, expected_.metadata) << context << ": stream metadata differs";
  }

  // A copy of the pristine store at `path` with `file` (of index/) damaged.
  void damaged_copy(const std::string& path, const std::string& file, Damage damage) {
    fs::remove_all(path);
    fs::copy(pristine_, path, fs::copy_options::recursive);
    const std::string target = path + "/index/" + file;
    const std::uintmax_t size = fs::file_size(target);
    switch (damage) {
      case Damage::flip: {
        std::fstream stream(target, std::ios::binary | std::ios::in | std::ios::out);
        ASSERT_TRUE(stream.is_open()) << target;
        stream.seekg(static_cast<std::streamoff>(size / 2));
        char byte = 0;
        stream.read(&byte, 1);
        stream.seekp(static_cast<std::streamoff>(size / 2));
        byte = static_cast<char>(byte ^ 0x5A);
        stream.write(&byte, 1);
        ASSERT_TRUE(stream.good()) << target;
        break;
      }
      case Damage::truncate:
        fs::resize_file(target, size / 2);
        break;
      case Damage::remove:
        fs::remove(target);
        break;
    }
  }

  std::pair<int, std::string> run_cli(const std::string& arguments) {
    const std::string output_path = dir_.path() + "/cli-output.txt";
    const std::string command = std::string(EVSRC_CLI_PATH) + " " + arguments + " > " + output_path + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(output_path);
    std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
  }

  // Opens the damaged store in process: open rebuilds (stderr warns, naming
  // the index) and every event reads back as before; or open fails naming
  // the file. Returns true when it opened.
  bool open_and_compare(const std::string& path, const std::string& file, bool essential, const std::string& context) {
    ::testing::internal::CaptureStderr();
    Result<std::unique_ptr<EventStore>> store = open_store("file:" + path, options());
    const std::string warnings = ::testing::internal::GetCapturedStderr();
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find(file), std::string::npos)
          << context << ": open failed without naming the file: " << store.status().to_string();
      return false;
    }
    if (essential) {
      EXPECT_NE(warnings.find("evsrc: warning: the index " + path + "/index is damaged"), std::string::npos)
          << context << ": no warning about the rebuilt index; stderr: " << warnings;
    }
    if (!warnings.empty()) warnings_[context] = warnings;
    expect_same(contents(**store, context), context);
    // The rebuilt index serves writes too, and survives a reopen.
    EventData event;
    event.type = "AfterRebuild";
    event.data = "{}";
    EXPECT_TRUE((*store)->append("idx-0", ExpectedRevision::any(), std::vector<EventData>{event}).ok()) << context;
    EXPECT_TRUE((*store)->close().ok()) << context;
    return true;
  }

  crash::TempDir dir_{"evsrc-index-corruption"};
  std::string pristine_;
  Contents expected_;
  std::map<std::string, std::string> warnings_;
};

TEST_F(IndexCorruptionTest, EveryIndexFileDamagedEveryWay) {
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(pristine_ + "/index")) {
    const std::string name = entry.path().filename().string();
    // LOCK is RocksDB's lock file and LOG its text log: neither is read.
    if (name == "LOCK" || name.starts_with("LOG")) continue;
    files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  std::size_t tables = 0;
  for (const std::string& name : files) tables += name.ends_with(".sst") ? 1 : 0;
  ASSERT_GE(tables, 1u) << "the index has no table file to damage";

  std::size_t points = 0;
  std::size_t rebuilt = 0;
  std::size_t detected_by_verify = 0;
  for (const std::string& file : files) {
    for (Damage damage : {Damage::flip, Damage::truncate, Damage::remove}) {
      if (damage != Damage::remove && fs::file_size(pristine_ + "/index/" + file) == 0) continue;
      ++points;
      const bool essential = is_essential(file);
      const std::string context = "index/" + file + " " + damage_name(damage);

      // evsrc verify reports the damage, naming the file.
      const std::string verify_copy = dir_.path() + "/verify";
      damaged_copy(verify_copy, file, damage);
      auto [exit_code, output] = run_cli("verify --store file:" + verify_copy);
      if (essential) {
        EXPECT_EQ(exit_code, 1) << context << ": verify did not report the damage:\n" << output;
        EXPECT_NE(output.find("\"index\":\"damaged, rebuilt from the log\""), std::string::npos) << context << ":\n"
                                                                                                 << output;
        // A deleted CURRENT is reported as the missing CURRENT; other damage
        // names the file RocksDB found damaged or missing.
        // (A missing table is looked for under its other suffix, .ldb, too:
        // the report names its number.)
        const std::string named =
            file == "CURRENT" && damage != Damage::remove ? std::string("MANIFEST") : fs::path(file).stem().string();
        EXPECT_TRUE(output.find(named) != std::string::npos || output.find(file) != std::string::npos)
            << context << ": verify's report should name the file:\n"
            << output;
      }
      if (exit_code == 1) ++detected_by_verify;
      // The verify's open rebuilt the index: a second verify passes (checked
      // for one kind of damage per file, to keep the test short).
      if (damage == Damage::remove) {
        auto [second_exit, second_output] = run_cli("verify --store file:" + verify_copy);
        EXPECT_EQ(second_exit, 0) << context << ": verify after the rebuild:\n" << second_output;
      }

      // In process: open rebuilds, and nothing differs.
      const std::string open_copy = dir_.path() + "/open";
      damaged_copy(open_copy, file, damage);
      if (open_and_compare(open_copy, file, essential, context)) ++rebuilt;
      if (HasFailure()) {
        dir_.keep();
        return;
      }
    }
  }
  for (const auto& [context, warning] : warnings_) std::cout << context << ": " << warning;
  std::cout << "fault points: " << points << " (" << files.size() << " index files x flip/cut/delete); open "
            << "served the original events in " << rebuilt << ", verify reported the damage in " << detected_by_verify
            << " (every damaged CURRENT, MANIFEST and table file)" << std::endl;
  EXPECT_EQ(rebuilt, points) << "open should rebuild rather than fail";
}

TEST_F(IndexCorruptionTest, DeletedIndexDirectoryIsRebuilt) {
  const std::string copy = dir_.path() + "/no-index";
  fs::copy(pristine_, copy, fs::copy_options::recursive);
  fs::remove_all(copy + "/index");
  auto [exit_code, output] = run_cli("verify --store file:" + copy);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find("index"), std::string::npos) << output;
  fs::remove_all(copy + "/index");
  Result<std::unique_ptr<EventStore>> store = open_store("file:" + copy, options());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  expect_same(contents(**store, "index deleted"), "index deleted");
  EXPECT_TRUE((*store)->close().ok());
}

// An index written by another build's layout (its checkpoint "c" starts with
// the layout version) is not damage, and is never read as this layout: open
// rebuilds it from the log, saying why, and serves the same events.
TEST_F(IndexCorruptionTest, IndexOfAnotherLayoutIsRebuilt) {
  const std::string copy = dir_.path() + "/old-layout";
  fs::copy(pristine_, copy, fs::copy_options::recursive);
  {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options options;
    ASSERT_TRUE(rocksdb::DB::Open(options, copy + "/index", &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string checkpoint;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "c", &checkpoint).ok());
    ASSERT_GE(checkpoint.size(), 4u);
    checkpoint[0] = 1;  // layout 1, little-endian
    checkpoint[1] = checkpoint[2] = checkpoint[3] = 0;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "c", checkpoint).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  ::testing::internal::CaptureStderr();
  Result<std::unique_ptr<EventStore>> store = open_store("file:" + copy, options());
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_NE(warnings.find("evsrc: warning: the index " + copy + "/index has another layout (index layout version 1"),
            std::string::npos)
      << warnings;
  expect_same(contents(**store, "old layout"), "old layout");
  EXPECT_TRUE((*store)->close().ok());
}

// With verify_all_on_open off, open does not read every index block: a
// flipped byte in a table file may go unnoticed until a read needs that
// block. Such a read must fail with corruption naming the file, never
// return other data.
TEST_F(IndexCorruptionTest, QuickOpenNeverServesWrongDataFromADamagedTable) {
  std::vector<std::string> tables;
  for (const fs::directory_entry& entry : fs::directory_iterator(pristine_ + "/index")) {
    if (entry.path().extension() == ".sst") tables.push_back(entry.path().filename().string());
  }
  ASSERT_FALSE(tables.empty());
  std::size_t reads_failed = 0;
  for (const std::string& table : tables) {
    const std::string copy = dir_.path() + "/quick";
    damaged_copy(copy, table, Damage::flip);
    StoreOptions quick = options();
    quick.verify_all_on_open = false;
    ::testing::internal::CaptureStderr();
    Result<std::unique_ptr<EventStore>> store = open_store("file:" + copy, quick);
    (void)::testing::internal::GetCapturedStderr();
    if (!store.ok()) {
      EXPECT_NE(store.status().message().find(table), std::string::npos) << store.status().to_string();
      continue;
    }
    Result<std::vector<std::string>> names = (*store)->list_streams("", "", 1000);
    const auto check = [&](const Status& status) {
      ++reads_failed;
      EXPECT_EQ(status.code(), ErrorCode::corruption) << status.to_string();
      EXPECT_NE(status.message().find(table), std::string::npos) << status.to_string();
    };
    if (!names.ok()) {
      check(names.status());
    } else {
      for (const auto& [stream, events] : expected_.streams) {
        StreamReadOptions options;
        options.limit = 100000;
        Result<StreamPage> page = (*store)->read_stream(stream, options);
        if (!page.ok()) {
          check(page.status());
          continue;
        }
        Fingerprint actual;
        for (const RecordedEvent& event : page->events) actual.push_back(fingerprint_of(event));
        EXPECT_EQ(actual, events) << table << ": read_stream " << stream << " returned other data";
      }
    }
    // RocksDB may also have met the damage in the background (a compaction):
    // close then reports it instead of flushing.
    const Status closed = (*store)->close();
    if (!closed.ok()) {
      std::cout << table << ": close: " << closed.to_string() << std::endl;
      EXPECT_EQ(closed.code(), ErrorCode::corruption) << closed.to_string();
    }
  }
  std::cout << "damaged tables: " << tables.size() << ", reads that reported corruption: " << reads_failed << std::endl;
}

}  // namespace
}  // namespace evsrc
