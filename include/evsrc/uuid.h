// Uuid: the 16-byte identity of an event (RFC 4122 text form on the wire).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace evsrc {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  bool is_nil() const;
  // Lower-case "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
  std::string to_string() const;
  // Accepts the 36-character hyphenated form, any case; nullopt otherwise.
  static std::optional<Uuid> parse(std::string_view text);
  // A random (version 4) UUID. Thread-safe.
  static Uuid random();

  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// Hash for unordered containers keyed by Uuid (ids are random: mixing the
// two halves is enough).
struct UuidHash {
  std::size_t operator()(const Uuid& uuid) const {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    for (int i = 0; i < 8; ++i) {
      high = (high << 8) | uuid.bytes[i];
      low = (low << 8) | uuid.bytes[8 + i];
    }
    return static_cast<std::size_t>(high ^ (low * 0x9E3779B97F4A7C15ull));
  }
};

}  // namespace evsrc
