// PostgreSQL's binary wire format for the values the backend sends and
// reads in bulk: one-dimensional arrays (sent as one parameter, expanded by
// unnest(), so a whole group of events is one statement) and the int8 / uuid
// columns of binary results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "evsrc/uuid.h"

namespace evsrc::pg {

// Type OIDs of the elements and of their arrays (pg_type.h; stable across
// PostgreSQL versions).
enum TypeOid : std::uint32_t {
  kBool = 16, kBytea = 17, kInt8 = 20, kText = 25, kUuid = 2950,
  kBoolArray = 1000, kByteaArray = 1001, kTextArray = 1009, kInt8Array = 1016, kUuidArray = 2951,
};

// Builds the binary form of a one-dimensional array of one element type.
class ArrayBuilder {
 public:
  explicit ArrayBuilder(TypeOid element_type) : element_type_(element_type) {}
  void add_int8(std::int64_t value);
  void add_bool(bool value);
  void add_uuid(const Uuid& value);
  void add_bytes(std::string_view value);  // text or bytea elements
  void add_null();
  void add_optional_int8(std::optional<std::int64_t> value) { value ? add_int8(*value) : add_null(); }
  std::size_t size() const { return count_; }
  // The array's bytes (valid until the builder changes).
  const std::string& finish();

 private:
  void add_length(std::int32_t length);
  TypeOid element_type_;
  std::string elements_;
  std::string encoded_;
  std::size_t count_ = 0;
  bool has_null_ = false;
};

// A binary int8 / int4 / bool / uuid value of a result column.
std::int64_t read_int8(std::string_view bytes);
bool read_bool(std::string_view bytes);
Uuid read_uuid(std::string_view bytes);

}  // namespace evsrc::pg
