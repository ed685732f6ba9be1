#include "engine/fault_injection_env.h"

#include <algorithm>
#include <utility>

#include "engine/env_path.h"

namespace evsrc {

std::string_view env_op_name(EnvOp op) {
  switch (op) {
    case EnvOp::open:
      return "open";
    case EnvOp::create:
      return "create";
    case EnvOp::read:
      return "read";
    case EnvOp::write:
      return "write";
    case EnvOp::sync:
      return "sync";
    case EnvOp::allocate:
      return "allocate";
    case EnvOp::truncate:
      return "truncate";
    case EnvOp::size:
      return "size";
    case EnvOp::close:
      return "close";
    case EnvOp::file_exists:
      return "file_exists";
    case EnvOp::create_dirs:
      return "create_dirs";
    case EnvOp::sync_dir:
      return "sync_dir";
    case EnvOp::list_dir:
      return "list_dir";
    case EnvOp::remove:
      return "remove";
    case EnvOp::rename:
      return "rename";
    case EnvOp::lock:
      return "lock";
    case EnvOp::index_write:
      return "index_write";
  }
  return "unknown";
}

bool is_mutating(EnvOp op) {
  switch (op) {
    case EnvOp::create:
    case EnvOp::write:
    case EnvOp::sync:
    case EnvOp::allocate:
    case EnvOp::truncate:
    case EnvOp::create_dirs:
    case EnvOp::sync_dir:
    case EnvOp::remove:
    case EnvOp::rename:
      return true;
    default:
      return false;
  }
}

namespace {

// Operations that a dead disk also refuses when fail_after(..., fail_reads).
bool is_read(EnvOp op) { return op == EnvOp::open || op == EnvOp::read || op == EnvOp::size || op == EnvOp::list_dir; }

Status read_fully(const File& file, std::uint64_t offset, std::size_t n, std::string* out) {
  out->resize(n);
  std::size_t done = 0;
  while (done < n) {
    std::size_t got = 0;
    if (Status status = file.read_at(offset + done, n - done, out->data() + done, &got); !status.ok()) return status;
    if (got == 0) break;
    done += got;
  }
  out->resize(done);
  return Status();
}

}  // namespace

// What a file looked like at its last successful sync: its size then, and the
// bytes below that size overwritten or cut since, oldest first. Applying the
// undo log newest first and truncating to synced_size restores the image.
struct FaultInjectionEnv::FileState {
  std::string path;  // current path; follows renames
  std::uint64_t synced_size = 0;
  struct Undo {
    std::uint64_t offset;
    std::string bytes;
  };
  std::vector<Undo> undo;
  std::uint64_t unsynced_bytes = 0;
  // Byte ranges [first, second) written since the last sync attempt.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> written;
  // Ranges whose dirty pages a failed sync dropped (see fail_sync_locked):
  // their durable bytes by offset, non-overlapping. They read back as
  // written but no later sync makes them durable; writing them again does.
  std::map<std::uint64_t, std::string> stale;

  std::uint64_t stale_bytes() const {
    std::uint64_t total = 0;
    for (const auto& [offset, bytes] : stale) total += bytes.size();
    return total;
  }
  // Overlays the stale ranges' durable bytes on `image` (a file image of the
  // durable size), clipped to its size.
  void apply_stale(std::string& image) const {
    for (const auto& [offset, bytes] : stale) {
      if (offset >= image.size()) continue;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), image.size() - offset));
      image.replace(static_cast<std::size_t>(offset), n, bytes, 0, n);
    }
  }
  // Forgets the stale bytes in [begin, end): they were written again.
  void cut_stale(std::uint64_t begin, std::uint64_t end) {
    auto it = stale.upper_bound(begin);
    if (it != stale.begin()) --it;
    while (it != stale.end() && it->first < end) {
      const std::uint64_t first = it->first;
      const std::uint64_t last = first + it->second.size();
      if (last <= begin) {
        ++it;
        continue;
      }
      std::string bytes = std::move(it->second);
      it = stale.erase(it);
      if (first < begin) stale.emplace(first, bytes.substr(0, static_cast<std::size_t>(begin - first)));
      if (last > end) it = stale.emplace(end, bytes.substr(static_cast<std::size_t>(end - first))).first;
    }
  }
};

