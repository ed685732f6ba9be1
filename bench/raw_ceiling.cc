#include "bench/raw_ceiling.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace evsrc::bench {
namespace {

Status errno_status(const std::string& what) { return Status::io_error(what + ": " + std::strerror(errno)); }

bool write_fully(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t written = ::pwrite(fd, data, size, offset);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += written;
  }
  return true;
}

}  // namespace

Result<RawCeilingFile> RawCeilingFile::create(const std::string& path, std::size_t file_bytes) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status("open " + path);
  RawCeilingFile file(fd, file_bytes);
  constexpr std::size_t kChunk = 1 << 20;
  std::vector<char> zeros(kChunk, 0);
  for (std::size_t offset = 0; offset < file_bytes; offset += kChunk) {
    const std::size_t size = std::min(kChunk, file_bytes - offset);
    if (!write_fully(fd, zeros.data(), size, static_cast<off_t>(offset))) return errno_status("preallocate " + path);
  }
  if (::fsync(fd) != 0) return errno_status("fsync " + path);
  return file;
}

RawCeilingFile::RawCeilingFile(RawCeilingFile&& other) noexcept : fd_(other.fd_), file_bytes_(other.file_bytes_) {
  other.fd_ = -1;
}

RawCeilingFile::~RawCeilingFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<WorkloadResult> RawCeilingFile::measure(std::size_t record_bytes, std::size_t records_per_commit,
                                               const Budget& budget) {
  const std::size_t commit_bytes = record_bytes * records_per_commit;
  if (commit_bytes == 0 || commit_bytes > file_bytes_) {
    return Status::invalid_argument("raw ceiling: a commit must fit the preallocated file");
  }
  std::vector<char> buffer(commit_bytes);
  std::mt19937 random(42);
  for (char& byte : buffer) byte = static_cast<char>(random());

  WorkloadResult result;
  result.description =
      "raw file, " + std::to_string(records_per_commit) + " x " + std::to_string(record_bytes) + " B per fdatasync";
  std::vector<double> latencies;
  std::size_t offset = 0;
  const auto start = Clock::now();
  do {
    if (offset + commit_bytes > file_bytes_) offset = 0;
    const auto commit_start = Clock::now();
    if (!write_fully(fd_, buffer.data(), commit_bytes, static_cast<off_t>(offset))) return errno_status("pwrite");
    if (::fdatasync(fd_) != 0) return errno_status("fdatasync");
    latencies.push_back(micros_since(commit_start));
    offset += commit_bytes;
    result.events += records_per_commit;
    ++result.calls;
  } while (budget.time_left(start) && budget.events_left(result.events));
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  finish_result(result, record_bytes, latencies);
  return result;
}

}  // namespace evsrc::bench
