#include "server/descriptors.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

#include <algorithm>

namespace evsrc::server {

std::uint64_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

std::optional<DescriptorUse> descriptor_use() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) {
    if (errno != EMFILE && errno != ENFILE) return std::nullopt;
    const std::uint64_t all = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
    return DescriptorUse{all, all};
  }
  DescriptorUse use;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') ++use.open;
  }
  ::closedir(directory);
  if (use.open > 0) --use.open;  // the directory's own descriptor
  use.limit = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
  return use;
}

std::uint64_t connection_cap(std::uint64_t wanted, const DescriptorUse& use) {
  const std::uint64_t taken = use.open + kDescriptorReserve;
  const std::uint64_t free = use.limit > taken ? use.limit - taken : 0;
  return std::max<std::uint64_t>(1, std::min(wanted, free));
}

bool eats_into_reserve(int fd, std::uint64_t limit) {
  if (fd < 0 || limit == UINT64_MAX) return false;
  return static_cast<std::uint64_t>(fd) + kDescriptorReserve >= limit;
}

}  // namespace evsrc::server
