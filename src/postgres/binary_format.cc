#include "postgres/binary_format.h"

#include <cstring>

namespace evsrc::pg {
namespace {

void put_be32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
void put_be64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

void ArrayBuilder::add_length(std::int32_t length) { put_be32(elements_, static_cast<std::uint32_t>(length)); }

void ArrayBuilder::add_int8(std::int64_t value) {
  add_length(8);
  put_be64(elements_, static_cast<std::uint64_t>(value));
  ++count_;
}
void ArrayBuilder::add_bool(bool value) {
  add_length(1);
  elements_.push_back(value ? 1 : 0);
  ++count_;
}
void ArrayBuilder::add_uuid(const Uuid& value) {
  add_length(16);
  elements_.append(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size());
  ++count_;
}
void ArrayBuilder::add_bytes(std::string_view value) {
  add_length(static_cast<std::int32_t>(value.size()));
  elements_.append(value);
  ++count_;
}
void ArrayBuilder::add_null() {
  add_length(-1);
  has_null_ = true;
  ++count_;
}

// array_recv's format: ndim, has-null flag, element type, then per dimension
// its length and lower bound, then each element as length + bytes (-1 for
// NULL). An empty array has no dimensions.
const std::string& ArrayBuilder::finish() {
  encoded_.clear();
  put_be32(encoded_, count_ == 0 ? 0 : 1);
  put_be32(encoded_, has_null_ ? 1 : 0);
  put_be32(encoded_, element_type_);
  if (count_ > 0) {
    put_be32(encoded_, static_cast<std::uint32_t>(count_));
    put_be32(encoded_, 1);
  }
  encoded_ += elements_;
  return encoded_;
}

std::int64_t read_int8(std::string_view bytes) {
  std::uint64_t value = 0;
  for (const char c : bytes) value = (value << 8) | static_cast<std::uint8_t>(c);
  if (bytes.size() == 4 && (value & 0x80000000u) != 0) value |= ~0xffffffffull;  // int4: sign-extend
  return static_cast<std::int64_t>(value);
}

bool read_bool(std::string_view bytes) { return !bytes.empty() && bytes[0] != 0; }

Uuid read_uuid(std::string_view bytes) {
  Uuid uuid;
  if (bytes.size() == uuid.bytes.size()) std::memcpy(uuid.bytes.data(), bytes.data(), bytes.size());
  return uuid;
}

}  // namespace evsrc::pg
