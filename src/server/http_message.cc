#include "server/http_message.h"

#include "core/text_format.h"

#include <algorithm>

namespace evsrc::server {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const auto& [field, value] : fields_) {
    if (iequals(field, name)) return std::string_view(value);
  }
  return std::nullopt;
}

void HttpHeaders::set(std::string_view name, std::string value) {
  std::erase_if(fields_, [&](const auto& field) { return iequals(field.first, name); });
  fields_.emplace_back(std::string(name), std::move(value));
}

void append_sse_frame(std::string& out, std::string_view id, std::string_view event, std::string_view data) {
  out.append("id: ").append(id).append("\nevent: ").append(event).append("\ndata: ").append(data).append("\n\n");
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_digit_value(text[i + 1]);
      const int low = hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> ParsedTarget::param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

Result<ParsedTarget> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return Status::invalid_argument("request target must start with '/'");
  ParsedTarget parsed;
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  std::size_t start = 1;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start || slash != std::string_view::npos) {
      auto segment = percent_decode(path.substr(start, end - start), false);
      if (!segment) return Status::invalid_argument("bad percent escape in the path");
      parsed.segments.push_back(std::move(*segment));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  // "/v1/streams/" and "/v1/streams" name the same collection.
  if (!parsed.segments.empty() && parsed.segments.back().empty()) parsed.segments.pop_back();
  if (question == std::string_view::npos) return parsed;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    auto key = percent_decode(pair.substr(0, equals), true);
    auto value = percent_decode(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1), true);
    if (!key || !value) return Status::invalid_argument("bad percent escape in the query");
    parsed.query.emplace_back(std::move(*key), std::move(*value));
  }
  return parsed;
}

}  // namespace evsrc::server
