// The conformance suite: one parameterised fixture that every contract test
// (TEST_P(StoreConformance, ...)) runs against, once per backend. A backend is
// done when the whole suite passes on it (DESIGN §2).
//
// Each test gets a fresh store in a fresh temporary directory, removed in
// TearDown. Tests must not assert timings.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc_test {

using namespace evsrc;  // NOLINT(google-build-using-namespace): test-only shorthand

struct Backend {
  // test name suffix: "memory", "file", "file_pread_uncached",
  // "postgres", "dynamodb"
  std::string name;
  bool persists;     // whether data survives close() + open_store()
};

// Names the backend in gtest's failure messages.
inline void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // URI of this test's store, the same across reopen().
  std::string uri() const;
  // Closes the store (expecting ok) and opens the same URI again.
  void reopen(const StoreOptions& options = {});
  // Opens the same URI again after the test closed the store itself.
  void reopen_after_close(const StoreOptions& options = {});
  // `options` with what this backend's variant sets (e.g. no stream cache).
  StoreOptions backend_options(StoreOptions options) const;
  EventStore& store() { return *store_; }

  std::string directory_;
  std::string postgres_base_;    // postgres: the test cluster's URI
  std::string postgres_schema_;  // postgres: this test's own schema
  std::string dynamodb_uri_;     // dynamodb: this test's own tables
  std::unique_ptr<EventStore> store_;
};

inline Status status_of(const Status& status) { return status; }
template <typename T>
Status status_of(const Result<T>& result) {
  return result.status();
}

template <typename T>
::testing::AssertionResult IsOk(const T& value) {
  const Status status = status_of(value);
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.to_string();
}

template <typename T>
::testing::AssertionResult HasCode(const T& value, ErrorCode code) {
  const Status status = status_of(value);
  if (status.code() == code) return ::testing::AssertionSuccess() << status.to_string();
  return ::testing::AssertionFailure() << "expected " << error_code_name(code) << ", got " << status.to_string();
}

#define ASSERT_OK(expr) ASSERT_TRUE(::evsrc_test::IsOk(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::evsrc_test::IsOk(expr))
#define EXPECT_CODE(expr, code) EXPECT_TRUE(::evsrc_test::HasCode((expr), ::evsrc::ErrorCode::code))
#define ASSERT_CODE(expr, code) ASSERT_TRUE(::evsrc_test::HasCode((expr), ::evsrc::ErrorCode::code))

// A filter from its fields (designated initializers trip
// -Wmissing-field-initializers).
EventFilter make_filter(std::string stream_prefix, std::string category = {}, std::string event_type = {});

// A new event with a random id.
EventData make_event(std::string type = "Happened", std::string data = "{}");
std::vector<EventData> make_events(std::size_t count, std::string type = "Happened");

// Every visible event of a stream, forwards (empty when unreadable).
std::vector<RecordedEvent> read_whole_stream(EventStore& store, const std::string& stream);
// Every event of $all matching `filter`, forwards.
std::vector<RecordedEvent> read_whole_all(EventStore& store, const EventFilter& filter = {});
// Number of events in the store (stats().events; 0 on error).
std::uint64_t event_count(EventStore& store);

}  // namespace evsrc_test
