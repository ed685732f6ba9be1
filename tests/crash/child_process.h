// Child processes of the kill tests: started with fork() + execve() (never a
// bare fork: the test process has threads, and a forked child that then
// takes a lock held by a thread that does not exist in it deadlocks), waited
// for with a bound, and the `evsrc verify` run after a kill.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace evsrc::crash {

// EVSRC_SOAK=N (default 1): bounded budgets (kills, seconds) multiply by N.
int soak_factor();

// Starts `argv[0]` with `argv`, the test's environment minus variables
// starting with `drop_prefix` (when not empty) plus `extra_environment`
// ("NAME=value"). The child's stdin is /dev/null; its stdout goes to
// `stdout_fd` and its stderr to `stderr_fd` (both stay open in the parent).
// Returns the pid, or -1 (errno set).
pid_t spawn_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_environment,
                    const std::string& drop_prefix, int stdout_fd, int stderr_fd);

// Opens `path` for a child's output: truncated, or appended to when `append`.
// -1 on failure.
int open_output(const std::string& path, bool append = false);

// Path of the running test binary (for children running one test of it).
std::string self_executable();

// Waits for `pid` up to `timeout`. On timeout the child is SIGKILLed, reaped
// and false is returned (a hang); `status` is the waitpid() status.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout, int* status);

// A readable account of a waitpid() status: "exit 0", "signal 9", ...
std::string describe_status(int status);

// Whole file as text ("" when unreadable).
std::string read_text(const std::string& path);

// Runs `evsrc verify --store file:<store_dir>` (EVSRC_CLI_PATH) with a
// bound. ok: it exited 0 within `timeout`; output: what it printed.
struct VerifyOutcome {
  bool ok = false;
  std::string output;
  std::chrono::milliseconds took{0};
};
VerifyOutcome run_verify(const std::string& store_dir, const std::string& output_path,
                         std::chrono::milliseconds timeout);

}  // namespace evsrc::crash
