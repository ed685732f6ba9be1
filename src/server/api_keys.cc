// The API key file. Its format (version 1), one JSON object:
//
//   {"version": 1,
//    "keys": [{"id": "<12 lowercase hex>", "name": "<text>",
//              "role": "reader" | "writer" | "admin",
//              "prefixes": ["<non-empty stream prefix>", ...],
//              "secretSha256": "<64 lowercase hex: SHA-256 of the 43-character secret>",
//              "createdAt": "<RFC 3339 UTC>"}, ...]}
//
// Ids are unique. Anything else (other versions included) is corruption, so a
// damaged file is never taken for "no keys".
#include "server/api_keys.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "evsrc/types.h"

namespace evsrc::server {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kKeyPrefix = "evk_";
constexpr std::size_t kIdBytes = 6;  // 12 hex digits
constexpr std::size_t kIdDigits = 2 * kIdBytes;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kSecretChars = 43;  // base64url of 32 bytes, no padding
constexpr std::size_t kKeyLength = kKeyPrefix.size() + kIdDigits + 1 + kSecretChars;
constexpr std::size_t kSha256HexDigits = 64;
constexpr int kFileVersion = 1;
// A key file holds at most a few thousand keys; anything much larger is not one.
constexpr std::int64_t kMaxFileBytes = 64 << 20;

Status posix_error(const std::string& what, const std::string& path, int error) {
  return Status::io_error(what + " " + path + ": " + std::strerror(error));
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    text.push_back(kDigits[bytes[i] >> 4]);
    text.push_back(kDigits[bytes[i] & 0x0f]);
  }
  return text;
}

std::string to_base64url(const unsigned char* bytes, std::size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string text;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | bytes[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) text.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return text;
}

bool is_lower_hex(std::string_view text, std::size_t digits) {
  return text.size() == digits &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_base64url(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<std::string> random_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(size)) != 1) {
    return Status::io_error("the random number generator (OpenSSL RAND_bytes) failed");
  }
  return bytes;
}

const unsigned char* as_bytes(const std::string& text) { return reinterpret_cast<const unsigned char*>(text.data()); }

// A key split into its parts; nullopt when it does not have the key format.
struct ParsedKey {
  std::string_view id;
  std::string_view secret;
};

std::optional<ParsedKey> parse_key(std::string_view key) {
  if (key.size() != kKeyLength || !key.starts_with(kKeyPrefix)) return std::nullopt;
  const std::string_view id = key.substr(kKeyPrefix.size(), kIdDigits);
  if (!is_lower_hex(id, kIdDigits) || key[kKeyPrefix.size() + kIdDigits] != '_') return std::nullopt;
  const std::string_view secret = key.substr(kKeyPrefix.size() + kIdDigits + 1);
  if (!is_base64url(secret)) return std::nullopt;
  return ParsedKey{id, secret};
}

// The token of "Bearer <token>" (scheme case-insensitive, RFC 7235).
std::optional<std::string_view> bearer_token(std::string_view value) {
  constexpr std::string_view kBlank = " \t";
  const auto trim = [&](std::string_view text) {
    const std::size_t begin = text.find_first_not_of(kBlank);
    if (begin == std::string_view::npos) return std::string_view();
    return text.substr(begin, text.find_last_not_of(kBlank) - begin + 1);
  };
  value = trim(value);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || kBlank.find(value[kScheme.size()]) == std::string_view::npos) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = value[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return std::nullopt;
  }
  return trim(value.substr(kScheme.size()));
}

// What identifies one version of the key file.
struct FileStat {
  bool exists = false;
  std::int64_t mtime_ns = -1;
  std::uint64_t inode = 0;
  std::int64_t size = -1;
};

// ApiKeyFile::FileVersion (private, hence the template) of a FileStat.
template <typename FileVersion>
FileVersion version_of(const FileStat& stat) {
  return FileVersion{stat.exists, stat.mtime_ns, stat.inode, stat.size};
}

// The keys and the version they were read from (one open file description).
struct KeyFileContents {
  FileStat stat;
  std::vector<ApiKeyRecord> keys;
};

FileStat file_stat_of(const struct stat& info) {
  return FileStat{true, static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
                  static_cast<std::uint64_t>(info.st_ino), static_cast<std::int64_t>(info.st_size)};
}

Result<FileStat> stat_key_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return FileStat{};
    return posix_error("stat", path, errno);
  }
  return file_stat_of(info);
}

Status corrupt(const std::string& path, const std::string& what) {
  return Status::corruption("API key file " + path + " is not valid: " + what);
}

