// new_memory_env(): a whole file system in process memory.
//
// Files are byte strings shared between every handle opened on them, so a
// handle keeps working after its file is renamed or removed (like an open
// POSIX descriptor). Directories are tracked explicitly: creating a file needs
// its parent directory (create_dirs), as on a real file system, so the engine
// is tested against the same rules as on disk. The root ("/" for absolute
// paths, "" for relative ones) always exists.
//
// Nothing is ever lost by this Env: sync() and sync_dir() are no-ops. Losing
// unsynced data is FaultInjectionEnv's job.
//
// Thread-safety: the name space (files, directories, locks) is guarded by one
// mutex; the bytes of each file by a reader/writer lock of their own, so
// concurrent read_at() calls on one file proceed in parallel.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/env_path.h"
#include "evsrc/env.h"

namespace evsrc {
namespace {

// The name of `path` if it is a direct child of directory `dir` (both
// normalized).
std::optional<std::string_view> child_name(const std::string& dir, const std::string& path) {
  std::string_view rest(path);
  if (dir.empty()) {
    if (rest.empty() || rest.front() == '/') return std::nullopt;
  } else if (dir == "/") {
    if (rest.size() < 2 || rest.front() != '/') return std::nullopt;
    rest.remove_prefix(1);
  } else {
    if (rest.size() <= dir.size() + 1 || !rest.starts_with(dir) || rest[dir.size()] != '/') return std::nullopt;
    rest.remove_prefix(dir.size() + 1);
  }
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

struct FileBytes {
  mutable std::shared_mutex mutex;
  std::string bytes;
};

struct FileSystem {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<FileBytes>> files;
  std::set<std::string> dirs;
  std::set<std::string> locks;

  // REQUIRES: mutex held.
  bool dir_exists(const std::string& path) const { return is_root_path(path) || dirs.contains(path); }
};

class MemoryFile final : public File {
 public:
  MemoryFile(std::shared_ptr<FileBytes> file, std::string path, bool writable)
      : file_(std::move(file)), path_(std::move(path)), writable_(writable) {}

  Status write_at(std::uint64_t offset, std::string_view data) override {
    if (Status status = check_writable("write"); !status.ok()) return status;
    if (offset > max_size() || data.size() > max_size() - offset) return too_big("write");
    std::unique_lock lock(file_->mutex);
    const std::uint64_t end = offset + data.size();
    if (file_->bytes.size() < end) file_->bytes.resize(end, '\0');
    std::memcpy(file_->bytes.data() + offset, data.data(), data.size());
    return Status();
  }

  Status read_at(std::uint64_t offset, std::size_t n, char* scratch, std::size_t* bytes_read) const override {
    *bytes_read = 0;
    if (closed_.load(std::memory_order_acquire)) return Status::io_error("read of closed file " + path_);
    std::shared_lock lock(file_->mutex);
    if (offset >= file_->bytes.size()) return Status();
    const std::size_t available = std::min<std::uint64_t>(n, file_->bytes.size() - offset);
    std::memcpy(scratch, file_->bytes.data() + offset, available);
    *bytes_read = available;
    return Status();
  }

  Status sync() override { return check_writable("sync"); }

  Status allocate(std::uint64_t size) override {
    if (Status status = check_writable("allocate"); !status.ok()) return status;
    if (size > max_size()) return too_big("allocate");
    std::unique_lock lock(file_->mutex);
    if (file_->bytes.size() < size) file_->bytes.resize(size, '\0');
    return Status();
  }

  Status truncate(std::uint64_t size) override {
    if (Status status = check_writable("truncate"); !status.ok()) return status;
    if (size > max_size()) return too_big("truncate");
    std::unique_lock lock(file_->mutex);
    file_->bytes.resize(size, '\0');
    return Status();
  }

  Result<std::uint64_t> size() const override {
    if (closed_.load(std::memory_order_acquire)) return Status::io_error("size of closed file " + path_);
    std::shared_lock lock(file_->mutex);
    return static_cast<std::uint64_t>(file_->bytes.size());
  }

  Status close() override {
    closed_.store(true, std::memory_order_release);
    return Status();
  }

 private:
  // A bound that keeps std::string arithmetic far from overflow; no test
  // needs a file this large in memory.
  static constexpr std::uint64_t max_size() { return std::uint64_t{1} << 40; }

  Status check_writable(const char* op) const {
    if (closed_.load(std::memory_order_acquire)) return Status::io_error(std::string(op) + " of closed file " + path_);
    if (!writable_) return Status::io_error(std::string(op) + " of file opened read-only: " + path_);
    return Status();
  }
  Status too_big(const char* op) const {
    return Status::io_error(std::string(op) + " beyond the in-memory file size limit: " + path_);
  }

  std::shared_ptr<FileBytes> file_;
  const std::string path_;
  const bool writable_;
  std::atomic<bool> closed_{false};
};

class MemoryLock final : public FileLock {
 public:
  MemoryLock(std::shared_ptr<FileSystem> fs, std::string path) : fs_(std::move(fs)), path_(std::move(path)) {}
  ~MemoryLock() override {
    std::lock_guard lock(fs_->mutex);
    fs_->locks.erase(path_);
  }

 private:
  std::shared_ptr<FileSystem> fs_;
  std::string path_;
};

class MemoryEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    if (fs_->dir_exists(name)) return Status::io_error("is a directory: " + path);
    auto it = fs_->files.find(name);
    if (it == fs_->files.end()) {
      if (mode != OpenMode::create) return Status::not_found("no such file: " + path);
      if (!fs_->dir_exists(parent_path(name))) return Status::not_found("no such directory for file: " + path);
      it = fs_->files.emplace(name, std::make_shared<FileBytes>()).first;
    }
    return std::unique_ptr<File>(std::make_unique<MemoryFile>(it->second, name, mode != OpenMode::read_only));
  }