// One directory entry change not yet made durable by sync_dir.
struct FaultInjectionEnv::DirChange {
  enum class Kind : std::uint8_t { create, remove, rename } kind = Kind::create;
  std::string path;    // created / removed / renamed-from path
  std::string to;      // rename: the new path
  std::string dir;     // directory of `path`
  std::string to_dir;  // rename: directory of `to`
  // remove: the removed file's synced image; rename: the synced image of the
  // file that `to` replaced, if any.
  std::optional<std::string> saved;
};

class FaultInjectionEnv::FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::unique_ptr<File> base, std::shared_ptr<FileState> state, std::string path,
            std::uint64_t generation)
      : env_(env), base_(std::move(base)), state_(std::move(state)), path_(std::move(path)), generation_(generation) {}

  Status write_at(std::uint64_t offset, std::string_view data) override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::write, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) {
      if (*fault == FaultKind::short_write && data.size() > 1) {
        Status partial = tracked_write(offset, data.substr(0, data.size() / 2));
        if (!partial.ok()) return partial;
      }
      return fault_status(*fault, EnvOp::write, path());
    }
    return tracked_write(offset, data);
  }

  Status read_at(std::uint64_t offset, std::size_t n, char* scratch, std::size_t* bytes_read) const override {
    *bytes_read = 0;
    const std::optional<FaultKind> fault = env_->before(EnvOp::read, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) return fault_status(*fault, EnvOp::read, path());
    return base_->read_at(offset, n, scratch, bytes_read);
  }

  Status sync() override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::sync, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) {
      if (state_) {
        if (Status status = drop_dirty_pages(); !status.ok()) return status;
      }
      return fault_status(*fault, EnvOp::sync, path());
    }
    if (Status status = base_->sync(); !status.ok()) return status;
    if (!state_) return Status();
    Result<std::uint64_t> size = base_->size();
    if (!size.ok()) return size.status();
    std::lock_guard lock(env_->mutex_);
    state_->synced_size = *size;
    state_->undo.clear();
    state_->unsynced_bytes = 0;
    for (const auto& [begin, end] : state_->written) state_->cut_stale(begin, end);
    state_->written.clear();
    state_->cut_stale(*size, UINT64_MAX);
    return Status();
  }

  Status allocate(std::uint64_t size) override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::allocate, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) return fault_status(*fault, EnvOp::allocate, path());
    // Growth only: the final truncate to synced_size of a power loss undoes it.
    Result<std::uint64_t> old_size = base_->size();
    if (!old_size.ok()) return old_size.status();
    if (Status status = base_->allocate(size); !status.ok()) return status;
    if (state_ && size > *old_size) {
      std::lock_guard lock(env_->mutex_);
      state_->unsynced_bytes += size - *old_size;
    }
    return Status();
  }

  Status truncate(std::uint64_t size) override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::truncate, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) return fault_status(*fault, EnvOp::truncate, path());
    Result<std::uint64_t> old_size = base_->size();
    if (!old_size.ok()) return old_size.status();
    if (state_) {
      if (Status status = save_undo(size, *old_size > size ? *old_size - size : 0); !status.ok()) return status;
      std::lock_guard lock(env_->mutex_);
      state_->unsynced_bytes += *old_size > size ? *old_size - size : size - *old_size;
    }
    return base_->truncate(size);
  }

  Result<std::uint64_t> size() const override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::size, path());
    if (Status status = check_fresh(); !status.ok()) return status;
    if (fault) return fault_status(*fault, EnvOp::size, path());
    return base_->size();
  }

  Status close() override {
    const std::optional<FaultKind> fault = env_->before(EnvOp::close, path());
    Status status = base_->close();
    if (fault) return fault_status(*fault, EnvOp::close, path());
    return status;
  }

 private:
  std::string path() const {
    if (!state_) return path_;
    std::lock_guard lock(env_->mutex_);
    return state_->path;
  }

  Status check_fresh() const {
    std::lock_guard lock(env_->mutex_);
    if (generation_ != env_->generation_) {
      return Status::io_error("file handle " + path_ + " was opened before a simulated power loss");
    }
    return Status();
  }

  Status tracked_write(std::uint64_t offset, std::string_view data) {
    if (state_) {
      if (Status status = save_undo(offset, data.size()); !status.ok()) return status;
      std::lock_guard lock(env_->mutex_);
      state_->unsynced_bytes += data.size();
      state_->written.emplace_back(offset, offset + data.size());
    }
    return base_->write_at(offset, data);
  }

  // A failed sync as Linux does it ("fsyncgate"): the kernel marks the dirty
  // pages clean without having written them. Every byte whose current
  // content differs from its durable content becomes stale: it reads back as
  // written, but only a new write of it lets a later sync make it durable.
  Status drop_dirty_pages() {
    Result<std::uint64_t> size = base_->size();
    if (!size.ok()) return size.status();
    std::string current;
    if (Status status = read_fully(*base_, 0, static_cast<std::size_t>(*size), &current); !status.ok()) return status;
    std::lock_guard lock(env_->mutex_);
    FileState& state = *state_;
    std::string durable = current;
    for (auto undo = state.undo.rbegin(); undo != state.undo.rend(); ++undo) {
      const std::uint64_t end = undo->offset + undo->bytes.size();
      if (durable.size() < end) durable.resize(static_cast<std::size_t>(end), '\0');
      durable.replace(static_cast<std::size_t>(undo->offset), undo->bytes.size(), undo->bytes);
    }
    durable.resize(static_cast<std::size_t>(state.synced_size), '\0');
    state.apply_stale(durable);
    // Beyond the durable size a later sync of the size would expose what the
    // disk holds there: zeros.
    const std::size_t span = std::max(current.size(), durable.size());
    current.resize(span, '\0');
    durable.resize(span, '\0');
    state.stale.clear();
    for (std::size_t i = 0; i < span;) {
      if (current[i] == durable[i]) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < span && current[j] != durable[j]) ++j;
      state.stale.emplace(i, durable.substr(i, j - i));
      i = j;
    }
    state.undo.clear();
    state.written.clear();
    return Status();
  }

  // Records the current bytes of [offset, offset + n) that lie below the
  // synced size, before they are overwritten or cut.
  Status save_undo(std::uint64_t offset, std::uint64_t n) {
    std::uint64_t synced_size;
    {
      std::lock_guard lock(env_->mutex_);
      synced_size = state_->synced_size;
    }
    if (offset >= synced_size || n == 0) return Status();
    const std::uint64_t end = std::min(offset + n, synced_size);
    std::string old;
    if (Status status = read_fully(*base_, offset, end - offset, &old); !status.ok()) return status;
    if (old.empty()) return Status();  // beyond the current end: an earlier undo covers it
    std::lock_guard lock(env_->mutex_);
    state_->undo.push_back({offset, std::move(old)});
    return Status();
  }

  FaultInjectionEnv* const env_;
  const std::unique_ptr<File> base_;
  const std::shared_ptr<FileState> state_;  // null for read-only handles
  const std::string path_;
  const std::uint64_t generation_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* base) : base_(base) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

