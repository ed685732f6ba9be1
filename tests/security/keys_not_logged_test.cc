// API keys never reach the logs: evsrcd runs as a child process with its
// stdout and stderr captured while clients use valid, wrong, malformed and
// revoked keys in requests that succeed and requests that fail (401, 403,
// 400, 404, 405, 413, 431, timeouts, garbage). Neither the logs nor any
// answer contain a secret or an Authorization header's value.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "server/api_keys.h"
#include "server/server_fixture.h"

namespace evsrc::security_test {
namespace {

using namespace std::chrono_literals;
using server::ApiKeyFile;
using server::Role;
using server_test::http_request;
using server_test::RawConnection;
using server_test::RawResponse;
using server_test::TempDirectory;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// evsrcd with stdout and stderr going to files.
class EvsrcdChild {
 public:
  EvsrcdChild(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err)
      : out_(out) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out_fd < 0 || err_fd < 0) ::_exit(126);
      ::dup2(out_fd, 1);
      ::dup2(err_fd, 2);
      std::vector<std::string> copies = args;
      std::string binary = EVSRCD_PATH;
      std::vector<char*> argv{binary.data()};
      for (auto& arg : copies) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~EvsrcdChild() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
  }

  // The port from "evsrcd listening on http://127.0.0.1:<port>" (0 if it
  // did not start within 30 s).
  std::uint16_t wait_for_port() {
    const std::string marker = "evsrcd listening on http://127.0.0.1:";
    for (int attempt = 0; attempt < 300; ++attempt) {
      const std::string text = read_text(out_);
      const std::size_t at = text.find(marker);
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        return static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
      }
      if (int status = 0; ::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return 0;
      }
      std::this_thread::sleep_for(100ms);
    }
    return 0;
  }

  // SIGTERM, then the exit code.
  int stop() {
    ::kill(pid_, SIGTERM);
    return wait();
  }

 private:
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::filesystem::path out_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::string added(const Result<std::string>& key) { return key.ok() ? key.value() : ""; }

