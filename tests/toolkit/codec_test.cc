// Codec: type names, JSON, versions in metadata, upcasting, clear errors.
#include "toolkit/counter.h"

namespace evsrc_test {
namespace {

RecordedEvent recorded(std::string type, std::string data, std::string metadata = "") {
  RecordedEvent event;
  event.stream = "counter-1";
  event.revision = 7;
  event.type = std::move(type);
  event.data = std::move(data);
  event.metadata = std::move(metadata);
  return event;
}

TEST(CodecTest, EncodeWritesTypeJsonAndVersionAndKeepsMetadata) {
  Result<EventData> data = counter_codec().encode(Added{5}, nlohmann::json{{"actor", "homer"}});
  ASSERT_TRUE(data.ok()) << data.status().to_string();
  EXPECT_EQ(data->type, "Added");
  EXPECT_EQ(nlohmann::json::parse(data->data), (nlohmann::json{{"amount", 5}}));
  const nlohmann::json metadata = nlohmann::json::parse(data->metadata);
  EXPECT_EQ(metadata.at("actor"), "homer");
  EXPECT_EQ(metadata.at(kEventVersionKey), 1);
}

TEST(CodecTest, DecodeRoundTrips) {
  Result<EventData> data = counter_codec().encode(ValueSet{-3});
  ASSERT_TRUE(data.ok());
  Result<CounterEvent> event = counter_codec().decode(recorded(data->type, data->data, data->metadata));
  ASSERT_TRUE(event.ok()) << event.status().to_string();
  ASSERT_TRUE(std::holds_alternative<ValueSet>(*event));
  EXPECT_EQ(std::get<ValueSet>(*event).value, -3);
  EXPECT_EQ(counter_codec().type_of(*event), "ValueSet");
}

TEST(CodecTest, UnknownTypeAndBadJsonAreClearErrors) {
  Result<CounterEvent> unknown = counter_codec().decode(recorded("Multiplied", "{}"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(unknown.status().message().find("counter-1@7 (Multiplied): unknown event type"), std::string::npos)
      << unknown.status().message();

  Result<CounterEvent> not_json = counter_codec().decode(recorded("Added", "{amount"));
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.status().code(), ErrorCode::invalid_argument);

  Result<CounterEvent> wrong_shape = counter_codec().decode(recorded("Added", R"({"amount":"five"})"));
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_EQ(wrong_shape.status().code(), ErrorCode::invalid_argument);

  Result<CounterEvent> bad_metadata = counter_codec().decode(recorded("Added", R"({"amount":1})", "[1]"));
  ASSERT_FALSE(bad_metadata.ok());
  EXPECT_EQ(bad_metadata.status().code(), ErrorCode::invalid_argument);

  Result<CounterEvent> bad_version =
      counter_codec().decode(recorded("Added", R"({"amount":1})", R"({"eventVersion":0})"));
  EXPECT_FALSE(bad_version.ok());
}

TEST(CodecTest, UpcastersUpgradeOldVersionsOnRead) {
  // Version 1 stored {"n": ...}; version 2 renamed it to "amount"; version 3
  // stores cents, so amounts are multiplied by 100.
  Codec<CounterEvent> codec;
  codec.add<Added>("Added", 3).add<ValueSet>("ValueSet");
  codec.upcast("Added", 1, [](nlohmann::json& data) {
    data["amount"] = data.at("n");
    data.erase("n");
    return Status();
  });
  codec.upcast("Added", 2, [](nlohmann::json& data) {
    data["amount"] = data.at("amount").get<std::int64_t>() * 100;
    return Status();
  });

  Result<CounterEvent> from_v1 = codec.decode(recorded("Added", R"({"n":2})"));  // no version: 1
  ASSERT_TRUE(from_v1.ok()) << from_v1.status().to_string();
  EXPECT_EQ(std::get<Added>(*from_v1).amount, 200);
  Result<CounterEvent> from_v2 = codec.decode(recorded("Added", R"({"amount":2})", R"({"eventVersion":2})"));
  ASSERT_TRUE(from_v2.ok());
  EXPECT_EQ(std::get<Added>(*from_v2).amount, 200);
  Result<CounterEvent> current = codec.decode(recorded("Added", R"({"amount":2})", R"({"eventVersion":3})"));
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(std::get<Added>(*current).amount, 2);

  Result<EventData> written = codec.encode(Added{1});
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(nlohmann::json::parse(written->metadata).at(kEventVersionKey), 3);
}

TEST(CodecTest, MissingUpcasterStepOrNewerVersionIsAnError) {
  Codec<CounterEvent> codec;
  codec.add<Added>("Added", 3);
  codec.upcast("Added", 2, [](nlohmann::json&) { return Status(); });
  Result<CounterEvent> gap = codec.decode(recorded("Added", R"({"amount":1})"));
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("no upcaster for Added from version 1"), std::string::npos);
  Result<CounterEvent> newer = codec.decode(recorded("Added", R"({"amount":1})", R"({"eventVersion":4})"));
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("newer"), std::string::npos);

  codec.upcast("Added", 1, [](nlohmann::json&) { return Status::invalid_argument("cannot"); });
  Result<CounterEvent> failed = codec.decode(recorded("Added", R"({"amount":1})"));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("cannot"), std::string::npos);
}

TEST(CodecTest, UnregisteredAlternativeCannotBeEncoded) {
  Codec<CounterEvent> codec;
  codec.add<Added>("Added");
  Result<EventData> data = codec.encode(ValueSet{1});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace evsrc_test
