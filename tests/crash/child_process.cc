#include "crash/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace evsrc::crash {

int soak_factor() {
  const char* text = std::getenv("EVSRC_SOAK");
  const int factor = text == nullptr ? 1 : std::atoi(text);
  return factor > 0 ? factor : 1;
}

pid_t spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_environment,
                    const std::string& drop_prefix, int stdout_fd, int stderr_fd) {
  // Everything exec needs is built before fork: the child may only make
  // async-signal-safe calls until exec.
  std::vector<std::string> arguments = argv;
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (drop_prefix.empty() || !std::string_view(*variable).starts_with(drop_prefix)) {
      environment.emplace_back(*variable);
    }
  }
  environment.insert(environment.end(), extra_environment.begin(), extra_environment.end());
  std::vector<char*> argv_pointers;
  for (std::string& argument : arguments) argv_pointers.push_back(argument.data());
  argv_pointers.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const int null_input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_input < 0) return -1;

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(null_input, STDIN_FILENO);
    ::dup2(stdout_fd, STDOUT_FILENO);
    ::dup2(stderr_fd, STDERR_FILENO);
    ::execve(argv_pointers[0], argv_pointers.data(), envp.data());
    ::_exit(96);
  }
  ::close(null_input);
  return pid;
}

int open_output(const std::string& path, bool append) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
}

std::string self_executable() {
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return {};
  return std::string(self, static_cast<std::size_t>(length));
}

bool wait_child(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const pid_t done = ::waitpid(pid, status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

VerifyOutcome run_verify(const std::string& store_dir, const std::string& output_path,
                         std::chrono::milliseconds timeout) {
  VerifyOutcome outcome;
  const auto started = std::chrono::steady_clock::now();
  const int output = open_output(output_path);
  if (output < 0) {
    outcome.output = "cannot open " + output_path;
    return outcome;
  }
  const pid_t pid = spawn_process({EVSRC_CLI_PATH, "verify", "--store", "file:" + store_dir}, {}, {}, output, output);
  ::close(output);
  if (pid < 0) {
    outcome.output = "cannot start " EVSRC_CLI_PATH;
    return outcome;
  }
  int status = 0;
  const bool finished = wait_child(pid, timeout, &status);
  outcome.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  outcome.output = read_text(output_path);
  if (!finished)
    outcome.output = "evsrc verify hung and was killed; it printed:\n" + outcome.output;
  else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    outcome.output += "\n(" + describe_status(status) + ")";
  outcome.ok = finished && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return outcome;
}

}  // namespace evsrc::crash
