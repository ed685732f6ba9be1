// A small domain for the toolkit tests: a counter whose events add to it or
// set it, with a codec, a view and a restore function for revert.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "evsrc/codec.h"
#include "evsrc/command.h"
#include "evsrc/event_store.h"
#include "evsrc/view.h"

namespace evsrc_test {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

struct Added {
  std::int64_t amount = 0;
};
struct ValueSet {
  std::int64_t value = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Added, amount)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ValueSet, value)
using CounterEvent = std::variant<Added, ValueSet>;

struct Counter {
  std::int64_t value = 0;
  std::uint64_t events = 0;
  friend bool operator==(const Counter&, const Counter&) = default;
};

inline const Codec<CounterEvent>& counter_codec() {
  static const Codec<CounterEvent> codec = [] {
    Codec<CounterEvent> built;
    built.add<Added>("Added").add<ValueSet>("ValueSet");
    return built;
  }();
  return codec;
}

inline View<Counter> counter_view(std::uint32_t version = 1) {
  View<Counter> view;
  view.name = "counter";
  view.version = version;
  view.apply = [](Counter& counter, const EventView& recorded) -> Status {
    Result<CounterEvent> event = counter_codec().decode(recorded);
    if (!event.ok()) return event.status();
    if (const auto* added = std::get_if<Added>(&*event)) counter.value += added->amount;
    if (const auto* set = std::get_if<ValueSet>(&*event)) counter.value = set->value;
    ++counter.events;
    return Status();
  };
  view.encode_state = [](const Counter& counter) {
    return nlohmann::json{{"value", counter.value}, {"events", counter.events}}.dump();
  };
  view.decode_state = [](std::string_view encoded) -> Result<Counter> {
    nlohmann::json json = nlohmann::json::parse(encoded, nullptr, false);
    if (json.is_discarded()) return Status::corruption("bad counter snapshot");
    return Counter{json.at("value").get<std::int64_t>(), json.at("events").get<std::uint64_t>()};
  };
  return view;
}

inline EventData encoded(const CounterEvent& event, nlohmann::json metadata = nlohmann::json::object()) {
  Result<EventData> data = counter_codec().encode(event, std::move(metadata));
  EXPECT_TRUE(data.ok()) << data.status().to_string();
  return data.ok() ? *data : EventData{};
}

// A fresh store per test, for each backend.
class ToolkitTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/evsrc-toolkit-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    std::string uri = GetParam() == "memory" ? "memory:" : "file:" + (directory_ / "store").string();
    auto opened = open_store(uri);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
  }
  void TearDown() override {
    if (store_) (void)store_->close();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }
  EventStore& store() { return *store_; }

  std::filesystem::path directory_;
  std::unique_ptr<EventStore> store_;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace evsrc_test
