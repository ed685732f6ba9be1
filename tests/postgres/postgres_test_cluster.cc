#include "postgres/postgres_test_cluster.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>

#include "evsrc/postgres_connection.h"

namespace evsrc_test {

std::string postgres_test_uri() {
  if (const char* uri = std::getenv("EVSRC_TEST_POSTGRES_URI"); uri != nullptr && *uri != '\0') return uri;
  const char* file = std::getenv("EVSRC_TEST_POSTGRES_URI_FILE");
#ifdef EVSRC_TEST_POSTGRES_URI_FILE_DEFAULT
  if (file == nullptr) file = EVSRC_TEST_POSTGRES_URI_FILE_DEFAULT;  // the build tree's test_services fixture
#endif
  if (file == nullptr) return {};
  std::ifstream in(file);
  std::string uri;
  std::getline(in, uri);
  return uri;
}

std::string postgres_test_uri_help() {
  return "no PostgreSQL test cluster: run the tests with ctest (the test_services fixture starts one), or start "
         "one with tests/postgres/pg_cluster start DIR and set EVSRC_TEST_POSTGRES_URI to the URI it prints";
}

std::string fresh_postgres_schema() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  return "t_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" + std::to_string(salt % 100000);
}

std::string with_schema(const std::string& base, const std::string& schema) {
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema;
}

void drop_postgres_schema(const std::string& base, const std::string& schema) {
  evsrc::PostgresConnectOptions options;
  options.create_schema = false;
  evsrc::Result<evsrc::PostgresConnection> connection = evsrc::PostgresConnection::connect(base, options);
  if (!connection.ok()) return;
  (void)connection->exec("DROP SCHEMA IF EXISTS " + evsrc::quote_identifier(schema) + " CASCADE");
}

void FreshPostgresSchema::SetUp() {
  base_ = postgres_test_uri();
  ASSERT_FALSE(base_.empty()) << postgres_test_uri_help();
  schema_ = fresh_postgres_schema();
  uri_ = with_schema(base_, schema_);
}

void FreshPostgresSchema::TearDown() {
  if (!schema_.empty()) drop_postgres_schema(base_, schema_);
}

}  // namespace evsrc_test
