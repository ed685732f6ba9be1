// evsrc bench: a tiny run checks the output contract, not the speed.
#include <gtest/gtest.h>

#include "cli/cli_runner.h"

namespace evsrc::cli_test {
namespace {

void expect_bench_json(const CliResult& result) {
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = result.json_lines();
  ASSERT_EQ(lines.size(), 5u) << result.out;
  const char* names[] = {"a", "b", "c", "d", "e"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Json& line = lines[i];
    EXPECT_EQ(line["workload"], names[i]);
    for (const char* field : {"events_per_s", "ceiling_events_per_s", "ratio", "p50_us", "p99_us"}) {
      EXPECT_TRUE(line.contains(field)) << names[i] << " " << field;
    }
    EXPECT_GT(line["events_per_s"].get<double>(), 0) << line.dump();
    if (i < 3) {
      EXPECT_GT(line["ceiling_events_per_s"].get<double>(), 0) << line.dump();
      EXPECT_TRUE(line["ratio"].is_number()) << line.dump();
    } else {
      EXPECT_TRUE(line["ceiling_events_per_s"].is_null()) << line.dump();
      EXPECT_TRUE(line["ratio"].is_null()) << line.dump();
    }
  }
}

const std::vector<std::string> kTinyRun = {
    "bench", "--json", "--seconds", "0.2", "--events", "20000", "--ceiling-file-mib", "8", "--writers", "8"};

TEST(CliBench, JsonHasOneLinePerWorkloadInOrderOnMemory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string(), "--store-uri", "memory:"});
  expect_bench_json(run_cli(args));
  // The scratch directory is removed afterwards.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(CliBench, MediansOverRunsOnMemory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string(), "--store-uri", "memory:", "--runs", "3"});
  const auto result = run_cli(args);
  expect_bench_json(result);
  for (const Json& line : result.json_lines()) EXPECT_EQ(line["runs"], 3);
}

TEST(CliBench, FileStoreInTheScratchDirectory) {
  TempDir dir;
  auto args = kTinyRun;
  args.insert(args.end(), {"--dir", dir.path().string()});
  expect_bench_json(run_cli(args));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(CliBench, TableOutputAndBadFlags) {
  TempDir dir;
  auto args =
      std::vector<std::string>{"bench",     "--seconds", "0.1",         "--events", "5000",  "--ceiling-file-mib", "8",
                               "--writers", "4",         "--store-uri", "memory:",  "--dir", dir.path().string()};
  const auto table = run_cli(args);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("events/s"), std::string::npos);
  EXPECT_EQ(run_cli({"bench", "--seconds", "0", "--events", "0"}).exit_code, 2);
  EXPECT_EQ(run_cli({"bench", "--runs", "many"}).exit_code, 2);
}

}  // namespace
}  // namespace evsrc::cli_test
