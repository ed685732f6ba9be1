// Env::posix(): the real file system through POSIX calls.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "evsrc/env.h"

namespace evsrc {
namespace {

// Running out of descriptors is a moment's shortage, not a failed disk:
// unavailable, so that the store refuses only the operation that needed one.
Status posix_error(const std::string& what, const std::string& path, int error) {
  std::string message = what + " " + path + ": " + std::strerror(error);
  if (error == EMFILE || error == ENFILE) return Status::unavailable(std::move(message));
  return Status::io_error(std::move(message));
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override {
    if (mapped_ != nullptr) ::munmap(mapped_, mapped_size_);
    if (fd_ >= 0) ::close(fd_);
  }

  const char* map_read_only(std::uint64_t size) override {
    if (mapped_ != nullptr) return size <= mapped_size_ ? static_cast<const char*>(mapped_) : nullptr;
    if (fd_ < 0 || size == 0) return nullptr;
    struct stat st {};
    // A byte mapped past the end of the file would raise SIGBUS when read.
    if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < size) return nullptr;
    void* address = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd_, 0);
    if (address == MAP_FAILED) return nullptr;  // callers read with pread instead
    mapped_ = address;
    mapped_size_ = size;
    return static_cast<const char*>(mapped_);
  }

  Status write_at(std::uint64_t offset, std::string_view data) override {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return posix_error("write", path_, errno);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    return Status();
  }

  Status read_at(std::uint64_t offset, std::size_t n, char* scratch, std::size_t* bytes_read) const override {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        *bytes_read = done;
        return posix_error("read", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    *bytes_read = done;
    return Status();
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return posix_error("fdatasync", path_, errno);
    return Status();
  }

  Status allocate(std::uint64_t size) override {
    const int error = ::posix_fallocate(fd_, 0, static_cast<off_t>(size));
    if (error != 0) return posix_error("fallocate", path_, error);
    return Status();
  }

  Status truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return posix_error("truncate", path_, errno);
    return Status();
  }

  Result<std::uint64_t> size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return posix_error("stat", path_, errno);
    return static_cast<std::uint64_t>(st.st_size);
  }

  Status close() override {
    if (fd_ < 0) return Status();
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return posix_error("close", path_, errno);
    return Status();
  }

 private:
  std::string path_;
  int fd_;
  void* mapped_ = nullptr;
  std::size_t mapped_size_ = 0;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::read_only: flags |= O_RDONLY; break;
      case OpenMode::read_write: flags |= O_RDWR; break;
      case OpenMode::create: flags |= O_RDWR | O_CREAT; break;
    }
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      if (errno == ENOENT) return Status::not_found("no such file " + path);
      return posix_error("open", path, errno);
    }
    return std::unique_ptr<File>(std::make_unique<PosixFile>(path, fd));
  }

  bool file_exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status create_dirs(const std::string& path) override {
    std::string partial;
    std::size_t start = 0;
    while (start <= path.size()) {
      const std::size_t slash = path.find('/', start);
      const std::size_t end = slash == std::string::npos ? path.size() : slash;
      partial = path.substr(0, end);
      if (!partial.empty() && ::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        return posix_error("mkdir", partial, errno);
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::io_error(path + " exists and is not a directory");
    }
    return Status();
  }

  Status sync_dir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return posix_error("open directory", path, errno);
    const int result = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (result != 0) return posix_error("fsync directory", path, error);
    return Status();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) return Status::not_found("no such directory " + path);
      return posix_error("opendir", path, errno);
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(dir);
    return names;
  }

  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return posix_error("unlink", path, errno);
    return Status();
  }

  Status rename_file(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return posix_error("rename", from, errno);
    return Status();
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return posix_error("open lock", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) return Status::io_error("store is in use by another process (lock " + path + ")");
      return posix_error("lock", path, error);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }
};

}  // namespace

Env* Env::posix() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

}  // namespace evsrc
