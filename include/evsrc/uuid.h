// Uuid: the 16-byte identity of an event (RFC 4122 text form on the wire).
#pragma once

#include <array>
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

}  // namespace evsrc