std::optional<FaultKind> FaultInjectionEnv::before(EnvOp op, const std::string& path) {
  std::optional<FaultKind> fault;
  std::shared_ptr<const Observer> observer;
  {
    std::lock_guard lock(mutex_);
    ++counts_[op];
    for (auto it = rules_.begin(); it != rules_.end();) {
      const bool matches = it->op ? *it->op == op : is_mutating(op);
      if (!matches) {
        ++it;
      } else if (it->remaining == 0) {
        if (!fault) fault = it->fault;
        it = rules_.erase(it);
      } else {
        --it->remaining;
        ++it;
      }
    }
    if (countdown_) {
      if (is_mutating(op)) {
        if (*countdown_ == 0) {
          if (!fault) fault = countdown_fault_;
        } else {
          --*countdown_;
        }
      } else if (countdown_fails_reads_ && *countdown_ == 0 && is_read(op) && !fault) {
        fault = countdown_fault_;
      }
    }
    if (fault) ++injected_;
    observer = observer_;
  }
  if (observer && *observer) (*observer)(op, path);
  return fault;
}

Status FaultInjectionEnv::fault_status(FaultKind fault, EnvOp op, const std::string& path) {
  std::string where = std::string(env_op_name(op)) + " " + path;
  if (fault == FaultKind::io_error) return Status::io_error("injected input/output error (EIO) in " + where);
  if (fault == FaultKind::no_descriptors) {
    return Status::unavailable("injected: too many open files (EMFILE) in " + where);
  }
  return Status::io_error("injected: no space left on device (ENOSPC) in " + where);
}

