#include "evsrc/uuid.h"

#include <uuid/uuid.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace evsrc {

bool Uuid::is_nil() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::string Uuid::to_string() const {
  char text[37];
  uuid_unparse_lower(bytes.data(), text);
  return std::string(text, 36);
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  char buffer[37];
  std::copy(text.begin(), text.end(), buffer);
  buffer[36] = '\0';
  Uuid uuid;
  if (uuid_parse(buffer, uuid.bytes.data()) != 0) return std::nullopt;
  return uuid;
}

Uuid Uuid::random() {
  // A per-thread generator seeded from the OS: libuuid's generator reads the
  // kernel's entropy on every call, which costs more than the rest of an
  // append of a small event.
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  const std::uint64_t high = generator();
  const std::uint64_t low = generator();
  Uuid uuid;
  std::memcpy(uuid.bytes.data(), &high, 8);
  std::memcpy(uuid.bytes.data() + 8, &low, 8);
  uuid.bytes[6] = static_cast<std::uint8_t>((uuid.bytes[6] & 0x0F) | 0x40);  // version 4
  uuid.bytes[8] = static_cast<std::uint8_t>((uuid.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return uuid;
}

}  // namespace evsrc
