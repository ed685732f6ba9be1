// The private PostgreSQL cluster of a test run (tests/postgres/pg_cluster,
// started by the CTest fixture test_services), and fresh schemas in it so
// every test gets an empty store of its own.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace evsrc_test {

// The cluster's base URI (postgresql://evsrc@127.0.0.1:PORT/evsrc): from
// EVSRC_TEST_POSTGRES_URI, else the file named by EVSRC_TEST_POSTGRES_URI_FILE
// (set by CTest). Empty when neither is set or readable: the caller fails the
// test with postgres_test_uri_help() (a PostgreSQL test never skips).
std::string postgres_test_uri();
std::string postgres_test_uri_help();

// A schema name no other test of any process uses: "t_<pid>_<n>_<random>".
std::string fresh_postgres_schema();

// `base` with "?schema=<schema>" (or "&schema=") appended.
std::string with_schema(const std::string& base, const std::string& schema);

// DROP SCHEMA ... CASCADE; ignores errors (used in TearDown).
void drop_postgres_schema(const std::string& base, const std::string& schema);

// A test with a schema of its own in the test cluster: uri_ is the cluster's
// URI with schema=<schema_>; the schema is dropped after the test. Fails (never
// skips) without a cluster.
class FreshPostgresSchema : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string base_;    // the cluster's URI
  std::string schema_;  // this test's schema
  std::string uri_;     // base_ with schema=schema_
};

}  // namespace evsrc_test
