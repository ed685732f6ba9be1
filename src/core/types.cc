#include "evsrc/types.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/text_format.h"

#include "evsrc/subscription.h"

namespace evsrc {

char* write_rfc3339(char* out, Timestamp time) {
  const auto micros = time.time_since_epoch().count();
  std::int64_t seconds = micros / 1'000'000;
  std::int64_t fraction = micros % 1'000'000;
  if (fraction < 0) {
    fraction += 1'000'000;
    seconds -= 1;
  }
  // Civil date of the day (proleptic Gregorian, UTC), no time zone lookup.
  std::int64_t days = seconds / 86'400;
  std::int64_t second_of_day = seconds % 86'400;
  if (second_of_day < 0) {
    second_of_day += 86'400;
    days -= 1;
  }
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  const int year = static_cast<int>(date.year());
  const auto month = static_cast<unsigned>(date.month());
  const auto day = static_cast<unsigned>(date.day());
  const auto hour = static_cast<unsigned>(second_of_day / 3600);
  const auto minute = static_cast<unsigned>(second_of_day / 60 % 60);
  const auto second = static_cast<unsigned>(second_of_day % 60);
  if (year < 0 || year > 9999) {
    // Years are written with at least 4 digits (RFC 3339 needs 4).
    const int written = std::snprintf(out, kRfc3339MaxSize, "%04d-%02u-%02uT%02u:%02u:%02u.%06lldZ", year, month, day,
                                      hour, minute, second, static_cast<long long>(fraction));
    return out + std::min<int>(written, static_cast<int>(kRfc3339MaxSize) - 1);
  }
  const auto digits = [&out](unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    out += width;
  };
  digits(static_cast<unsigned>(year), 4);
  *out++ = '-';
  digits(month, 2);
  *out++ = '-';
  digits(day, 2);
  *out++ = 'T';
  digits(hour, 2);
  *out++ = ':';
  digits(minute, 2);
  *out++ = ':';
  digits(second, 2);
  *out++ = '.';
  digits(static_cast<unsigned>(fraction), 6);
  *out++ = 'Z';
  return out;
}

std::string format_rfc3339(Timestamp time) {
  char out[kRfc3339MaxSize];
  return std::string(out, write_rfc3339(out, time));
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