TEST(KeysNotLogged, NoSecretOrAuthorizationValueInTheLogsOrAnswers) {
  TempDirectory directory;
  const std::filesystem::path data = directory.path() / "data";
  std::filesystem::create_directories(data);
  ApiKeyFile keys((data / "api-keys.json").string());
  const std::string admin = added(keys.add("admin", Role::admin, {}));
  const std::string reader = added(keys.add("reader", Role::reader, {}));
  const std::string prefixed = added(keys.add("prefixed", Role::writer, {"sec-"}));
  const std::string revoked = added(keys.add("revoked", Role::admin, {}));
  ASSERT_FALSE(admin.empty() || reader.empty() || prefixed.empty() || revoked.empty());
  std::string wrong_secret = admin;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  const auto secret_of = [](const std::string& key) { return key.substr(key.size() - 43); };

  const std::filesystem::path out = directory.path() / "evsrcd.out";
  const std::filesystem::path err = directory.path() / "evsrcd.err";
  EvsrcdChild evsrcd(
      {"--store", "file:" + data.string(), "--listen", "127.0.0.1:0", "--require-auth", "--max-body-bytes", "4096",
       "--max-header-bytes", "4096", "--request-timeout-ms", "300", "--idle-timeout-ms", "1000", "--workers", "4"},
      out, err);
  const std::uint16_t port = evsrcd.wait_for_port();
  ASSERT_NE(port, 0) << "evsrcd did not start: " << read_text(out) << read_text(err);
  ASSERT_TRUE(keys.revoke(revoked.substr(4, 12)).ok());

  const std::string event = R"({"type":"T","data":1})";
  // Connection: close, so that each answer ends with the connection.
  const auto auth = [](const std::string& value) { return "Authorization: " + value + "\r\nConnection: close\r\n"; };
  std::vector<std::string> requests;
  for (const std::string& value :
       {"Bearer " + admin, "Bearer " + reader, "Bearer " + prefixed, "Bearer " + wrong_secret, "Bearer " + revoked,
        admin, "Basic " + admin, "Bearer " + admin + "x", "Bearer " + admin.substr(0, 30)}) {
    requests.push_back(http_request("POST", "/v1/streams/sec-1", event, auth(value)));           // 201/401/403
    requests.push_back(http_request("GET", "/v1/streams/sec-1", "", auth(value)));               // 200/401
    requests.push_back(http_request("GET", "/v1/streams/missing", "", auth(value)));             // 404/403/401
    requests.push_back(http_request("POST", "/v1/streams/sec-2", "{not json", auth(value)));     // 400/401
    requests.push_back(http_request("PATCH", "/v1/streams/sec-1", event, auth(value)));          // 405
    requests.push_back(http_request("DELETE", "/v1/streams/sec-3?hard=true", "", auth(value)));  // 403/404/401
    requests.push_back(http_request("GET", "/metrics", "", auth(value)));
    requests.push_back(http_request("GET", "/v1/stats", "", auth(value)));
    requests.push_back(http_request("GET", "/v1/projections/nope", "", auth(value)));
    requests.push_back(http_request("POST", "/v1/streams/sec-1", std::string(8192, '['), auth(value)));  // 413
    requests.push_back(
        http_request("GET", "/health", "", auth(value) + "X-Filler: " + std::string(8192, 'f') + "\r\n"));
    requests.push_back("GET /v1/streams/sec-1 HTTP/9.9\r\n" + auth(value) + "\r\n");  // 400
    requests.push_back("GET /v1/all?key=" + secret_of(admin) + " HTTP/1.1\r\n" + auth(value) +
                       "Last-Event-ID: x\r\n\r\n");
  }
  std::vector<std::string> answers;
  for (const std::string& request : requests) {
    RawConnection connection(port);
    (void)connection.send(request);
    answers.push_back(connection.read_some_for(5s, 1 << 20));
  }
  // Requests cut off by the request timeout, with the key already sent.
  for (const std::string& key : {admin, wrong_secret}) {
    RawConnection connection(port);
    ASSERT_TRUE(connection.send("POST /v1/streams/sec-1 HTTP/1.1\r\n" + auth("Bearer " + key) +
                                "Content-Length: 100\r\n\r\n{"));
    EXPECT_TRUE(connection.closed_by_peer(5s));
  }
  // A subscription with a valid key, dropped by the client.
  {
    RawConnection connection(port);
    ASSERT_TRUE(connection.send(http_request("GET", "/v1/subscriptions/all", "", auth("Bearer " + admin))));
    answers.push_back(connection.read_some_for(300ms));
  }
  ASSERT_EQ(evsrcd.stop(), 0);

  const std::string log = read_text(out) + read_text(err);
  ASSERT_NE(log.find("evsrcd listening on"), std::string::npos) << "the logs were not captured";
  std::printf("[ figures  ] %zu requests with keys; %zu bytes of logs, %zu bytes of answers checked\n",
              requests.size() + 3, log.size(), [&] {
                std::size_t total = 0;
                for (const auto& answer : answers) total += answer.size();
                return total;
              }());
  int answered = 0;
  for (const std::string& answer : answers) answered += answer.starts_with("HTTP/1.1 ") ? 1 : 0;
  EXPECT_EQ(answered, static_cast<int>(answers.size()));
  for (const std::string& key : {admin, reader, prefixed, revoked, wrong_secret}) {
    EXPECT_EQ(log.find(secret_of(key)), std::string::npos) << "a secret is in the logs:\n" << log;
    EXPECT_EQ(log.find(secret_of(key).substr(0, 16)), std::string::npos) << "part of a secret is in the logs";
    for (const std::string& answer : answers) {
      EXPECT_EQ(answer.find(secret_of(key).substr(0, 16)), std::string::npos) << "an answer echoes a secret:\n"
                                                                              << answer.substr(0, 2000);
    }
  }
  EXPECT_EQ(log.find("Bearer"), std::string::npos) << log;
  EXPECT_EQ(log.find("evk_"), std::string::npos) << log;
  EXPECT_EQ(log.find("Authorization"), std::string::npos) << log;
}

}  // namespace
}  // namespace evsrc::security_test
