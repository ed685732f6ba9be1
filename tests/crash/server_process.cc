#include "crash/server_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "crash/child_process.h"

namespace evsrc::crash {

int pick_port(std::mt19937& rng) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = std::uniform_int_distribution<int>(20000, 32000)(rng);
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return -1;
    const int yes = 1;
    ::setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    if (free) return port;
  }
  return -1;
}

ServerProcess::ServerProcess(std::string store_dir, std::string errors_path, int port)
    : store_dir_(std::move(store_dir)), errors_path_(std::move(errors_path)), port_(port) {}

ServerProcess::~ServerProcess() { kill(); }

bool ServerProcess::start() {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return false;
  const int errors = open_output(errors_path_, /*append=*/true);
  if (errors < 0) {
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  pid_ = spawn_process({EVSRCD_PATH, "--store", "file:" + store_dir_, "--listen", "127.0.0.1:" + std::to_string(port_)},
                       {}, {}, out[1], errors);
  ::close(out[1]);
  ::close(errors);
  stdout_ = out[0];
  printed_.clear();
  return pid_ > 0;
}

bool ServerProcess::listening(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (printed_.find("evsrcd listening on") != std::string::npos) return true;
    if (stdout_ < 0) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd readable{stdout_, POLLIN, 0};
    const int ready = ::poll(&readable, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char buffer[512];
    const ssize_t n = ::read(stdout_, buffer, sizeof buffer);
    if (n <= 0) {
      close_stdout();
      return false;
    }
    printed_.append(buffer, static_cast<std::size_t>(n));
  }
}

int ServerProcess::kill() {
  int status = 0;
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  close_stdout();
  return status;
}

bool ServerProcess::stop(std::chrono::milliseconds timeout, std::string* how) {
  if (pid_ <= 0) return false;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const bool finished = wait_child(pid_, timeout, &status);
  pid_ = -1;
  close_stdout();
  *how = finished ? describe_status(status) : "no exit within the bound (killed)";
  return finished && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void ServerProcess::close_stdout() {
  if (stdout_ >= 0) ::close(stdout_);
  stdout_ = -1;
}

std::string ServerProcess::errors() const { return read_text(errors_path_); }

}  // namespace evsrc::crash
