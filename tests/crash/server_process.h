// evsrcd (EVSRCD_PATH) as a child process of a crash test, on a file: store
// and a fixed loopback port, so that clients keep one URL across restarts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <random>
#include <string>

namespace evsrc::crash {

// A loopback port below the ephemeral range (so no client socket takes it
// while the server is down) that is free now; -1 when none was found.
int pick_port(std::mt19937& rng);

// Not thread-safe: one thread starts, watches and ends the server.
class ServerProcess {
 public:
  // evsrcd's stderr is appended to `errors_path` across restarts.
  ServerProcess(std::string store_dir, std::string errors_path, int port);
  ~ServerProcess();  // SIGKILLs a running server
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Spawns evsrcd; false when it could not be started at all.
  bool start();
  // True once evsrcd printed its "listening" line; waits up to `timeout`
  // (zero: only looks). False when it did not (yet), or exited.
  bool listening(std::chrono::milliseconds timeout);
  // SIGKILL and reap; returns the waitpid() status (SIGKILL expected; 0 when
  // nothing ran).
  int kill();
  // SIGTERM, then waits up to `timeout`; true when it exited 0. `how` tells
  // how it ended.
  bool stop(std::chrono::milliseconds timeout, std::string* how);
  // Everything evsrcd wrote to stderr so far.
  std::string errors() const;

 private:
  void close_stdout();

  const std::string store_dir_;
  const std::string errors_path_;
  const int port_;
  pid_t pid_ = -1;
  int stdout_ = -1;
  std::string printed_;
};

}  // namespace evsrc::crash
