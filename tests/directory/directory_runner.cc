#include "directory/directory_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>

namespace evsrc::directory_test {
namespace {

std::filesystem::path unique_temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  return std::filesystem::path(::testing::TempDir()) /
         ("evsrc-directory-" + stem + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
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

}  // namespace

std::vector<Json> RunResult::json_lines() const {
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

Json RunResult::json() const {
  const std::vector<Json> lines = json_lines();
  EXPECT_EQ(lines.size(), 1u) << out;
  return lines.empty() ? Json() : lines.front();
}

TempDir::TempDir() : path_(unique_temp_path("dir")) { std::filesystem::create_directories(path_); }

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunResult run_directory(const std::vector<std::string>& args) {
  TempDir io;
  const auto out = io.path() / "stdout";
  const auto err = io.path() / "stderr";
  std::vector<std::string> argv_storage = {EVSRC_DIRECTORY_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  RunResult result;
  const pid_t pid = fork();
  if (pid == 0) {
    const int in_fd = open("/dev/null", O_RDONLY);
    const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  result.exit_code = pid < 0 ? -1 : wait_exit_code(pid);
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

}  // namespace evsrc::directory_test