Result<std::vector<ApiKeyRecord>> parse_key_file(const std::string& path, const std::string& text) {
  const Json document = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return corrupt(path, "not JSON");
  if (!document.is_object()) return corrupt(path, "not a JSON object");
  const auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer() || version->get<std::int64_t>() != kFileVersion) {
    return corrupt(path, "\"version\" is not " + std::to_string(kFileVersion));
  }
  const auto keys = document.find("keys");
  if (keys == document.end() || !keys->is_array()) return corrupt(path, "\"keys\" is not an array");
  std::vector<ApiKeyRecord> records;
  for (const Json& entry : *keys) {
    const std::string where = "key #" + std::to_string(records.size() + 1);
    if (!entry.is_object()) return corrupt(path, where + " is not an object");
    const auto text_field = [&](const char* name) -> const Json* {
      const auto field = entry.find(name);
      return field != entry.end() && field->is_string() ? &*field : nullptr;
    };
    const Json* id = text_field("id");
    const Json* name = text_field("name");
    const Json* role = text_field("role");
    const Json* hash = text_field("secretSha256");
    const Json* created_at = text_field("createdAt");
    if (!id || !name || !role || !hash || !created_at) {
      return corrupt(path, where + " lacks one of the text fields id, name, role, secretSha256, createdAt");
    }
    ApiKeyRecord record;
    record.id = id->get<std::string>();
    if (!is_lower_hex(record.id, kIdDigits)) return corrupt(path, where + " has a malformed id");
    const std::optional<Role> parsed_role = parse_role(role->get<std::string>());
    if (!parsed_role) return corrupt(path, where + " has an unknown role");
    record.role = *parsed_role;
    record.secret_sha256 = hash->get<std::string>();
    if (!is_lower_hex(record.secret_sha256, kSha256HexDigits)) {
      return corrupt(path, where + " has a malformed secretSha256");
    }
    record.name = name->get<std::string>();
    record.created_at = created_at->get<std::string>();
    const auto prefixes = entry.find("prefixes");
    if (prefixes == entry.end() || !prefixes->is_array()) return corrupt(path, where + " lacks a prefixes array");
    for (const Json& prefix : *prefixes) {
      if (!prefix.is_string() || prefix.get_ref<const std::string&>().empty()) {
        return corrupt(path, where + " has a prefix that is not a non-empty string");
      }
      record.prefixes.push_back(prefix.get<std::string>());
    }
    const bool duplicate =
        std::any_of(records.begin(), records.end(), [&](const ApiKeyRecord& other) { return other.id == record.id; });
    if (duplicate) return corrupt(path, "the id " + record.id + " appears twice");
    records.push_back(std::move(record));
  }
  return records;
}

std::string serialize_key_file(const std::vector<ApiKeyRecord>& keys) {
  Json entries = Json::array();
  for (const ApiKeyRecord& key : keys) {
    entries.push_back(Json{{"id", key.id},
                           {"name", key.name},
                           {"role", std::string(role_name(key.role))},
                           {"prefixes", key.prefixes},
                           {"secretSha256", key.secret_sha256},
                           {"createdAt", key.created_at}});
  }
  const Json document = {{"version", kFileVersion}, {"keys", std::move(entries)}};
  std::string text = document.dump(2, ' ', false, Json::error_handler_t::replace);
  text.push_back('\n');
  return text;
}

// Closes a descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error close() returns.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

Result<KeyFileContents> read_key_file(const std::string& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    if (errno == ENOENT) return KeyFileContents{};
    return posix_error("open", path, errno);
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return posix_error("stat", path, errno);
  if (!S_ISREG(info.st_mode)) return Status::io_error("API key file " + path + " is not a regular file");
  if (info.st_size > kMaxFileBytes) return corrupt(path, "larger than " + std::to_string(kMaxFileBytes) + " bytes");
  std::string text;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return posix_error("read", path, errno);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (static_cast<std::int64_t>(text.size()) > kMaxFileBytes) {
      return corrupt(path, "larger than " + std::to_string(kMaxFileBytes) + " bytes");
    }
  }
  auto keys = parse_key_file(path, text);
  if (!keys.ok()) return keys.status();
  return KeyFileContents{file_stat_of(info), std::move(keys).value()};
}

std::string parent_directory(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return posix_error("write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status();
}

Status sync_directory(const std::string& directory) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return posix_error("open directory", directory, errno);
  if (::fsync(dir.get()) != 0) return posix_error("fsync directory", directory, errno);
  return Status();
}

