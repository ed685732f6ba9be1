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

// nullopt when /proc/self/fd or the limit cannot be read.
std::optional<DescriptorUse> descriptor_use();

// How many connections may be open at once: `wanted`, capped so that
// kDescriptorReserve descriptors stay free beside those open now (at least 1).
std::uint64_t connection_cap(std::uint64_t wanted, const DescriptorUse& use);

}  // namespace evsrc::server
