// evsrc bench: a tiny run checks the output contract, not the speed.
#include <gtest/gtest.h>

#include "cli/cli_runner.h"

namespace evsrc::cli_test {
namespace {

// Every workload in the order of `evsrc bench --help`; the appends (a, b, b2,
// c, f, g) also have the fsync ceiling; with the SQLite baseline each line has
// its SQLite counterpart and ratio, without it those fields are null.
void expect_bench_json(const CliResult& result, bool with_sqlite) {
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  const std::vector<std::string> order = {"a", "b", "b2", "c", "d", "d2", "e", "e2", "f", "g", "h"};
  ASSERT_EQ(lines.size(), order.size()) << result.out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Json& line = lines[i];
    const std::string& name = order[i];
    EXPECT_EQ(line["workload"], name);
    for (const char* field : {"events_per_s", "ceiling_events_per_s", "ratio", "p50_us", "p99_us", "sqlite_ratio"}) {
      EXPECT_TRUE(line.contains(field)) << name << " " << field;
    }
    EXPECT_GT(line["events_per_s"].get<double>(), 0) << line.dump();
    const bool append = name == "a" || name == "b" || name == "b2" || name == "c" || name == "f" || name == "g";
    if (append) {
      EXPECT_GT(line["ceiling_events_per_s"].get<double>(), 0) << line.dump();
      EXPECT_TRUE(line["ratio"].is_number()) << line.dump();
    } else {
      EXPECT_TRUE(line["ceiling_events_per_s"].is_null()) << line.dump();
      EXPECT_TRUE(line["ratio"].is_null()) << line.dump();
    }
    if (with_sqlite) {
      EXPECT_GT(line["sqlite_events_per_s"].get<double>(), 0) << line.dump();
      EXPECT_TRUE(line["sqlite_ratio"].is_number()) << line.dump();
    } else {
      EXPECT_TRUE(line["sqlite_events_per_s"].is_null()) << line.dump();
      EXPECT_TRUE(line["sqlite_ratio"].is_null()) << line.dump();
    }
  }
}

const std::vector<std::string> kTinyRun = {
    "bench", "--json", "--seconds", "0.2", "--events", "20000", "--ceiling-file-mib", "8", "--writers", "8"};

TEST(CliBench, JsonHasOneLinePerWorkloadInOrderOnMemory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string(), "--store-uri", "memory:", "--no-sqlite"});
  expect_bench_json(run_cli(args), false);
  // The scratch directory is removed afterwards.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(CliBench, MediansOverRunsOnMemory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string(), "--store-uri", "memory:", "--runs", "3", "--no-sqlite"});
  const auto result = run_cli(args);
  expect_bench_json(result, false);
  for (const Json& line : result.json_lines()) EXPECT_EQ(line["runs"], 3);
}

// The file: store against the SQLite program, both in the scratch directory.
TEST(CliBench, FileStoreInTheScratchDirectory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string()});
  expect_bench_json(run_cli(args), true);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// --workloads runs only those, in the bench's order, and measures only
// their ceilings; an unknown name is refused before anything runs.
TEST(CliBench, WorkloadsRunsOnlyTheChosenOnes) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string(), "--store-uri", "memory:", "--no-sqlite", "--workloads",
                           "f,b2,e"});
  const auto result = run_cli(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 3U) << result.out;
  EXPECT_EQ(lines[0]["workload"], "b2");
  EXPECT_EQ(lines[1]["workload"], "e");
  EXPECT_EQ(lines[2]["workload"], "f");
  EXPECT_GT(lines[0]["ceiling_events_per_s"].get<double>(), 0);
  EXPECT_EQ(result.err.find("1 records per fdatasync"), std::string::npos) << result.err;
  const auto unknown = run_cli({"bench", "--workloads", "b,z", "--dir", dir.path().string()});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("no workload 'z'"), std::string::npos) << unknown.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(CliBench, TableOutputAndBadFlags) {
  TempDir dir;
  auto args = std::vector<std::string>{
      "bench",     "--seconds", "0.1",         "--events", "5000",  "--ceiling-file-mib", "8",
      "--writers", "4",         "--store-uri", "memory:",  "--dir", dir.path().string(),  "--no-sqlite"};
  const auto table = run_cli(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("events/s"), std::string::npos);
  EXPECT_EQ(run_cli({"bench", "--seconds", "0", "--events", "0"}).exit_code, 2);
  EXPECT_EQ(run_cli({"bench", "--runs", "many"}).exit_code, 2);
}

}  // namespace
}  // namespace evsrc::cli_test
