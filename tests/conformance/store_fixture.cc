#include "conformance/store_fixture.h"

#include <stdlib.h>

#include <filesystem>

#include "aws/aws_test_env.h"
#include "evsrc/dynamodb.h"
#include "postgres/postgres_test_cluster.h"

namespace evsrc_test {

void StoreConformance::SetUp() {
  if (GetParam().name == "postgres") {
    postgres_base_ = postgres_test_uri();
    ASSERT_FALSE(postgres_base_.empty()) << postgres_test_uri_help();
    postgres_schema_ = fresh_postgres_schema();
  }
  if (GetParam().name == "dynamodb") dynamodb_uri_ = evsrc::testing::dynamodb_test_uri(evsrc::testing::fresh_dynamodb_prefix("c"));
  char pattern[] = "/tmp/evsrc-conformance-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  directory_ = pattern;
  Result<std::unique_ptr<EventStore>> opened = open_store(uri(), backend_options({}));
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}

StoreOptions StoreConformance::backend_options(StoreOptions options) const {
  // The engine's slow paths: a stream cache of no bytes (every stream head
  // is dropped after each group commit and read from the index again) and
  // reads copied with pread instead of taken from mapped segments.
  if (GetParam().name == "file_pread_uncached") {
    options.stream_cache_bytes = 0;
    options.mmap_reads = false;
  }
  return options;
}

void StoreConformance::TearDown() {
  if (store_) (void)store_->close();
  store_.reset();
  if (!postgres_schema_.empty()) drop_postgres_schema(postgres_base_, postgres_schema_);
  if (!dynamodb_uri_.empty()) {
    EXPECT_OK(delete_dynamodb_tables(dynamodb_uri_));
  }
  if (!directory_.empty()) {
    std::error_code error;
    std::filesystem::remove_all(directory_, error);
  }
}

std::string StoreConformance::uri() const {
  if (GetParam().name == "memory") return "memory:";
  if (GetParam().name == "postgres") return with_schema(postgres_base_, postgres_schema_);
  if (GetParam().name == "dynamodb") return dynamodb_uri_;
  return "file:" + directory_ + "/store";
}

void StoreConformance::reopen(const StoreOptions& options) {
  ASSERT_NE(store_, nullptr);
  ASSERT_OK(store_->close());
  reopen_after_close(options);
}

void StoreConformance::reopen_after_close(const StoreOptions& options) {
  store_.reset();
  Result<std::unique_ptr<EventStore>> opened = open_store(uri(), backend_options(options));
  ASSERT_OK(opened);
  store_ = std::move(opened).value();
}


INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::Values(Backend{"memory", false}, Backend{"file", true},
                                                           Backend{"file_pread_uncached", true},
                                                           Backend{"postgres", true}, Backend{"dynamodb", true}),
                         [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

}  // namespace evsrc_test
