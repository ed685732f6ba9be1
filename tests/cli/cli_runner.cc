#include "cli/cli_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>

namespace evsrc::cli_test {
namespace {

pid_t spawn(const std::string& binary, const std::vector<std::string>& args, const std::filesystem::path& in,
            const std::filesystem::path& out, const std::filesystem::path& err) {
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int in_fd = open(in.c_str(), O_RDONLY);
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::filesystem::path unique_temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  return std::filesystem::path(::testing::TempDir()) /
         ("evsrc-cli-" + stem + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
}

}  // namespace

std::vector<Json> CliResult::json_lines() const {
  std::vector<Json> lines;
  std::istringstream stream(out);
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty()) continue;
    Json parsed = Json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "not a JSON line: " << line;
    lines.push_back(std::move(parsed));
  }
  return lines;
}

Json CliResult::json() const {
  const std::vector<Json> lines = json_lines();
  EXPECT_EQ(lines.size(), 1u) << out;
  return lines.empty() ? Json() : lines.front();
}

Json CliResult::error() const {
  std::istringstream stream(err);
  std::string line;
  while (std::getline(stream, line)) {
    if (line.empty()) continue;
    Json parsed = Json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << "stderr line is not JSON: " << line;
    return parsed;
  }
  return nullptr;
}

TempDir::TempDir() : path_(unique_temp_path("dir")) { std::filesystem::create_directories(path_); }

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

CliResult run_cli(const std::vector<std::string>& args, const std::string& input) {
  return run_program(EVSRC_CLI_PATH, args, input);
}

CliResult run_program(const std::string& binary, const std::vector<std::string>& args, const std::string& input) {
  TempDir io;
  const auto in = io.path() / "stdin";
  const auto out = io.path() / "stdout";
  const auto err = io.path() / "stderr";
  std::ofstream(in, std::ios::binary) << input;
  CliResult result;
  const pid_t pid = spawn(binary, args, in, out, err);
  result.exit_code = pid < 0 ? -1 : wait_exit_code(pid);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

BackgroundCli::BackgroundCli(const std::vector<std::string>& args, const std::filesystem::path& out_file,
                             const std::filesystem::path& err_file)
    : pid_(spawn(EVSRC_CLI_PATH, args, "/dev/null", out_file, err_file)) {}

BackgroundCli::~BackgroundCli() {
  if (pid_ > 0) stop(SIGKILL);
}

int BackgroundCli::stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const int code = wait_exit_code(pid_);
  pid_ = -1;
  return code;
}

}  // namespace evsrc::cli_test
