#include "evsrc/uuid.h"

#include "core/text_format.h"


#include <algorithm>
#include <cstring>
#include <random>

namespace evsrc {

bool Uuid::is_nil() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

namespace {

constexpr bool is_hyphen_at(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

char* write_uuid(char* out, const Uuid& uuid) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t byte = 0;
  for (std::size_t i = 0; i < kUuidTextSize;) {
    if (is_hyphen_at(i)) {
      out[i++] = '-';
      continue;
    }
    out[i++] = kHex[uuid.bytes[byte] >> 4];
    out[i++] = kHex[uuid.bytes[byte] & 0xF];
    ++byte;
  }
  return out + kUuidTextSize;
}

std::string Uuid::to_string() const {
  char text[kUuidTextSize];
  return std::string(text, write_uuid(text, *this));
}

// The hyphenated form, hex digits of any case (as libuuid's uuid_parse).
std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != kUuidTextSize) return std::nullopt;
  Uuid uuid;
  std::size_t byte = 0;
  for (std::size_t i = 0; i < kUuidTextSize;) {
    if (is_hyphen_at(i)) {
      if (text[i++] != '-') return std::nullopt;
      continue;
    }
    const int high = hex_digit_value(text[i]);
    const int low = hex_digit_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    uuid.bytes[byte++] = static_cast<std::uint8_t>(high << 4 | low);
    i += 2;
  }
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
