#include "core/canonical_json.h"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

namespace evsrc {

std::size_t utf8_sequence_length(std::string_view text, std::size_t i, std::size_t& invalid_at) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    invalid_at = 0;
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (i + k >= text.size()) {
      invalid_at = k;
      return 0;
    }
    const unsigned char c = byte(k);
    const unsigned char min = k == 1 ? low : 0x80;
    const unsigned char max = k == 1 ? high : 0xBF;
    if (c < min || c > max) {
      invalid_at = k;
      return 0;
    }
  }
  return length;
}

namespace {

// The canonical compact form (what append_json writes) checked without
// building a value: a recursive descent over the bytes that accepts only
// what a parse and serialisation would give back unchanged, and says false
// (the caller then parses) for anything else it is not sure of.
// Bytes a canonical string holds as they are, needing no look: printable
// ASCII other than the quote and the backslash.
constexpr std::array<bool, 256> kPlainTable = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

class CanonicalCheck {
  static constexpr const std::array<bool, 256>& kPlain = kPlainTable;

 public:
  explicit CanonicalCheck(std::string_view text) : text_(text) {}

  bool document() {
    if (text_.empty() || text_.front() == '"') return false;  // a bare string is bytes, not JSON
    return value(0) && at_ == text_.size();
  }

 private:
  bool value(std::size_t depth) {
    if (at_ >= text_.size()) return false;
    switch (text_[at_]) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return integer();
    }
  }

  bool literal(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }

  // Integers only, as int64 writes them: no fraction or exponent (doubles
  // are left to the parser and nlohmann's formatting), no "-0", at most 18
  // digits (always an int64).
  bool integer() {
    const std::size_t start = at_;
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    const std::size_t digits = at_;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
    const std::size_t count = at_ - digits;
    if (count == 0 || count > 18) return false;
    if (text_[digits] == '0' && (count > 1 || digits > start)) return false;  // leading zero, "-0"
    return at_ == text_.size() || (text_[at_] != '.' && text_[at_] != 'e' && text_[at_] != 'E');
  }

  // A string as append_json_string writes it: valid UTF-8 written as is,
  // only the escapes it uses.
  bool string() {
    ++at_;  // the opening quote
    while (at_ < text_.size()) {
      // Runs of plain ASCII at once.
      const char* const data = text_.data();
      const std::size_t size = text_.size();
      while (at_ < size && kPlain[static_cast<unsigned char>(data[at_])]) ++at_;
      if (at_ >= size) break;
      const auto c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (!escape()) return false;
        continue;
      }
      if (c < 0x80) {
        ++at_;
        continue;
      }
      std::size_t invalid_at = 0;
      const std::size_t length = utf8_sequence_length(text_, at_, invalid_at);
      if (length == 0) return false;
      at_ += length;
    }
    return false;
  }

  bool escape() {
    if (at_ + 1 >= text_.size()) return false;
    const char kind = text_[at_ + 1];
    if (kind == '"' || kind == '\\' || kind == 'b' || kind == 'f' || kind == 'n' || kind == 'r' || kind == 't') {
      at_ += 2;
      return true;
    }
    // Backslash, u, 00 and two lowercase hex digits: the control characters
    // without a short form.
    if (kind != 'u' || at_ + 6 > text_.size() || text_[at_ + 2] != '0' || text_[at_ + 3] != '0') return false;
    const auto hex = [](char h) { return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1; };
    const int high = hex(text_[at_ + 4]);
    const int low = hex(text_[at_ + 5]);
    if (high < 0 || high > 1 || low < 0) return false;
    const int code = high * 16 + low;
    if (code == '\b' || code == '\f' || code == '\n' || code == '\r' || code == '\t') return false;
    at_ += 6;
    return true;
  }

  bool array(std::size_t depth) {
    if (depth >= kCanonicalJsonMaxDepth) return false;  // the deepest are left to the parser
    ++at_;
    if (at_ < text_.size() && text_[at_] == ']') {
      ++at_;
      return true;
    }
    while (true) {
      if (!value(depth)) return false;
      if (at_ >= text_.size()) return false;
      if (text_[at_] == ']') {
        ++at_;
        return true;
      }
      if (text_[at_] != ',') return false;
      ++at_;
    }
  }

  bool object(std::size_t depth) {
    if (depth >= kCanonicalJsonMaxDepth) return false;  // the deepest are left to the parser
    ++at_;
    if (at_ < text_.size() && text_[at_] == '}') {
      ++at_;
      return true;
    }
    // A key twice would come back once: compare the keys' bytes (canonical
    // strings are equal exactly when their texts are).
    SmallKeys keys;
    while (true) {
      if (at_ >= text_.size() || text_[at_] != '"') return false;
      const std::size_t key_start = at_;
      if (!string()) return false;
      keys.push_back(text_.substr(key_start, at_ - key_start));
      if (at_ >= text_.size() || text_[at_] != ':') return false;
      ++at_;
      if (!value(depth)) return false;
      if (at_ >= text_.size()) return false;
      if (text_[at_] == '}') {
        ++at_;
        return unique(keys);
      }
      if (text_[at_] != ',') return false;
      ++at_;
    }
  }

  // The keys of one object: the first few inline, more on the heap.
  class SmallKeys {
   public:
    void push_back(std::string_view key) {
      if (count_ < inline_.size()) {
        inline_[count_++] = key;
        return;
      }
      if (more_.empty()) more_.assign(inline_.begin(), inline_.end());
      more_.push_back(key);
      ++count_;
    }
    bool unique() {
      if (count_ <= inline_.size()) {
        for (std::size_t i = 0; i < count_; ++i) {
          for (std::size_t j = i + 1; j < count_; ++j) {
            if (inline_[i] == inline_[j]) return false;
          }
        }
        return true;
      }
      std::sort(more_.begin(), more_.end());
      return std::adjacent_find(more_.begin(), more_.end()) == more_.end();
    }

   private:
    std::array<std::string_view, 8> inline_;
    std::size_t count_ = 0;
    std::vector<std::string_view> more_;
  };

  static bool unique(SmallKeys& keys) { return keys.unique(); }

  std::string_view text_;
  std::size_t at_ = 0;
};

}  // namespace

bool is_canonical_json(std::string_view text) { return CanonicalCheck(text).document(); }

}  // namespace evsrc
