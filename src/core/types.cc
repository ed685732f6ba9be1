#include "evsrc/types.h"

#include <charconv>
#include <ctime>

#include "evsrc/subscription.h"

namespace evsrc {

std::string format_rfc3339(Timestamp time) {
  const auto micros = time.time_since_epoch().count();
  std::int64_t seconds = micros / 1'000'000;
  std::int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  // Years are written with at least 4 digits (strftime's %Y does not pad
  // years before 1000, which RFC 3339 requires).
  char out[64];
  std::snprintf(out, sizeof(out), "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", static_cast<long long>(tm.tm_year) + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(fraction));
  return out;
}

std::optional<ExpectedRevision> ExpectedRevision::parse(std::string_view text) {
  if (text == "any") return any();
  if (text == "no-stream" || text == "no_stream") return no_stream();
  if (text == "exists" || text == "stream-exists" || text == "stream_exists") return stream_exists();
  StreamRevision revision = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), revision);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return exact(revision);
}

std::string ExpectedRevision::to_string() const {
  switch (kind_) {
    case Kind::any: return "any";
    case Kind::no_stream: return "no-stream";
    case Kind::stream_exists: return "exists";
    case Kind::exact: return std::to_string(revision_);
  }
  return "?";
}

std::string_view stream_category(std::string_view stream) {
  const auto dash = stream.find('-');
  return dash == std::string_view::npos ? stream : stream.substr(0, dash);
}

bool EventFilter::matches(std::string_view stream, std::string_view type) const {
  if (!stream_prefix.empty() && !stream.starts_with(stream_prefix)) return false;
  if (!category.empty() && stream_category(stream) != category) return false;
  if (!event_type.empty() && type != event_type) return false;
  return true;
}

}  // namespace evsrc
