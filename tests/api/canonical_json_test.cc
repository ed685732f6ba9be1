// is_canonical_json: the read path copies stored documents that are already
// in the API's compact form instead of parsing and writing them again. It
// must accept only texts that a parse and serialisation give back unchanged,
// and accept the documents the API itself stores.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include "server/api_json.h"

namespace evsrc::server {
namespace {

std::string compact(std::string_view text) {
  std::optional<boost::json::value> parsed = parse_json(text);
  return parsed ? json_text(*parsed) : std::string("<invalid>");
}

TEST(CanonicalJson, AcceptsTheCompactFormTheApiStores) {
  for (const char* text : {R"({"name":"Ada","n":1,"tags":["a","b"],"ok":true,"x":null})", "[]", "{}", "0", "-12",
                           "true", "[[[[]]]]", R"({"a":{"b":[1,2,{"c":"\u0001\n\t\"\\"}]}})",
                           "{\"utf8\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}", "123456789012345678"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(is_canonical_json(text));
    EXPECT_EQ(compact(text), text);
  }
}

TEST(CanonicalJson, RefusesWhatAParseWouldChange) {
  for (const char* text : {
           R"("a bare string")",        // bytes, not a document
           R"({"a": 1})",               // whitespace
           " {}", "{} ", "[1 ]",        // whitespace
           R"({"a":1,"a":2})",          // duplicate key
           R"({"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":0})",
           "1.5", "1e3", "1.0", "-0", "01", "1234567890123456789",  // numbers left to the parser
           R"(["\/"])", R"(["\u0041"])", R"(["\u00e9"])", R"(["\u000a"])", R"(["\u001F"])",  // other escapes
           "[\"\x01\"]",                // a raw control character
           "[\"\xC3\"]", "[\"\xED\xA0\x80\"]",  // invalid UTF-8
           "[1,]", "{\"a\"}", "[", "{\"a\":1", "tru", "nul", "[true false]", "",
       }) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(is_canonical_json(text));
  }
}

TEST(CanonicalJson, AppendBytesAsJsonIsTheCompactTextEitherWay) {
  // Random documents: accepted ones are their own compact text, and the
  // output of append_bytes_as_json is the compact text of the input.
  std::mt19937 random(12345);
  const char* atoms[] = {"1", "-7", "0", "true", "null", "2.5", "\"s\"", "\"\\u0002\"", "\"\xC3\xA9\"", "1e2"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const std::function<void(int)> build = [&](int depth) {
      const int kind = depth > 3 ? 2 : static_cast<int>(random() % 3);
      if (kind == 0) {
        text += '[';
        const int n = static_cast<int>(random() % 4);
        for (int i = 0; i < n; ++i) {
          if (i) text += ',';
          build(depth + 1);
        }
        text += ']';
      } else if (kind == 1) {
        text += '{';
        const int n = static_cast<int>(random() % 4);
        for (int i = 0; i < n; ++i) {
          if (i) text += ',';
          text += "\"k" + std::to_string(random() % 5) + "\":";
          build(depth + 1);
        }
        text += '}';
      } else {
        text += atoms[random() % std::size(atoms)];
      }
    };
    build(0);
    SCOPED_TRACE(text);
    const std::string expected = compact(text);
    if (is_canonical_json(text)) {
      EXPECT_EQ(expected, text);
    }
    if (expected != "<invalid>" && text.front() != '"') {
      std::string out;
      append_bytes_as_json(out, text);
      EXPECT_EQ(out, expected);
    }
  }
}

}  // namespace
}  // namespace evsrc::server
