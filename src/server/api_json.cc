#include "server/api_json.h"

#include "core/canonical_json.h"
#include "core/text_format.h"

#include <boost/json/basic_parser_impl.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>
// nlohmann's own double formatting (Grisu2 + its layout rules): the CLI
// stores numbers in this form, and the server must store the same bytes.
#include <nlohmann/detail/conversions/to_chars.hpp>

namespace evsrc::server {
namespace {

namespace bj = boost::json;

// Boost.JSON's value-building handler (detail/handler.hpp), except that
// doubles are parsed again from their text with std::from_chars, which is
// correctly rounded (Boost 1.81's fast path is not).
struct PreciseHandler {
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  bj::value_stack stack;
  std::string number;  // text of a number split across input buffers

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }
  bool on_object_begin(bj::error_code&) { return true; }
  bool on_object_end(std::size_t n, bj::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(bj::error_code&) { return true; }
  bool on_array_end(std::size_t n, bj::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_number_part(bj::string_view s, bj::error_code&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    number.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    number.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, bj::string_view s, bj::error_code&) {
    number.append(s.data(), s.size());
    double precise = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), precise);
    // Out of range: keep Boost's value (an infinity or zero), as strtod would.
    if (error == std::errc() && end == number.data() + number.size()) d = precise;
    number.clear();
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, bj::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(bj::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }
};

constexpr char kHexDigits[] = "0123456789abcdef";

void append_escaped_ascii(std::string& out, unsigned char c) {
  switch (c) {
    case '\b':
      out.append("\\b");
      return;
    case '\t':
      out.append("\\t");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\f':
      out.append("\\f");
      return;
    case '\r':
      out.append("\\r");
      return;
    case '"':
      out.append("\\\"");
      return;
    case '\\':
      out.append("\\\\");
      return;
    default:
      if (c <= 0x1F) {
        out.append("\\u00");
        out.push_back(kHexDigits[c >> 4]);
        out.push_back(kHexDigits[c & 0xF]);
      } else {
        out.push_back(static_cast<char>(c));
      }
  }
}

void append_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  char buffer[64];
  const char* end = nlohmann::detail::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, static_cast<std::size_t>(end - buffer));
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

}  // namespace

std::optional<bj::value> parse_json(std::string_view text, std::string* error) {
  bj::parse_options options;
  options.max_depth = kMaxJsonDepth;
  bj::basic_parser<PreciseHandler> parser(options);
  parser.handler().stack.reset();
  bj::error_code code;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), code);
  if (!code && used < text.size()) code = bj::error::extra_data;
  if (code || !parser.done()) {
    if (error != nullptr) *error = code ? code.message() : "incomplete JSON";
    return std::nullopt;
  }
  return parser.handler().stack.release();
}

void append_json_string(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + bytes.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < bytes.size()) {
    // A run of printable ASCII other than '"' and '\\' is copied at once.
    std::size_t run = i;
    while (run < bytes.size()) {
      const auto b = static_cast<unsigned char>(bytes[run]);
      if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(bytes.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      append_escaped_ascii(out, c);
      ++i;
      continue;
    }
    std::size_t invalid_at = 0;
    const std::size_t length = utf8_sequence_length(bytes, i, invalid_at);
    if (length > 0) {
      out.append(bytes.substr(i, length));
      i += length;
    } else {
      // Like nlohmann: drop the broken sequence, write U+FFFD, and read the
      // byte that broke it again (it may start a sequence of its own).
      out.append("\xEF\xBF\xBD");
      i += invalid_at == 0 ? 1 : invalid_at;
    }
  }
  out.push_back('"');
}

void append_json(std::string& out, const bj::value& value) {
  switch (value.kind()) {
    case bj::kind::null:
      out.append("null");
      return;
    case bj::kind::bool_:
      out.append(value.get_bool() ? "true" : "false");
      return;
    case bj::kind::int64:
      append_integer(out, value.get_int64());
      return;
    case bj::kind::uint64:
      append_integer(out, value.get_uint64());
      return;
    case bj::kind::double_:
      append_double(out, value.get_double());
      return;
    case bj::kind::string: {
      const bj::string& text = value.get_string();
      append_json_string(out, std::string_view(text.data(), text.size()));
      return;
    }
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const bj::value& element : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, element);
      }
      out.push_back(']');
      return;
    }
    case bj::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const bj::key_value_pair& member : value.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, std::string_view(member.key().data(), member.key().size()));
        out.push_back(':');
        append_json(out, member.value());
      }
      out.push_back('}');
      return;
    }
  }
}

std::string json_text(const bj::value& value) {
  std::string out;
  append_json(out, value);
  return out;
}

void append_bytes_as_json(std::string& out, std::string_view bytes) {
  // nlohmann's parser skips a UTF-8 byte order mark; so does the CLI.
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  std::string_view document = bytes.starts_with(kByteOrderMark) ? bytes.substr(kByteOrderMark.size()) : bytes;
  if (!document.empty()) {
    const char first = document.front();
    // Only a document can start this way (after optional whitespace); skip
    // the parse for bytes that obviously are not one.
    const bool may_be_json = first == '{' || first == '[' || first == '-' || (first >= '0' && first <= '9') ||
                             first == 't' || first == 'f' || first == 'n' || first == ' ' || first == '\t' ||
                             first == '\n' || first == '\r';
    // Stored by the API (or the CLI), a document is already in the form
    // append_json writes: copied as it is, without a parse.
    if (may_be_json && document.size() == bytes.size() && is_canonical_json(document)) {
      out.append(document);
      return;
    }
    if (may_be_json) {
      std::optional<bj::value> parsed = parse_json(document);
      if (parsed && !parsed->is_string()) {
        append_json(out, *parsed);
        return;
      }
    }
  }
  append_json_string(out, bytes);
}

std::string json_to_bytes(const bj::value& value) {
  if (value.is_string()) {
    const bj::string& text = value.get_string();
    return std::string(text.data(), text.size());
  }
  return json_text(value);
}

void append_event_json(std::string& out, const EventView& event) {
  char id[kUuidTextSize];
  out.append("{\"id\":\"").append(id, write_uuid(id, event.id)).append("\",\"stream\":");
  append_json_string(out, event.stream);
  out.append(",\"revision\":");
  append_integer(out, event.revision);
  out.append(",\"position\":");
  append_integer(out, event.position);
  out.append(",\"type\":");
  append_json_string(out, event.type);
  out.append(",\"data\":");
  append_bytes_as_json(out, event.data);
  out.append(",\"metadata\":");
  append_bytes_as_json(out, event.metadata);
  char recorded_at[kRfc3339MaxSize];
  out.append(",\"recordedAt\":\"").append(recorded_at, write_rfc3339(recorded_at, event.recorded_at)).append("\"");
  // Only when it is not the default, so the common shape stays the specified one.
  if (event.content_type != "application/json") {
    out.append(",\"contentType\":");
    append_json_string(out, event.content_type);
  }
  out.push_back('}');
}

}  // namespace evsrc::server