std::shared_ptr<FaultInjectionEnv::FileState> FaultInjectionEnv::state_for_locked(const std::string& path,
                                                                                  std::uint64_t durable_size) {
  auto [it, inserted] = files_.try_emplace(path);
  if (inserted) {
    it->second = std::make_shared<FileState>();
    it->second->path = path;
    it->second->synced_size = durable_size;
  }
  return it->second;
}

Result<std::unique_ptr<File>> FaultInjectionEnv::open_file(const std::string& path, OpenMode mode) {
  const EnvOp op = mode == OpenMode::create ? EnvOp::create : EnvOp::open;
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(op, name)) return fault_status(*fault, op, name);
  const bool existed = mode != OpenMode::create || base_->file_exists(name);
  Result<std::unique_ptr<File>> base_file = base_->open_file(name, mode);
  if (!base_file.ok()) return base_file.status();
  std::uint64_t durable_size = 0;
  if (existed && mode != OpenMode::read_only) {
    Result<std::uint64_t> size = (*base_file)->size();
    if (!size.ok()) return size.status();
    durable_size = *size;
  }
  std::lock_guard lock(mutex_);
  std::shared_ptr<FileState> state;
  if (mode != OpenMode::read_only) {
    if (!existed) {
      DirChange& change = dir_changes_.emplace_back();
      change.kind = DirChange::Kind::create;
      change.path = name;
      change.dir = parent_path(name);
    }
    state = state_for_locked(name, durable_size);
  }
  return std::unique_ptr<File>(
      std::make_unique<FaultFile>(this, std::move(*base_file), std::move(state), name, generation_));
}

bool FaultInjectionEnv::file_exists(const std::string& path) {
  const std::string name = normalize_path(path);
  (void)before(EnvOp::file_exists, name);  // a yes/no answer cannot fail
  return base_->file_exists(name);
}

Status FaultInjectionEnv::create_dirs(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::create_dirs, name)) {
    return fault_status(*fault, EnvOp::create_dirs, name);
  }
  return base_->create_dirs(path);
}

Status FaultInjectionEnv::sync_dir(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::sync_dir, name))
    return fault_status(*fault, EnvOp::sync_dir, name);
  if (Status status = base_->sync_dir(path); !status.ok()) return status;
  std::lock_guard lock(mutex_);
  std::erase_if(dir_changes_, [&](const DirChange& change) { return change.dir == name || change.to_dir == name; });
  return Status();
}

Result<std::vector<std::string>> FaultInjectionEnv::list_dir(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::list_dir, name))
    return fault_status(*fault, EnvOp::list_dir, name);
  return base_->list_dir(path);
}

