#include "remote/evsrcd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace evsrc::remote_test {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

EvsrcdProcess::EvsrcdProcess(const std::string& store_uri, const std::filesystem::path& log_dir,
                             const std::vector<std::string>& extra_args)
    : out_(log_dir / "evsrcd.stdout"), err_(log_dir / "evsrcd.stderr") {
  std::vector<std::string> args = {EVSRCD_PATH, "--store", store_uri, "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    const int in_fd = open("/dev/null", O_RDONLY);
    const int out_fd = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (pid_ < 0) {
    error_ = "fork failed";
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string out = read_text(out_);
    if (const std::size_t end = out.find('\n'); end != std::string::npos) {
      const std::string first_line = out.substr(0, end);
      const std::size_t at = first_line.find("http://");
      if (at == std::string::npos) {
        error_ = "first line of evsrcd has no URL: " + first_line;
      } else {
        url_ = first_line.substr(at, first_line.find_first_of(" \t\r", at) - at);
      }
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "evsrcd exited before printing its URL: " + read_text(err_);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  error_ = "evsrcd printed no URL within 30 s: " + read_text(err_);
}

EvsrcdProcess::~EvsrcdProcess() { stop(SIGKILL); }

std::string EvsrcdProcess::log() const { return read_text(err_); }

int EvsrcdProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      pid_ = -1;
      return -1;
    }
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace evsrc::remote_test
