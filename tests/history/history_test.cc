// The concurrent workload (history_workload.h) on each backend — memory:,
// file: and file: served over HTTP to remote-store clients — with every
// operation recorded and the history checked against the store contract
// (history_checker.h). EVSRC_SOAK=N runs N times as many operations.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "evsrc/event_store.h"
#include "evsrc/remote_store.h"
#include "evsrc/server.h"
#include "history/history_checker.h"
#include "history/history_recorder.h"
#include "history/history_workload.h"

namespace evsrc::history {
namespace {

// Sanitizer builds run at -O0, where the JSON of every HTTP request and reply
// costs ~30 times more, and the workload's reads grow with the store: the
// HTTP run does a third of the operations there (the plain build does all).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

std::size_t soak_factor() {
  const char* text = std::getenv("EVSRC_SOAK");
  const int factor = text == nullptr ? 1 : std::atoi(text);
  return factor > 0 ? static_cast<std::size_t>(factor) : 1;
}

class TempDirectory {
 public:
  TempDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-history-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class Backend { memory, file, http };

std::string backend_name(Backend backend) {
  switch (backend) {
    case Backend::memory:
      return "memory";
    case Backend::file:
      return "file";
    case Backend::http:
      return "http";
  }
  return "?";
}

class ConcurrentHistory : public ::testing::TestWithParam<Backend> {};

TEST_P(ConcurrentHistory, KeepsTheStoreContract) {
  const Backend backend = GetParam();
  TempDirectory directory;
  ASSERT_FALSE(directory.path().empty());
  auto opened = open_store(backend == Backend::memory ? "memory:" : "file:" + directory.path() + "/store");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(opened).value();

  WorkloadOptions options;
  options.writer_operations *= soak_factor();
  options.reader_operations *= soak_factor();
  options.seed = static_cast<std::uint64_t>(backend) + 1;
  if (backend == Backend::http && kSanitized) {
    options.writer_operations /= 3;
    options.reader_operations /= 3;
  }

  // Over HTTP each client is a remote store of its own (its own
  // connections), all served by one in-process server.
  std::unique_ptr<Server> server;
  std::vector<std::unique_ptr<EventStore>> remotes;
  if (backend == Backend::http) {
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.worker_threads = 16;
    auto started = Server::start(*store, server_options);
    ASSERT_TRUE(started.ok()) << started.status().to_string();
    server = std::move(started).value();
    for (std::size_t client = 0; client < options.writers + options.readers; ++client) {
      auto remote = open_remote_store(server->url());
      ASSERT_TRUE(remote.ok()) << remote.status().to_string();
      remotes.push_back(std::move(remote).value());
    }
  }

  HistoryRecorder recorder;
  const auto started_at = std::chrono::steady_clock::now();
  run_workload(
      options, [&](std::size_t client) -> EventStore& { return remotes.empty() ? *store : *remotes[client]; },
      recorder);
  const auto ran_for = std::chrono::steady_clock::now() - started_at;
  for (auto& remote : remotes) EXPECT_TRUE(remote->close().ok());
  if (server) server->stop();

  const History history = recorder.history();
  const std::vector<std::string> streams = hot_streams(options.streams);
  Result<FinalState> final_state = read_final_state(*store, streams);
  ASSERT_TRUE(final_state.ok()) << final_state.status().to_string();
  const CheckReport report = check_history(history, *final_state);
  const std::size_t operations = history.writes.size() + history.stream_reads.size() + history.scans.size();
  std::cout << "[history " << backend_name(backend) << "] ops=" << operations << " " << report.summary()
            << " events=" << final_state->all.size() << " in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(ran_for).count() << " ms" << std::endl;

  EXPECT_TRUE(report.violations.empty()) << report.describe();
  // The workload did what it is for: acknowledged writes, conflicts (some
  // appends are bound to conflict), checked reads; and nothing failed
  // otherwise, since no fault is injected.
  EXPECT_GT(report.acknowledged, 0u);
  EXPECT_GT(report.conflicts, 0u);
  EXPECT_GT(report.stream_reads_checked, 0u);
  EXPECT_GT(report.pages_checked, 0u);
  EXPECT_EQ(report.failed + report.unknown + report.failed_reads, 0u) << [&] {
    std::string errors;
    for (const WriteOp& write : history.writes) {
      if (!write.error.empty() && write.outcome != Outcome::wrong_expected_revision) errors += write.error + "\n";
    }
    for (const StreamReadOp& read : history.stream_reads) {
      if (!read.error.empty()) errors += read.error + "\n";
    }
    return errors.substr(0, 4000);
  }();
  EXPECT_TRUE(store->close().ok());
}

// Whether some violation is tagged with `rule`.
::testing::AssertionResult Flags(const CheckReport& report, const std::string& rule) {
  for (const std::string& line : report.violations) {
    if (line.starts_with("[" + rule + "]")) return ::testing::AssertionSuccess() << line;
  }
  return ::testing::AssertionFailure() << "no [" << rule << "] violation in: " << report.describe();
}

// The checker on a real concurrent history, clean and then tampered with the
// way a broken store would have answered: it must pass the first and catch
// each of the others.
TEST(RealHistory, CheckerCatchesTamperedCopies) {
  auto opened = open_store("memory:");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(opened).value();
  WorkloadOptions options;
  options.writer_operations = 150;
  options.reader_operations = 100;
  options.seed = 7;
  HistoryRecorder recorder;
  run_workload(options, [&](std::size_t) -> EventStore& { return *store; }, recorder);
  const History history = recorder.history();
  const std::vector<std::string> streams = hot_streams(options.streams);
  Result<FinalState> read = read_final_state(*store, streams);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  const FinalState& final_state = *read;
  const CheckReport clean = check_history(history, final_state);
  ASSERT_TRUE(clean.violations.empty()) << clean.describe();

  {  // The store loses the last acknowledged event.
    const auto last = std::find_if(history.writes.rbegin(), history.writes.rend(), [](const WriteOp& write) {
      return write.outcome == Outcome::ok && !write.parts[0].ids.empty();
    });
    ASSERT_NE(last, history.writes.rend());
    const Uuid lost = last->parts[0].ids.back();
    FinalState tampered = final_state;
    std::erase_if(tampered.all, [&](const SeenEvent& event) { return event.id == lost; });
    std::erase_if(tampered.streams[last->parts[0].stream], [&](const SeenEvent& event) { return event.id == lost; });
    EXPECT_TRUE(Flags(check_history(history, tampered), "lost"));
  }
  {  // A head read answered from a stale copy after everything was acknowledged.
    Time end = 0;
    for (const WriteOp& write : history.writes) end = std::max(end, write.complete);
    History tampered = history;
    const auto stale = std::find_if(tampered.stream_reads.begin(), tampered.stream_reads.end(), [&](const StreamReadOp& op) {
      return op.ok && !op.absent && op.direction == Direction::backward &&
             op.last_revision + 1 < final_state.streams.at(op.stream).size();
    });
    ASSERT_NE(stale, tampered.stream_reads.end());
    stale->invoke = end + 1;
    stale->complete = end + 2;
    EXPECT_TRUE(Flags(check_history(tampered, final_state), "real-time"));
  }
  {  // A page of $all with two events swapped.
    History tampered = history;
    bool swapped = false;
    for (AllScan& scan : tampered.scans) {
      for (AllPageRead& page : scan.pages) {
        if (!swapped && page.events.size() >= 2) {
          std::swap(page.events[0], page.events[1]);
          swapped = true;
        }
      }
    }
    ASSERT_TRUE(swapped);
    EXPECT_TRUE(Flags(check_history(tampered, final_state), "prefix"));
  }
  {  // An acknowledgement that reports the wrong revision.
    History tampered = history;
    const auto acknowledged = std::find_if(tampered.writes.begin(), tampered.writes.end(), [](const WriteOp& write) {
      return write.outcome == Outcome::ok && !write.transaction && write.parts[0].first_revision > 0u;
    });
    ASSERT_NE(acknowledged, tampered.writes.end());
    *acknowledged->parts[0].first_revision -= 1;
    *acknowledged->parts[0].last_revision -= 1;
    const CheckReport report = check_history(tampered, final_state);
    EXPECT_TRUE(Flags(report, "lost"));
    EXPECT_TRUE(Flags(report, "duplicate") || Flags(report, "revisions"));
  }
  EXPECT_TRUE(store->close().ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrentHistory, ::testing::Values(Backend::memory, Backend::file, Backend::http),
                         [](const ::testing::TestParamInfo<Backend>& info) { return backend_name(info.param); });

}  // namespace
}  // namespace evsrc::history