Result<std::string> FaultInjectionEnv::synced_image_locked(const std::string& path) {
  Result<std::unique_ptr<File>> file = base_->open_file(path, OpenMode::read_only);
  if (!file.ok()) return file.status();
  Result<std::uint64_t> size = (*file)->size();
  if (!size.ok()) return size.status();
  std::string image;
  if (Status status = read_fully(**file, 0, *size, &image); !status.ok()) return status;
  (void)(*file)->close();
  auto it = files_.find(path);
  if (it == files_.end()) return image;
  const FileState& state = *it->second;
  for (auto undo = state.undo.rbegin(); undo != state.undo.rend(); ++undo) {
    const std::uint64_t end = undo->offset + undo->bytes.size();
    if (image.size() < end) image.resize(end, '\0');
    image.replace(undo->offset, undo->bytes.size(), undo->bytes);
  }
  image.resize(state.synced_size, '\0');
  state.apply_stale(image);
  return image;
}

Status FaultInjectionEnv::remove_file(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::remove, name)) return fault_status(*fault, EnvOp::remove, name);
  std::lock_guard lock(mutex_);
  std::optional<std::string> saved;
  if (base_->file_exists(name)) {
    Result<std::string> image = synced_image_locked(name);
    if (!image.ok()) return image.status();
    saved = std::move(*image);
  }
  if (Status status = base_->remove_file(name); !status.ok()) return status;
  DirChange& change = dir_changes_.emplace_back();
  change.kind = DirChange::Kind::remove;
  change.path = name;
  change.dir = parent_path(name);
  change.saved = std::move(saved);
  files_.erase(name);
  return Status();
}

Status FaultInjectionEnv::rename_file(const std::string& from, const std::string& to) {
  const std::string source = normalize_path(from);
  const std::string target = normalize_path(to);
  if (std::optional<FaultKind> fault = before(EnvOp::rename, source))
    return fault_status(*fault, EnvOp::rename, source);
  std::lock_guard lock(mutex_);
  if (source == target) return base_->rename_file(source, target);
  std::optional<std::string> replaced;
  if (base_->file_exists(target)) {
    Result<std::string> image = synced_image_locked(target);
    if (!image.ok()) return image.status();
    replaced = std::move(*image);
  }
  if (Status status = base_->rename_file(source, target); !status.ok()) return status;
  DirChange& change = dir_changes_.emplace_back();
  change.kind = DirChange::Kind::rename;
  change.path = source;
  change.to = target;
  change.dir = parent_path(source);
  change.to_dir = parent_path(target);
  change.saved = std::move(replaced);
  files_.erase(target);
  if (auto node = files_.extract(source)) {
    node.key() = target;
    node.mapped()->path = target;
    files_.insert(std::move(node));
  }
  return Status();
}

Result<std::unique_ptr<FileLock>> FaultInjectionEnv::lock_file(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::lock, name)) return fault_status(*fault, EnvOp::lock, name);
  return base_->lock_file(name);
}

bool FaultInjectionEnv::in_memory() const { return base_->in_memory(); }

Status FaultInjectionEnv::before_index_write(const std::string& path) {
  const std::string name = normalize_path(path);
  if (std::optional<FaultKind> fault = before(EnvOp::index_write, name)) {
    return fault_status(*fault, EnvOp::index_write, name);
  }
  return base_->before_index_write(name);
}

void FaultInjectionEnv::fail_nth(EnvOp op, std::uint64_t n, FaultKind fault) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{op, n, fault});
}

void FaultInjectionEnv::fail_nth_mutation(std::uint64_t n, FaultKind fault) {
  std::lock_guard lock(mutex_);
  rules_.push_back(Rule{std::nullopt, n, fault});
}

void FaultInjectionEnv::fail_after(std::uint64_t n, FaultKind fault, bool fail_reads) {
  std::lock_guard lock(mutex_);
  countdown_ = n;
  countdown_fault_ = fault;
  countdown_fails_reads_ = fail_reads;
}

