// Fuzzing the `get --at-time` parser: seeded random and mutated timestamps
// must parse to a value that formats back to an equal instant, or be refused;
// never crash (the ASan+UBSan build runs this too).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "directory/rfc3339.h"

namespace {

using evsrc::directory::parse_rfc3339;

TEST(Rfc3339Fuzz, RandomAndMutatedInputsParseOrAreRefused) {
  std::mt19937_64 random(42);
  const std::string seeds[] = {"2026-11-29T08:34:08.123456Z", "1999-12-31T23:59:59+14:00", "2026-02-28T00:00:00.5-07:30"};
  const std::string alphabet = "0123456789-+:.TZtz \xff";
  int parsed = 0;
  for (int i = 0; i < 50'000; ++i) {
    std::string text = seeds[static_cast<std::size_t>(i) % std::size(seeds)];
    const int edits = std::uniform_int_distribution<int>(0, 3)(random);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(random);
      const char c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(random)];
      switch (std::uniform_int_distribution<int>(0, 2)(random)) {
        case 0: text[at] = c; break;
        case 1: text.insert(at, 1, c); break;
        default: text.erase(at, 1); break;
      }
    }
    const std::optional<evsrc::Timestamp> time = parse_rfc3339(text);
    if (!time) continue;
    ++parsed;
    EXPECT_EQ(parse_rfc3339(evsrc::format_rfc3339(*time)), time) << text;
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
