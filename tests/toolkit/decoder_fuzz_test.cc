// Fuzzing the toolkit's decoders with seeded random and mutated inputs: the
// codec (type, JSON data, metadata with versions and upcasters), metadata
// parsing, LastAppliedRevisions::from_json and snapshot states. Every input
// must give a value or a clear error, never a crash or an exception; the
// ASan+UBSan build runs these too. Seeds are fixed so a failure reproduces.
#include <random>

#include "evsrc/projection.h"
#include "toolkit/counter.h"

namespace evsrc_test {
namespace {

constexpr int kIterations = 20'000;

std::string random_bytes(std::mt19937_64& random, std::size_t max_size) {
  std::string bytes(std::uniform_int_distribution<std::size_t>(0, max_size)(random), '\0');
  for (char& byte : bytes) byte = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(random));
  return bytes;
}

// A valid input with a few bytes replaced, inserted or removed: reaches the
// deeper paths (valid JSON of the wrong shape, bad versions) that random
// bytes rarely do.
std::string mutate(std::mt19937_64& random, std::string input) {
  static const std::string kTokens[] = {"{", "}", "\"", ":", ",", "[", "]", "0", "-1", "1e999", "null", "true",
                                        "\"eventVersion\"", "18446744073709551616", "\\u0000", "\xff"};
  const int edits = std::uniform_int_distribution<int>(1, 4)(random);
  for (int i = 0; i < edits; ++i) {
    const std::size_t at = input.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, input.size() - 1)(random);
    const std::string& token = kTokens[std::uniform_int_distribution<std::size_t>(0, std::size(kTokens) - 1)(random)];
    switch (std::uniform_int_distribution<int>(0, 2)(random)) {
      case 0: input.insert(at, token); break;
      case 1: if (!input.empty()) input.erase(at, std::uniform_int_distribution<std::size_t>(1, 4)(random)); break;
      default: if (!input.empty()) input.replace(at, 1, token); break;
    }
  }
  return input;
}

Codec<CounterEvent> versioned_codec() {
  Codec<CounterEvent> codec;
  codec.add<Added>("Added", 3).add<ValueSet>("ValueSet");
  codec.upcast("Added", 1, [](nlohmann::json& data) {
    if (!data.is_object() || !data.contains("n")) return Status::invalid_argument("no n");
    data["amount"] = data["n"];
    return Status();
  });
  codec.upcast("Added", 2, [](nlohmann::json&) { return Status(); });
  return codec;
}

TEST(DecoderFuzzTest, CodecDecodeNeverCrashes) {
  const Codec<CounterEvent> codec = versioned_codec();
  std::mt19937_64 random(20261129);
  const std::vector<RecordedEvent> seeds = [] {
    std::vector<RecordedEvent> events(4);
    events[0].type = "Added", events[0].data = R"({"amount":5})", events[0].metadata = R"({"eventVersion":3})";
    events[1].type = "Added", events[1].data = R"({"n":5})", events[1].metadata = R"({"actor":"x"})";
    events[2].type = "ValueSet", events[2].data = R"({"value":-2})", events[2].metadata = "";
    events[3].type = "Added", events[3].data = R"({"amount":1})", events[3].metadata = R"({"eventVersion":2})";
    return events;
  }();
  int decoded = 0;
  for (int i = 0; i < kIterations; ++i) {
    RecordedEvent event = seeds[static_cast<std::size_t>(i) % seeds.size()];
    switch (i % 4) {
      case 0: event.data = random_bytes(random, 64); break;
      case 1: event.data = mutate(random, event.data); break;
      case 2: event.metadata = mutate(random, event.metadata); break;
      default: event.type = mutate(random, event.type); break;
    }
    Result<CounterEvent> result = codec.decode(event);
    if (result.ok()) {
      ++decoded;
    } else {
      EXPECT_EQ(result.status().code(), ErrorCode::invalid_argument) << result.status().to_string();
    }
  }
  EXPECT_GT(decoded, 0);  // the mutations leave some inputs valid: the decoder is really reached
}

TEST(DecoderFuzzTest, MetadataParsingNeverCrashes) {
  std::mt19937_64 random(7);
  for (int i = 0; i < kIterations; ++i) {
    const std::string metadata =
        i % 2 == 0 ? random_bytes(random, 48) : mutate(random, R"({"eventVersion":2,"actor":"homer"})");
    Result<std::uint32_t> version = event_version(metadata);
    if (version.ok()) {
      EXPECT_GE(*version, 1u);
    } else {
      EXPECT_EQ(version.status().code(), ErrorCode::invalid_argument);
    }
  }
}

TEST(DecoderFuzzTest, LastAppliedRevisionsFromJsonNeverCrashes) {
  std::mt19937_64 random(11);
  LastAppliedRevisions valid;
  RecordedEvent event;
  event.stream = "user-1";
  event.revision = 41;
  ASSERT_TRUE(valid.apply(event));
  const std::string seed = valid.to_json();
  for (int i = 0; i < kIterations; ++i) {
    const std::string json = i % 2 == 0 ? random_bytes(random, 48) : mutate(random, seed);
    Result<LastAppliedRevisions> parsed = LastAppliedRevisions::from_json(json);
    if (!parsed.ok()) {
      EXPECT_NE(parsed.status().code(), ErrorCode::ok);
    }
  }
}

TEST(DecoderFuzzTest, CorruptSnapshotStateFailsTheLoadCleanly) {
  auto opened = open_store("memory:");
  ASSERT_TRUE(opened.ok());
  EventStore& store = **opened;
  ASSERT_TRUE(store.append("counter-1", ExpectedRevision::any(), std::vector<EventData>{encoded(Added{1})}).ok());
  View<Counter> view = counter_view();
  view.decode_state = [](std::string_view encoded) -> Result<Counter> {
    nlohmann::json json = nlohmann::json::parse(encoded, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("value") || !json["value"].is_number_integer() ||
        !json.contains("events") || !json["events"].is_number_unsigned()) {
      return Status::corruption("bad counter snapshot");
    }
    return Counter{json["value"].get<std::int64_t>(), json["events"].get<std::uint64_t>()};
  };
  ViewLoader<Counter> loader(store, view);
  std::mt19937_64 random(3);
  for (int i = 0; i < 2'000; ++i) {
    const std::string state = i % 2 == 0 ? random_bytes(random, 32) : mutate(random, R"({"value":1,"events":1})");
    ASSERT_TRUE(store.snapshots().put(Snapshot{"counter-1", "counter", 1, 0, state}).ok());
    Result<VersionedState<Counter>> loaded = loader.state("counter-1");
    if (!loaded.ok()) {
      EXPECT_EQ(loaded.status().code(), ErrorCode::corruption);
    }
  }
}

}  // namespace
}  // namespace evsrc_test
