// File checkpoints: one file per name, "<position>\n", replaced atomically
// (write a temporary file, fsync it, rename it over the old one, fsync the
// directory), so after a crash a name holds its old or its new position.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "evsrc/checkpoint_store.h"

namespace evsrc {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

Status io_failure(const std::string& what, const std::string& path, int error) {
  return Status::io_error(what + " " + path + ": " + errno_text(error));
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_failure("cannot write", path, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status();
}

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return io_failure("cannot open", path, errno);
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) return io_failure("cannot fsync", path, error);
  return Status();
}

// A checkpoint name that is also a file name of its own ("." and ".." are
// the directory's).
Status validate_file_name(std::string_view name) {
  if (Status valid = validate_checkpoint_name(name); !valid.ok()) return valid;
  if (name == "." || name == "..") {
    return Status::invalid_argument("checkpoint name '" + std::string(name) + "' is not a file name");
  }
  return Status();
}

class FileCheckpointStore final : public CheckpointStore {
 public:
  explicit FileCheckpointStore(std::filesystem::path directory) : directory_(std::move(directory)) {}

  Result<std::optional<Position>> load(std::string_view name) override {
    if (Status valid = validate_file_name(name); !valid.ok()) return valid;
    const std::string path = file_of(name);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::optional<Position>();
      return io_failure("cannot open checkpoint", path, errno);
    }
    std::string text;
    char buffer[64];
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        ::close(fd);
        return io_failure("cannot read checkpoint", path, error);
      }
      if (got == 0) break;
      text.append(buffer, static_cast<std::size_t>(got));
      if (text.size() > 64) break;
    }
    ::close(fd);
    // Reading stopped after 64 bytes: the digits read may not be all of them.
    if (text.size() > 64) {
      return Status::corruption("checkpoint file " + path + " is longer than a position (over 64 bytes)");
    }
    if (!text.empty() && text.back() == '\n') text.pop_back();
    Position position = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), position);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return Status::corruption("checkpoint file " + path + " does not hold a position (expected decimal digits)");
    }
    return std::optional<Position>(position);
  }

  Status save(std::string_view name, Position position) override {
    if (Status valid = validate_file_name(name); !valid.ok()) return valid;
    const std::string path = file_of(name);
    // Unique per save, so concurrent saves of different names (or of one
    // name, last rename wins) never share a temporary file.
    const std::string temporary = (directory_ / ("." + std::string(name) + ".tmp." + std::to_string(::getpid()) + "." +
                                                 std::to_string(counter_.fetch_add(1))))
                                      .string();
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io_failure("cannot create", temporary, errno);
    Status status = write_all(fd, std::to_string(position) + "\n", temporary);
    if (status.ok() && ::fsync(fd) != 0) status = io_failure("cannot fsync", temporary, errno);
    if (::close(fd) != 0 && status.ok()) status = io_failure("cannot close", temporary, errno);
    if (status.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
      status = io_failure("cannot rename " + temporary + " to", path, errno);
    }
    if (!status.ok()) {
      ::unlink(temporary.c_str());
      return status;
    }
    return fsync_path(directory_.string(), O_RDONLY | O_DIRECTORY);
  }

 private:
  std::string file_of(std::string_view name) const { return (directory_ / std::string(name)).string(); }

  const std::filesystem::path directory_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace

Status validate_checkpoint_name(std::string_view name) {
  if (name.empty()) return Status::invalid_argument("checkpoint name is empty");
  if (name.size() > 255) {
    return Status::invalid_argument("checkpoint name has " + std::to_string(name.size()) +
                                    " bytes; at most 255 are allowed");
  }
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '/' || byte < 0x20 || byte == 0x7f) {
      return Status::invalid_argument("checkpoint name '" + std::string(name) +
                                      "' holds '/', NUL or a control character");
    }
  }
  return Status();
}

Result<std::unique_ptr<CheckpointStore>> open_file_checkpoints(const std::string& directory) {
  if (directory.empty()) return Status::invalid_argument("checkpoint directory is empty");
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return Status::io_error("cannot create checkpoint directory " + directory + ": " + error.message());
  }
  if (!std::filesystem::is_directory(directory, error)) {
    return Status::invalid_argument("checkpoint directory " + directory + " is not a directory");
  }
  if (::access(directory.c_str(), W_OK) != 0) {
    return io_failure("checkpoint directory is not writable:", directory, errno);
  }
  return std::unique_ptr<CheckpointStore>(std::make_unique<FileCheckpointStore>(directory));
}

}  // namespace evsrc