  bool file_exists(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    return fs_->files.contains(name) || fs_->dir_exists(name);
  }

  Status create_dirs(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    std::vector<std::string> missing;
    for (std::string dir = name; !is_root_path(dir); dir = parent_path(dir)) {
      if (fs_->files.contains(dir)) return Status::io_error("not a directory: " + dir);
      if (fs_->dirs.contains(dir)) break;
      missing.push_back(dir);
    }
    fs_->dirs.insert(missing.begin(), missing.end());
    return Status();
  }

  Status sync_dir(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    if (!fs_->dir_exists(name)) return Status::not_found("no such directory: " + path);
    return Status();
  }

  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    if (!fs_->dir_exists(name)) {
      if (fs_->files.contains(name)) return Status::io_error("not a directory: " + path);
      return Status::not_found("no such directory: " + path);
    }
    std::vector<std::string> names;
    // Children sort right after "dir/" in a std::map; scan only that range.
    const std::string prefix = name.empty() || name == "/" ? name : name + "/";
    for (auto it = fs_->files.lower_bound(prefix); it != fs_->files.end() && it->first.starts_with(prefix); ++it) {
      if (auto child = child_name(name, it->first)) names.emplace_back(*child);
    }
    for (auto it = fs_->dirs.lower_bound(prefix); it != fs_->dirs.end() && it->starts_with(prefix); ++it) {
      if (auto child = child_name(name, *it)) names.emplace_back(*child);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  Status remove_file(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    if (fs_->dir_exists(name)) return Status::io_error("is a directory: " + path);
    if (fs_->files.erase(name) == 0) return Status::not_found("no such file: " + path);
    return Status();
  }

  Status rename_file(const std::string& from, const std::string& to) override {
    const std::string source = normalize_path(from);
    const std::string target = normalize_path(to);
    std::lock_guard lock(fs_->mutex);
    auto it = fs_->files.find(source);
    if (it == fs_->files.end()) return Status::not_found("no such file: " + from);
    if (source == target) return Status();
    if (fs_->dir_exists(target)) return Status::io_error("is a directory: " + to);
    if (!fs_->dir_exists(parent_path(target))) return Status::not_found("no such directory for file: " + to);
    std::shared_ptr<FileBytes> file = std::move(it->second);
    fs_->files.erase(it);
    fs_->files[target] = std::move(file);
    return Status();
  }

  Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) override {
    const std::string name = normalize_path(path);
    std::lock_guard lock(fs_->mutex);
    if (fs_->dir_exists(name)) return Status::io_error("is a directory: " + path);
    if (!fs_->files.contains(name)) {
      if (!fs_->dir_exists(parent_path(name))) return Status::not_found("no such directory for lock: " + path);
      fs_->files.emplace(name, std::make_shared<FileBytes>());
    }
    if (!fs_->locks.insert(name).second) return Status::io_error("lock " + path + " is held by another user");
    return std::unique_ptr<FileLock>(std::make_unique<MemoryLock>(fs_, name));
  }

  bool in_memory() const override { return true; }

 private:
  // Shared with the locks, which may outlive a careless caller's Env.
  std::shared_ptr<FileSystem> fs_ = std::make_shared<FileSystem>();
};

}  // namespace

std::unique_ptr<Env> new_memory_env() { return std::make_unique<MemoryEnv>(); }

}  // namespace evsrc