// Replaces `path` with `text` so that a crash leaves either the old or the
// new file, never a mix: a temp file in the same directory (mode 0600),
// fsync, rename over `path`, fsync of the directory. Returns the version of
// the file written (a rename keeps inode and mtime).
Result<FileStat> replace_file_atomically(const std::string& path, std::string_view text) {
  std::string temp_path = path + ".tmp-XXXXXX";
  FileDescriptor temp(::mkostemp(temp_path.data(), O_CLOEXEC));
  if (temp.get() < 0) return posix_error("create a temp file for", path, errno);
  Status status;
  if (::fchmod(temp.get(), S_IRUSR | S_IWUSR) != 0) status = posix_error("chmod", temp_path, errno);
  if (status.ok()) status = write_all(temp.get(), text, temp_path);
  if (status.ok() && ::fsync(temp.get()) != 0) status = posix_error("fsync", temp_path, errno);
  struct stat info {};
  if (status.ok() && ::fstat(temp.get(), &info) != 0) status = posix_error("stat", temp_path, errno);
  if (temp.close() != 0 && status.ok()) status = posix_error("close", temp_path, errno);
  if (status.ok() && ::rename(temp_path.c_str(), path.c_str()) != 0) status = posix_error("rename onto", path, errno);
  if (!status.ok()) {
    ::unlink(temp_path.c_str());
    return status;
  }
  if (Status synced = sync_directory(parent_directory(path)); !synced.ok()) return synced;
  return file_stat_of(info);
}

// An exclusive lock on "<path>.lock" held while the key file is read,
// changed and written back, so concurrent add/revoke calls (other processes
// included) see each other's changes.
class KeyFileLock {
 public:
  static Result<std::unique_ptr<KeyFileLock>> acquire(const std::string& key_file_path) {
    const std::string lock_path = key_file_path + ".lock";
    auto file =
        std::make_unique<FileDescriptor>(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR));
    if (file->get() < 0) return posix_error("open lock", lock_path, errno);
    while (::flock(file->get(), LOCK_EX) != 0) {
      if (errno != EINTR) return posix_error("lock", lock_path, errno);
    }
    return std::unique_ptr<KeyFileLock>(new KeyFileLock(std::move(file)));
  }

 private:
  explicit KeyFileLock(std::unique_ptr<FileDescriptor> file) : file_(std::move(file)) {}
  std::unique_ptr<FileDescriptor> file_;  // closing it releases the lock
};

std::string now_rfc3339() {
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  return format_rfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(now));
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::reader:
      return "reader";
    case Role::writer:
      return "writer";
    case Role::admin:
      return "admin";
  }
  return "reader";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role role : {Role::reader, Role::writer, Role::admin}) {
    if (role_name(role) == text) return role;
  }
  return std::nullopt;
}

bool Principal::may_access_stream(std::string_view stream) const {
  if (prefixes.empty()) return true;
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& prefix) { return stream.starts_with(prefix); });
}

bool Principal::may_access_prefix(std::string_view prefix) const {
  // Every stream matching `prefix` starts with it, so it suffices that
  // `prefix` itself starts with an allowed prefix.
  return may_access_stream(prefix);
}

std::string sha256_hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) return "";
  return to_hex(digest.data(), size);
}

ApiKeyFile::ApiKeyFile(std::string path, std::chrono::steady_clock::duration reload_check_interval)
    : path_(std::move(path)), reload_check_interval_(reload_check_interval) {}

Status ApiKeyFile::load() {
  std::lock_guard lock(mutex_);
  auto contents = read_key_file(path_);
  if (!contents.ok()) return contents.status();
  keys_ = std::move(contents->keys);
  loaded_version_ = version_of<FileVersion>(contents->stat);
  last_check_ = std::chrono::steady_clock::now();
  generation_.fetch_add(1, std::memory_order_release);
  return Status();
}

std::vector<ApiKeyRecord> ApiKeyFile::list() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

bool ApiKeyFile::empty() const {
  std::lock_guard lock(mutex_);
  return keys_.empty();
}

Status ApiKeyFile::read_file_locked() {
  auto contents = read_key_file(path_);
  if (!contents.ok()) return contents.status();
  keys_ = std::move(contents->keys);
  loaded_version_ = version_of<FileVersion>(contents->stat);
  generation_.fetch_add(1, std::memory_order_release);
  return Status();
}

Status ApiKeyFile::save_locked() {
  auto written = replace_file_atomically(path_, serialize_key_file(keys_));
  if (!written.ok()) return written.status();
  // Our own write is not a change to reload.
  loaded_version_ = version_of<FileVersion>(*written);
  generation_.fetch_add(1, std::memory_order_release);
  return Status();
}

