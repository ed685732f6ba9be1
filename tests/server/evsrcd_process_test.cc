// evsrcd as a process: it prints where it listens, serves, and on SIGTERM
// stops cleanly (exit 0) with every acknowledged event in the store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/server_fixture.h"

namespace evsrc::server_test {
namespace {

// Starts evsrcd with `args`; returns its pid and the first stdout line.
pid_t start_evsrcd(const std::vector<std::string>& args, std::string& first_line, int& out_fd) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string binary = EVSRCD_PATH;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  out_fd = pipe_fds[0];
  char c;
  while (::read(out_fd, &c, 1) == 1 && c != '\n') first_line.push_back(c);
  return pid;
}

std::uint16_t port_of(const std::string& first_line) {
  const std::size_t colon = first_line.rfind(':');
  return colon == std::string::npos ? 0 : static_cast<std::uint16_t>(std::stoi(first_line.substr(colon + 1)));
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(EvsrcdProcess, PrintsItsUrlServesAndStopsCleanlyOnSigterm) {
  TempDirectory directory;
  const std::string store = "file:" + (directory.path() / "data").string();
  std::string first_line;
  int out_fd = -1;
  const pid_t pid = start_evsrcd({"--store", store, "--listen", "127.0.0.1:0"}, first_line, out_fd);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(first_line.rfind("evsrcd listening on http://127.0.0.1:", 0), 0u) << first_line;
  const std::uint16_t port = port_of(first_line);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(round_trip(port, "POST", "/v1/streams/proc-1", R"({"type":"E","data":{}})").status, 201u);
  }
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  ::close(out_fd);
  // The store was closed cleanly: it opens and holds all 20 events.
  auto reopened = open_store(store);
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  StreamReadOptions options;
  auto page = reopened.value()->read_stream("proc-1", options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.value().events.size(), 20u);
  (void)reopened.value()->close();
}

TEST(EvsrcdProcess, BadOptionsExitWith2AndAClearMessage) {
  std::string first_line;
  int out_fd = -1;
  const pid_t pid = start_evsrcd({"--listen", "nonsense", "--store", "memory:"}, first_line, out_fd);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(wait_exit(pid), 2);
  ::close(out_fd);
}

TEST(EvsrcdProcess, ConfigFileSetsOptions) {
  TempDirectory directory;
  const std::string config = (directory.path() / "evsrcd.toml").string();
  FILE* file = std::fopen(config.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fprintf(file, "store = \"memory:\"\nlisten = \"127.0.0.1:0\"\nrequire-auth = true\nkeys-file = \"%s\"\n",
               (directory.path() / "keys.json").c_str());
  std::fclose(file);
  std::string first_line;
  int out_fd = -1;
  const pid_t pid = start_evsrcd({"--config", config}, first_line, out_fd);
  ASSERT_GT(pid, 0);
  const std::uint16_t port = port_of(first_line);
  ASSERT_NE(port, 0) << first_line;
  // require-auth from the file: no key, no write.
  EXPECT_EQ(round_trip(port, "POST", "/v1/streams/c-1", R"({"type":"E","data":{}})").status, 401u);
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 0);
  ::close(out_fd);
}

}  // namespace
}  // namespace evsrc::server_test
