// An evsrcd child process (the binary at EVSRCD_PATH) for the remote tests:
// started on a free loopback port, its URL read from the first line it
// prints, killed when the object goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace evsrc::remote_test {

class EvsrcdProcess {
 public:
  // Runs `evsrcd --store <store_uri> --listen 127.0.0.1:0 <extra_args...>`
  // with stdout and stderr in files under `log_dir`, and waits (up to 30 s)
  // for its first stdout line "... http://127.0.0.1:PORT". ok() tells whether
  // it came; error() says why not.
  EvsrcdProcess(const std::string& store_uri, const std::filesystem::path& log_dir,
                const std::vector<std::string>& extra_args = {});
  ~EvsrcdProcess();
  EvsrcdProcess(const EvsrcdProcess&) = delete;
  EvsrcdProcess& operator=(const EvsrcdProcess&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }
  // What the server wrote to stderr so far (for failure messages).
  std::string log() const;

  // Sends `signal` and waits for the exit; returns the exit code (128 +
  // signal when killed by it). Idempotent: later calls return -1.
  int stop(int signal);

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_;
  std::filesystem::path err_;
  std::string url_;
  std::string error_;
};

}  // namespace evsrc::remote_test
