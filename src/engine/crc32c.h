// CRC32C (Castagnoli), hardware-accelerated through Intel ISA-L.
#pragma once

#include <cstdint>
#include <string_view>

namespace evsrc {

// Standard CRC32C of `data` (crc32c("123456789") == 0xE3069283).
std::uint32_t crc32c(std::string_view data);

}  // namespace evsrc
