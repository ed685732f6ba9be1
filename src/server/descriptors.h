// File descriptors of the process: the server keeps a reserve of them for
// the store (new segments, index files) so that connections cannot take the
// last one, and /health reports when the reserve runs low.
#pragma once

#include <cstdint>
#include <optional>

namespace evsrc::server {

// Descriptors kept free beside connections for the store and the server.
inline constexpr std::uint64_t kDescriptorReserve = 256;

struct DescriptorUse {
  std::uint64_t open = 0;   // entries of /proc/self/fd
  std::uint64_t limit = 0;  // RLIMIT_NOFILE's soft limit
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft
// limit in force afterwards (unchanged when raising is refused).
std::uint64_t raise_descriptor_limit();

// nullopt when /proc/self/fd or the limit cannot be read; every descriptor
// taken (open == limit) when opening /proc/self/fd itself fails for lack
// of one.
std::optional<DescriptorUse> descriptor_use();

// How many connections may be open at once: `wanted`, capped so that
// kDescriptorReserve descriptors stay free beside those open now. At least
// 1, so that /health can still be asked: the check below refuses any
// connection that would eat into the reserve.
std::uint64_t connection_cap(std::uint64_t wanted, const DescriptorUse& use);

// True when an accepted connection whose socket got descriptor `fd` leaves
// fewer than kDescriptorReserve descriptors free below `limit`: descriptors
// are handed out lowest first, so every one below `fd` is taken. Checked at
// every accept, it keeps the reserve when the store opened more files since
// the start (connection_cap's count).
bool eats_into_reserve(int fd, std::uint64_t limit);

}  // namespace evsrc::server
