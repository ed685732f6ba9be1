#include "conformance/store_fixture.h"

#include <stdlib.h>

#include <filesystem>

namespace evsrc_test {

void StoreConformance::SetUp() {
  char pattern[] = "/tmp/evsrc-conformance-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  directory_ = pattern;
  Result<std::unique_ptr<EventStore>> opened = open_store(uri());
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}

void StoreConformance::TearDown() {
  if (store_) (void)store_->close();
  store_.reset();
  if (!directory_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(directory_, error);
  }
}

std::string StoreConformance::uri() const {
  if (GetParam().name == "memory") return "memory:";
  return "file:" + directory_ + "/store";
}

void StoreConformance::reopen(const StoreOptions& options) {
  ASSERT_NE(store_, nullptr);
  ASSERT_OK(store_->close());
  store_.reset();
  Result<std::unique_ptr<EventStore>> opened = open_store(uri(), options);
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}


INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::Values(Backend{"memory", false}, Backend{"file", true}),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace evsrc_test