void FaultInjectionEnv::reset() {
  std::lock_guard lock(mutex_);
  rules_.clear();
  countdown_.reset();
  countdown_fails_reads_ = false;
}

std::uint64_t FaultInjectionEnv::count(EnvOp op) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(op);
  return it == counts_.end() ? 0 : it->second;
}

std::uint64_t FaultInjectionEnv::mutation_count() const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const auto& [op, n] : counts_) {
    if (is_mutating(op)) total += n;
  }
  return total;
}

std::uint64_t FaultInjectionEnv::injected_faults() const {
  std::lock_guard lock(mutex_);
  return injected_;
}

void FaultInjectionEnv::reset_counters() {
  std::lock_guard lock(mutex_);
  counts_.clear();
  injected_ = 0;
}

void FaultInjectionEnv::set_observer(Observer observer) {
  std::lock_guard lock(mutex_);
  observer_ = observer ? std::make_shared<const Observer>(std::move(observer)) : nullptr;
}

std::uint64_t FaultInjectionEnv::unsynced_bytes() const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = 0;
  for (const auto& [path, state] : files_) total += state->unsynced_bytes + state->stale_bytes();
  return total;
}

std::uint64_t FaultInjectionEnv::unsynced_dir_entries() const {
  std::lock_guard lock(mutex_);
  return dir_changes_.size();
}

Status FaultInjectionEnv::restore_file(const std::string& path, const std::string& bytes) {
  Result<std::unique_ptr<File>> file = base_->open_file(path, OpenMode::create);
  if (!file.ok()) return file.status();
  Status status = (*file)->truncate(0);
  if (status.ok()) status = (*file)->write_at(0, bytes);
  if (status.ok()) status = (*file)->sync();
  Status closed = (*file)->close();
  return status.ok() ? closed : status;
}

Status FaultInjectionEnv::drop_unsynced_data() {
  std::lock_guard lock(mutex_);
  Status first_error;
  auto note = [&](Status status) {
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  };

  // Entry changes, newest first, so that each undo sees the state it made.
  for (auto change = dir_changes_.rbegin(); change != dir_changes_.rend(); ++change) {
    switch (change->kind) {
      case DirChange::Kind::create:
        if (base_->file_exists(change->path)) note(base_->remove_file(change->path));
        files_.erase(change->path);
        break;
      case DirChange::Kind::remove:
        if (change->saved) {
          note(restore_file(change->path, *change->saved));
          files_.erase(change->path);
        }
        break;
      case DirChange::Kind::rename:
        if (base_->file_exists(change->to)) {
          note(base_->rename_file(change->to, change->path));
          files_.erase(change->path);
          if (auto node = files_.extract(change->to)) {
            node.key() = change->path;
            node.mapped()->path = change->path;
            files_.insert(std::move(node));
          }
        }
        if (change->saved) {
          note(restore_file(change->to, *change->saved));
          files_.erase(change->to);
        }
        break;
    }
  }

  // File contents: back to the last synced image.
  for (const auto& [path, state] : files_) {
    if (state->undo.empty() && state->unsynced_bytes == 0 && state->stale.empty()) continue;
    if (!base_->file_exists(path)) continue;
    Result<std::unique_ptr<File>> file = base_->open_file(path, OpenMode::read_write);
    if (!file.ok()) {
      note(file.status());
      continue;
    }
    for (auto undo = state->undo.rbegin(); undo != state->undo.rend(); ++undo) {
      note((*file)->write_at(undo->offset, undo->bytes));
    }
    note((*file)->truncate(state->synced_size));
    for (const auto& [offset, bytes] : state->stale) {
      if (offset >= state->synced_size) continue;
      note((*file)->write_at(offset, std::string_view(bytes).substr(
                                         0, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                bytes.size(), state->synced_size - offset)))));
    }
    note((*file)->sync());
    note((*file)->close());
  }

  files_.clear();
  dir_changes_.clear();
  ++generation_;
  return first_error;
}

}  // namespace evsrc
