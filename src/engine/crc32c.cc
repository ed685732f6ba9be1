#include "engine/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>

namespace evsrc {

std::uint32_t crc32c(std::string_view data) {
  unsigned int crc = 0xFFFFFFFFu;
  auto* p = reinterpret_cast<unsigned char*>(const_cast<char*>(data.data()));
  std::size_t left = data.size();
  while (left > 0) {
    const int chunk = static_cast<int>(std::min<std::size_t>(left, 1u << 30));
    crc = crc32_iscsi(p, chunk, crc);
    p += chunk;
    left -= static_cast<std::size_t>(chunk);
  }
  return ~crc;
}

}  // namespace evsrc
