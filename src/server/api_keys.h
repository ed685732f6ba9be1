// API keys: who may call the server and what they may touch.
//
// A key is "evk_<id>_<secret>" (id: 12 hex digits, secret: 43 base64url
// characters = 32 random bytes). Only SHA-256(secret) is stored, in a JSON
// file in the data directory (default "<dir>/api-keys.json"), written
// atomically (temp file + fsync + rename), mode 0600. Roles nest:
// reader ⊂ writer ⊂ admin.
//   reader: every GET (reads, subscriptions, metadata, streams, projections,
//           stats, metrics);
//   writer: + appends, transactions, PUT metadata, soft delete;
//   admin:  + hard delete (tombstone).
// A key with stream prefixes may only touch streams starting with one of them;
// on $all and its subscription it must filter by such a prefix.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/status.h"

namespace evsrc::server {

enum class Role : std::uint8_t { reader = 0, writer = 1, admin = 2 };
std::string_view role_name(Role role);                  // "reader", "writer", "admin"
std::optional<Role> parse_role(std::string_view text);  // inverse of role_name

struct ApiKeyRecord {
  std::string id;    // public part, shown by `evsrc keys list`
  std::string name;  // free text given at creation
  Role role = Role::reader;
  std::vector<std::string> prefixes;  // empty = every stream
  std::string secret_sha256;          // hex
  std::string created_at;             // RFC 3339
};

// What a caller may do, once its key is known (or everything when auth is off).
struct Principal {
  std::string key_id;  // empty when auth is off
  Role role = Role::admin;
  std::vector<std::string> prefixes;
  bool may(Role needed) const { return role >= needed; }
  // True when the principal may touch `stream` (prefix permissions).
  bool may_access_stream(std::string_view stream) const;
  // True when every stream matching `prefix` is allowed (for $all reads).
  bool may_access_prefix(std::string_view prefix) const;
};

// The key file, with add/revoke for the CLI and lookup for the server.
// Thread-safe. The server calls authenticate() per request; it re-reads the
// file when its modification time changed (checked at most once a second), so
// keys added or revoked with the CLI take effect without a restart.
class ApiKeyFile {
 public:
  // `reload_check_interval`: how often authenticate() at most looks at the
  // file (tests shorten it).
  explicit ApiKeyFile(std::string path,
                      std::chrono::steady_clock::duration reload_check_interval = std::chrono::seconds(1));
  const std::string& path() const { return path_; }

  // Loads the file; a missing file is an empty key set. corruption when the
  // file is not a valid key file, io_error when it cannot be read (both name
  // the path); on failure the keys loaded before are kept.
  Status load();
  std::vector<ApiKeyRecord> list() const;
  bool empty() const;

  // Creates a key, saves the file and returns the full key (shown once).
  // add and revoke re-read the file under an exclusive lock ("<path>.lock")
  // first, so concurrent CLI calls never lose each other's changes; they
  // refuse to overwrite a file that does not load. invalid_argument for an
  // empty prefix.
  Result<std::string> add(std::string name, Role role, std::vector<std::string> prefixes);
  // Removes the key with this id; not_found when absent.
  Status revoke(std::string_view id);

  // The principal of an "Authorization" header value ("Bearer evk_..."):
  // nullopt when missing, malformed or unknown. Compares hashes in constant
  // time. When the file changed but no longer loads, the last good keys stay
  // in force (a broken file never lets anyone in).
  std::optional<Principal> authenticate(std::optional<std::string_view> authorization);

  // Changes whenever the keys in force may have changed (a load, a reload of
  // a changed file, add, revoke): a caller holding a principal looks its key
  // up again only then (live subscriptions).
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Looks at the file now (whatever the interval) and reloads it when it
  // changed; returns generation().
  std::uint64_t reload_now();

 private:
  // Which version of the file keys_ came from; any change makes
  // authenticate() re-read it (every save renames a new inode into place, so
  // two saves within one mtime tick are told apart too).
  struct FileVersion {
    bool exists = false;
    std::int64_t mtime_ns = -1;
    std::uint64_t inode = 0;
    std::int64_t size = -1;
    bool operator==(const FileVersion&) const = default;
  };

  // REQUIRES: mutex_ held (for all three).
  Status save_locked();  // also records the version written
  void reload_if_changed();
  Status read_file_locked();  // keys_ stay as they were on failure

  std::string path_;
  std::chrono::steady_clock::duration reload_check_interval_;
  mutable std::mutex mutex_;
  std::vector<ApiKeyRecord> keys_;
  FileVersion loaded_version_;
  std::chrono::steady_clock::time_point last_check_{};
  std::atomic<std::uint64_t> generation_{0};
};

// SHA-256 of `bytes` as 64 lowercase hex digits (OpenSSL).
std::string sha256_hex(std::string_view bytes);

}  // namespace evsrc::server
