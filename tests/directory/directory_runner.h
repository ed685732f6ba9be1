// Runs the built evsrc-directory binary (EVSRC_DIRECTORY_PATH) against one
// store and captures what it printed and its exit code.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace evsrc::directory_test {

using Json = nlohmann::ordered_json;

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
  // Each non-empty stdout line parsed as JSON (a non-JSON line fails the test).
  std::vector<Json> json_lines() const;
  // The only stdout JSON line (fails the test when there is not exactly one).
  Json json() const;
};

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs `evsrc-directory args...` (stdin from /dev/null) and waits for it.
RunResult run_directory(const std::vector<std::string>& args);

}  // namespace evsrc::directory_test
