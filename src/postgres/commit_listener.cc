#include "postgres/commit_listener.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace evsrc::pg {
namespace {

constexpr std::chrono::milliseconds kReconnectDelay{500};

}  // namespace

CommitListener::CommitListener(std::string uri, PostgresConnectOptions options, std::string channel,
                               std::function<Result<std::optional<Position>>()> read_head)
    : uri_(std::move(uri)), options_(std::move(options)), channel_(std::move(channel)), read_head_(std::move(read_head)) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) wake_pipe_[0] = wake_pipe_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

CommitListener::~CommitListener() {
  stop();
  for (const int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

void CommitListener::committed(Position position) {
  {
    std::lock_guard lock(mutex_);
    if (known_ && *known_ >= position) return;
    known_ = position;
  }
  changed_.notify_all();
}

bool CommitListener::wait(std::optional<Position> after, std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return stopped_ || has_new(after); });
    if (stopped_) return false;
    if (has_new(after) || listening_.load()) return has_new(after);
  }
  // No listener connection: the notifications of other processes' commits
  // may be missed, so ask the table.
  Result<std::optional<Position>> head = read_head_();
  if (head.ok() && *head) committed(**head);
  std::lock_guard lock(mutex_);
  return !stopped_ && has_new(after);
}

void CommitListener::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ && !thread_.joinable()) return;
    stopped_ = true;
  }
  changed_.notify_all();
  if (wake_pipe_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(wake_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
}

void CommitListener::run() {
  std::optional<PostgresConnection> connection;
  const auto stopping = [&] {
    std::lock_guard lock(mutex_);
    return stopped_;
  };
  const auto sleep_interruptibly = [&](std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, delay, [&] { return stopped_; });
  };
  while (!stopping()) {
    if (!connection || connection->broken()) {
      listening_.store(false);
      connection.reset();
      Result<PostgresConnection> opened = PostgresConnection::connect(uri_, options_);
      if (!opened.ok() || !opened->exec("LISTEN " + quote_identifier(channel_)).ok()) {
        sleep_interruptibly(kReconnectDelay);
        continue;
      }
      connection = std::move(opened).value();
      listening_.store(true);
      // Commits made while no one listened.
      Result<std::optional<Position>> head = read_head_();
      if (head.ok() && *head) committed(**head);
    }
    pg_conn* conn = connection->handle();
    pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    const int ready = ::poll(fds, wake_pipe_[0] >= 0 ? 2 : 1, 1000);
    if (ready < 0) continue;  // EINTR
    if ((fds[1].revents & POLLIN) != 0) break;
    if (PQconsumeInput(conn) == 0) {
      connection.reset();
      continue;
    }
    while (PGnotify* notification = PQnotifies(conn)) {
      Position position = 0;
      const char* payload = notification->extra;
      const auto [end, error] = std::from_chars(payload, payload + std::strlen(payload), position);
      if (error == std::errc()) committed(position);
      PQfreemem(notification);
    }
  }
  listening_.store(false);
}

}  // namespace evsrc::pg
