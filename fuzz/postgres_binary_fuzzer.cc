// Feeds: the fuzz bytes as binary result values of the PostgreSQL backend
// (src/postgres/binary_format.h: read_int8, read_bool, read_uuid — the
// decoders of int8 / int4 / bool / uuid columns the server sends), each value
// a length byte (mod 20) and that many bytes.
// Asserts: no crash or sanitizer report for any length; an 8-byte value reads
// as the big-endian int8 that ArrayBuilder::add_int8 writes as the same
// bytes, a 4-byte value as the sign-extended big-endian int4, a 16-byte value
// as the uuid ArrayBuilder::add_uuid writes back as the same bytes, and other
// uuid lengths as the nil uuid; a bool is true exactly when its first byte is
// not zero.
#include <cstddef>
#include <cstdint>
#include <string>

#include "decoder_fuzz.h"
#include "postgres/binary_format.h"

namespace {

// The last `count` bytes of an array holding one element.
std::string_view element_bytes(const std::string& array, std::size_t count) {
  return std::string_view(array).substr(array.size() - count);
}

void check_value(std::string_view bytes) {
  const std::int64_t number = evsrc::pg::read_int8(bytes);
  if (bytes.size() == 8) {
    evsrc::pg::ArrayBuilder array(evsrc::pg::kInt8);
    array.add_int8(number);
    EVSRC_FUZZ_CHECK(element_bytes(array.finish(), 8) == bytes, "an int8 does not read back as its bytes");
  }
  if (bytes.size() == 4) {
    std::uint32_t big_endian = 0;
    for (const char c : bytes) big_endian = big_endian << 8 | static_cast<std::uint8_t>(c);
    EVSRC_FUZZ_CHECK(number == static_cast<std::int32_t>(big_endian), "an int4 is not read sign-extended");
  }
  EVSRC_FUZZ_CHECK(evsrc::pg::read_bool(bytes) == (!bytes.empty() && bytes[0] != 0), "a bool read wrong");
  const evsrc::Uuid uuid = evsrc::pg::read_uuid(bytes);
  if (bytes.size() == 16) {
    evsrc::pg::ArrayBuilder array(evsrc::pg::kUuid);
    array.add_uuid(uuid);
    EVSRC_FUZZ_CHECK(element_bytes(array.finish(), 16) == bytes, "a uuid does not read back as its bytes");
  } else {
    EVSRC_FUZZ_CHECK(uuid.is_nil(), "a uuid of the wrong length read as not nil");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = evsrc::fuzz::as_text(data, size);
  while (!input.empty()) {
    const std::size_t length = std::min<std::size_t>(static_cast<std::uint8_t>(input[0]) % 20, input.size() - 1);
    check_value(input.substr(1, length));
    input.remove_prefix(1 + length);
  }
  return 0;
}
