// The API's JSON must store and show the same bytes as the CLI, which uses
// nlohmann::ordered_json (tools/cli/json_event.cc): these tests hold the
// server's Boost.JSON code to nlohmann's output byte for byte.
#include <cmath>
#include <cstring>
#include <random>

#include "api/api_fixture.h"
#include "server/api_json.h"

namespace evsrc_api_test {
namespace {

// What the CLI stores for a JSON value given in a request.
std::string cli_bytes(const std::string& document) {
  const Json value = Json::parse(document);
  return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// What the CLI prints for stored bytes.
std::string cli_output(const std::string& bytes) {
  Json value = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (bytes.empty() || value.is_discarded() || value.is_string()) value = Json(bytes);
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string server_bytes(const std::string& document) {
  std::string error;
  const std::optional<boost::json::value> value = parse_json(document, &error);
  EXPECT_TRUE(value.has_value()) << document << ": " << error;
  return value ? json_to_bytes(*value) : "";
}

std::string server_output(const std::string& bytes) {
  std::string out;
  append_bytes_as_json(out, bytes);
  return out;
}

TEST(JsonConventions, DocumentsAreStoredAsTheCliStoresThem) {
  for (const char* document : {
           R"({"b":1,"a":2})",
           R"( { "z" : [ 1 , 2 ] , "a" : { } , "m" : [ ] } )",
           R"("just a string")",
           "42",
           "-7",
           "18446744073709551615",
           "18446744073709551616",
           "-9223372036854775808",
           "-9223372036854775809",
           "0.1",
           "-0.0",
           "1e300",
           "1E-7",
           "123.456e2",
           "2.5",
           "100.0",
           "1e15",
           "1e16",
           "0.0001",
           "0.00001",
           "true",
           "null",
           R"(["\u0000\u001f\u007f\u0080","\ud83d\ude00","tab\tnew\nline","quote\"back\\slash","/solidus\/"])",
           R"({"dup":1,"dup":2})",
           R"({"é":"ü","emoji":"😀"})",
           "[1.7976931348623157e308,2.2250738585072014e-308,5e-324]",
       }) {
    EXPECT_EQ(server_bytes(document), cli_bytes(document)) << document;
  }
}

TEST(JsonConventions, DoublesRoundTripLikeNlohmann) {
  std::mt19937_64 random(20261129);
  for (int i = 0; i < 20000; ++i) {
    double value = 0;
    const std::uint64_t bits = random();
    std::memcpy(&value, &bits, sizeof(value));
    if (!std::isfinite(value)) continue;
    const std::string text = Json(value).dump();
    ASSERT_EQ(server_bytes(text), text) << "bits " << bits;
    // And a decimal with more digits than a double holds.
    const std::string long_text =
        "0." + std::to_string(random()) + std::to_string(random()) + "e-" + std::to_string(random() % 300);
    ASSERT_EQ(server_bytes(long_text), cli_bytes(long_text)) << long_text;
  }
}

TEST(JsonConventions, StoredBytesAreShownAsTheCliShowsThem) {
  std::vector<std::string> samples = {
      "",
      "plain",
      R"({"a":1})",
      R"( {"a" : [1, 2.50]} )",
      "\"a json string\"",
      "42",
      "nul",
      "[1,",
      "tab\tand\nnewline \x01 control",
      "\xEF\xBB\xBF{\"bom\":true}",
      "bad \xff byte",
      "cut \xe2\x82",
      "overlong \xc0\xaf",
      "surrogate \xed\xa0\x80 half",
      "four \xf0\x9f\x98\x80 ok, five \xf8\x88\x80\x80\x80",
      "mixed \xe2\x28\xa1",
      "\xf4\x90\x80\x80 beyond U+10FFFF",
      "é ü 😀",
  };
  std::mt19937 random(7);
  static constexpr char kAlphabet[] = "{}[]\",:1a \xc3\xa9\xe2\x82";
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(random() % 12, '\0');
    for (char& c : bytes)
      c = static_cast<char>(random() % 4 == 0 ? random() % 256 : kAlphabet[random() % (sizeof(kAlphabet) - 1)]);
    samples.push_back(bytes);
  }
  for (const std::string& bytes : samples) {
    const std::string shown = server_output(bytes);
    const Json parsed = Json::parse(shown, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << shown;
    // `evsrc --server` turns what the server shows back into bytes and prints
    // them as the local CLI would: the same line.
    const std::string received = parsed.is_string() ? parsed.get<std::string>() : parsed.dump();
    EXPECT_EQ(cli_output(received), cli_output(bytes)) << ::testing::PrintToString(bytes);
    // Byte for byte the CLI's own output, except that nlohmann stops reading
    // at a NUL byte (it shows "1\0x" as 1) where the server keeps every byte.
    if (bytes.find('\0') == std::string::npos) {
      EXPECT_EQ(shown, cli_output(bytes)) << ::testing::PrintToString(bytes);
    }
  }
}

TEST(JsonConventions, ParserRejectsWhatJsonForbids) {
  for (const std::string& bad :
       std::vector<std::string>{"", " ", "[1,]", "{\"a\":1,}", "// c\n1", "01", "1.", ".5", "+1", "NaN", "'x'",
                                "\"\xff\"", "\"\xed\xa0\x80\"", "[1] 2", "{\"a\"}", "\"unterminated",
                                std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']')}) {
    EXPECT_FALSE(parse_json(bad).has_value()) << ::testing::PrintToString(bad);
  }
  const std::string deep = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json(deep).has_value());
}

}  // namespace
}  // namespace evsrc_api_test
