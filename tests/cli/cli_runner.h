// Runs a built binary (the evsrc CLI at EVSRC_CLI_PATH, or any other, e.g.
// evsrc-directory) and captures its output and exit code.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace evsrc::cli_test {

using Json = nlohmann::ordered_json;

struct CliResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;

  // Each non-empty line of `out` parsed as JSON (a line that is not JSON
  // fails the calling test).
  std::vector<Json> json_lines() const;
  // The only stdout JSON line (fails the calling test when there is not
  // exactly one).
  Json json() const;
  // The single JSON line on stderr (null when there is none).
  Json error() const;
};

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string store_uri() const { return "file:" + (path_ / "store").string(); }

 private:
  std::filesystem::path path_;
};

// Runs `binary args...` with `input` on stdin and waits for it.
CliResult run_program(const std::string& binary, const std::vector<std::string>& args, const std::string& input = "");

// Runs `evsrc args...` with `input` on stdin and waits for it.
CliResult run_cli(const std::vector<std::string>& args, const std::string& input = "");

// A background `evsrc args...` whose stdout goes to a file.
class BackgroundCli {
 public:
  BackgroundCli(const std::vector<std::string>& args, const std::filesystem::path& out_file,
                const std::filesystem::path& err_file);
  ~BackgroundCli();
  // Sends `signal` and waits; returns the exit code (128 + signal if killed).
  int stop(int signal);

 private:
  pid_t pid_ = -1;
};

std::string read_file(const std::filesystem::path& path);

}  // namespace evsrc::cli_test
