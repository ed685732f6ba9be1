// Fixed-width integer encoding. Log records are little-endian; index keys are
// big-endian so that byte order sorts numerically.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace evsrc::coding {

inline void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }

template <typename T>
inline void put_le(std::string& out, T v) {
  char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * i)) & 0xFF);
  out.append(bytes, sizeof(T));
}

template <typename T>
inline T get_le(const char* p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

inline void put_be64(std::string& out, std::uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (56 - 8 * i)) & 0xFF);
  out.append(bytes, 8);
}

inline std::uint64_t get_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads fixed-width fields from a byte range, remembering overruns so that a
// decoder checks once at the end instead of after every field.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  template <typename T>
  T le() {
    if (!take(sizeof(T))) return T{};
    return get_le<T>(data_.data() + pos_ - sizeof(T));
  }
  std::string_view bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.substr(pos_ - n, n);
  }
  bool ok() const { return ok_; }
  std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }

 private:
  bool take(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace evsrc::coding
