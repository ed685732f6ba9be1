#include "aws/aws_test_env.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

namespace evsrc::testing {
namespace {

// Fails the running test, if any, then throws: a test that catches the
// exception (e.g. in a clean-up) still fails, and code outside a test still
// stops. Never a skip.
[[noreturn]] void fail(const std::string& message) {
  if (::testing::UnitTest::GetInstance()->current_test_info() != nullptr) ADD_FAILURE() << message;
  throw std::runtime_error(message);
}

// The first line of DIR/NAME, without trailing whitespace; empty when the file
// is missing or empty.
std::string first_line(const std::string& dir, const char* name) {
  std::ifstream in(dir + "/" + name);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

std::string endpoint(const char* file) {
  const std::string dir = aws_test_dir();
  std::string url = first_line(dir, file);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    fail(dir + "/" + file + " holds no endpoint URL ('" + url + "'). " + aws_test_env_help());
  }
  return url;
}

// "<letter><base>_<pid>_<counter>_<random>" with only [A-Za-z0-9_.-].
std::string fresh_name(char letter, std::string_view base) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  std::string name(1, letter);
  for (char c : base.substr(0, 40)) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                         c == '.' || c == '-';
    name += allowed ? c : '_';
  }
  name += "_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
          std::to_string(salt % 1000000);
  return name;
}

// Before main: setenv() is not safe once other threads read the environment.
const bool credentials_set = (set_aws_test_credentials_if_unset(), true);

}  // namespace

void set_aws_test_credentials_if_unset() {
  const auto unset = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr || *value == '\0';
  };
  if (unset("AWS_ACCESS_KEY_ID")) setenv("AWS_ACCESS_KEY_ID", kAwsTestAccessKeyId, 1);
  if (unset("AWS_SECRET_ACCESS_KEY")) setenv("AWS_SECRET_ACCESS_KEY", kAwsTestSecretAccessKey, 1);
}

std::string aws_test_env_help() {
  return "The DynamoDB and Kinesis tests need the local AWS servers (dynalite and kinesalite): run the tests with "
         "ctest (the test_services fixture starts them), or start them by hand with\n"
         "  tests/aws/aws_servers start /tmp/x\n"
         "  export EVSRC_TEST_AWS_DIR=/tmp/x\n"
         "(and tests/aws/aws_servers stop /tmp/x afterwards).";
}

std::string aws_test_dir() {
  (void)credentials_set;
  const char* dir = std::getenv("EVSRC_TEST_AWS_DIR");
#ifdef EVSRC_TEST_AWS_DIR_DEFAULT
  if (dir == nullptr || *dir == '\0') dir = EVSRC_TEST_AWS_DIR_DEFAULT;  // the build tree's test_services fixture
#endif
  if (dir == nullptr || *dir == '\0') fail("EVSRC_TEST_AWS_DIR is not set. " + aws_test_env_help());
  for (const char* file : {"dynamodb_endpoint", "kinesis_endpoint"}) {
    if (first_line(dir, file).empty()) {
      fail(std::string("EVSRC_TEST_AWS_DIR=") + dir + " has no " + file + " (are the servers running?). " +
           aws_test_env_help());
    }
  }
  return dir;
}

std::string dynamodb_test_endpoint() { return endpoint("dynamodb_endpoint"); }

std::string kinesis_test_endpoint() { return endpoint("kinesis_endpoint"); }

std::string fresh_dynamodb_prefix(std::string_view base) { return fresh_name('t', base); }

std::string dynamodb_test_uri(std::string_view prefix) {
  return "dynamodb://us-east-1/" + std::string(prefix) + "?endpoint=" + dynamodb_test_endpoint();
}

std::string fresh_kinesis_stream_name(std::string_view base) { return fresh_name('s', base); }

}  // namespace evsrc::testing
