#include "security/security_support.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace evsrc::security_test {

int soak_factor() {
  const char* text = std::getenv("EVSRC_SOAK");
  const int factor = text == nullptr ? 1 : std::atoi(text);
  return factor > 0 ? factor : 1;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0;
  std::size_t resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) return 0;
  return resident_pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::string store_dump(EventStore& store) {
  std::ostringstream out;
  AllReadOptions options;
  options.limit = 1000;
  for (;;) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) return "read_all failed: " + page.status().to_string();
    for (const RecordedEvent& event : page->events) {
      out << event.position << " " << event.stream << "@" << event.revision << " " << event.id.to_string() << " "
          << event.type << " " << event.data << " " << event.metadata << "\n";
    }
    if (!page->next) break;
    options.from = page->next;
  }
  Result<std::vector<std::string>> names = store.list_streams("", "", 100000);
  if (!names.ok()) return "list_streams failed: " + names.status().to_string();
  for (const std::string& name : *names) {
    Result<StreamInfo> info = store.stream_info(name);
    if (!info.ok()) return "stream_info failed: " + info.status().to_string();
    out << "stream " << name << " last=" << (info->last_revision ? std::to_string(*info->last_revision) : "none")
        << " deleted=" << info->soft_deleted << " tombstoned=" << info->tombstoned
        << " maxCount=" << info->metadata.max_count.value_or(0) << " custom=" << info->metadata.custom << "\n";
  }
  return out.str();
}

}  // namespace evsrc::security_test