Result<std::string> ApiKeyFile::add(std::string name, Role role, std::vector<std::string> prefixes) {
  if (std::any_of(prefixes.begin(), prefixes.end(), [](const std::string& prefix) { return prefix.empty(); })) {
    return Status::invalid_argument("an empty stream prefix (leave prefixes out to allow every stream)");
  }
  std::vector<std::string> unique_prefixes;
  for (std::string& prefix : prefixes) {
    if (std::find(unique_prefixes.begin(), unique_prefixes.end(), prefix) == unique_prefixes.end()) {
      unique_prefixes.push_back(std::move(prefix));
    }
  }

  std::lock_guard lock(mutex_);
  auto file_lock = KeyFileLock::acquire(path_);
  if (!file_lock.ok()) return file_lock.status();
  if (Status status = read_file_locked(); !status.ok()) return status;

  ApiKeyRecord record;
  for (;;) {
    auto id_bytes = random_bytes(kIdBytes);
    if (!id_bytes.ok()) return id_bytes.status();
    record.id = to_hex(as_bytes(*id_bytes), id_bytes->size());
    const bool taken =
        std::any_of(keys_.begin(), keys_.end(), [&](const ApiKeyRecord& key) { return key.id == record.id; });
    if (!taken) break;
  }
  auto secret_bytes = random_bytes(kSecretBytes);
  if (!secret_bytes.ok()) return secret_bytes.status();
  const std::string secret = to_base64url(as_bytes(*secret_bytes), secret_bytes->size());
  OPENSSL_cleanse(secret_bytes->data(), secret_bytes->size());
  record.name = std::move(name);
  record.role = role;
  record.prefixes = std::move(unique_prefixes);
  record.secret_sha256 = sha256_hex(secret);
  record.created_at = now_rfc3339();
  std::string key = std::string(kKeyPrefix) + record.id + "_" + secret;

  keys_.push_back(std::move(record));
  if (Status status = save_locked(); !status.ok()) {
    keys_.pop_back();
    return status;
  }
  return key;
}

Status ApiKeyFile::revoke(std::string_view id) {
  const Status not_found = Status::not_found("no API key with id '" + std::string(id) + "' in " + path_);
  std::lock_guard lock(mutex_);
  auto file_lock = KeyFileLock::acquire(path_);
  if (!file_lock.ok()) {
    // No directory, hence no file: there is nothing to revoke.
    const auto version = stat_key_file(path_);
    return version.ok() && !version->exists ? not_found : file_lock.status();
  }
  if (Status status = read_file_locked(); !status.ok()) return status;
  const auto found = std::find_if(keys_.begin(), keys_.end(), [&](const ApiKeyRecord& key) { return key.id == id; });
  if (found == keys_.end()) return not_found;
  ApiKeyRecord removed = std::move(*found);
  const auto position = keys_.erase(found);
  if (Status status = save_locked(); !status.ok()) {
    keys_.insert(position, std::move(removed));
    return status;
  }
  return Status();
}

std::uint64_t ApiKeyFile::reload_now() {
  std::lock_guard lock(mutex_);
  last_check_ = {};
  reload_if_changed();
  return generation();
}

void ApiKeyFile::reload_if_changed() {
  const auto now = std::chrono::steady_clock::now();
  if (last_check_ != std::chrono::steady_clock::time_point{} && now - last_check_ < reload_check_interval_) return;
  last_check_ = now;
  auto version = stat_key_file(path_);
  if (!version.ok()) return;  // keep the keys in force
  if (version_of<FileVersion>(*version) == loaded_version_) return;
  // A file that does not load (yet) keeps the last good keys; it is tried
  // again at the next check.
  (void)read_file_locked();
}

std::optional<Principal> ApiKeyFile::authenticate(std::optional<std::string_view> authorization) {
  if (!authorization) return std::nullopt;
  const std::optional<std::string_view> token = bearer_token(*authorization);
  if (!token) return std::nullopt;
  const std::optional<ParsedKey> key = parse_key(*token);
  if (!key) return std::nullopt;
  const std::string presented_hash = sha256_hex(key->secret);
  if (presented_hash.size() != kSha256HexDigits) return std::nullopt;

  std::lock_guard lock(mutex_);
  reload_if_changed();
  const auto found =
      std::find_if(keys_.begin(), keys_.end(), [&](const ApiKeyRecord& record) { return record.id == key->id; });
  if (found == keys_.end() || found->secret_sha256.size() != kSha256HexDigits) return std::nullopt;
  if (CRYPTO_memcmp(presented_hash.data(), found->secret_sha256.data(), kSha256HexDigits) != 0) return std::nullopt;
  return Principal{found->id, found->role, found->prefixes};
}

}  // namespace evsrc::server
