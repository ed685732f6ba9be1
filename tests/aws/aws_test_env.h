// The local AWS servers of a test run (tests/aws/aws_servers: dynalite with
// TransactWriteItems, and kinesalite, started by the CTest fixture
// test_services), and fresh table
// prefixes and stream names in them so every test gets an empty store of its
// own.
//
// A test that needs the servers never skips: without them, these helpers fail
// the running test (ADD_FAILURE) and throw std::runtime_error with a message
// saying how to start them by hand:
//   tests/aws/aws_servers start /tmp/x
//   export EVSRC_TEST_AWS_DIR=/tmp/x
//
// Credentials: CTest sets AWS_ACCESS_KEY_ID=evsrctest and
// AWS_SECRET_ACCESS_KEY=evsrc-test-secret for these suites; a test binary run
// by hand gets the same ones (set at start-up when unset). Neither server
// checks them, nor the signatures.
#pragma once

#include <string>
#include <string_view>

namespace evsrc::testing {

inline constexpr const char* kAwsTestAccessKeyId = "evsrctest";
inline constexpr const char* kAwsTestSecretAccessKey = "evsrc-test-secret";

// The servers' directory: EVSRC_TEST_AWS_DIR, checked to hold both endpoint
// files. Fails (see above) when unset or when they are missing.
std::string aws_test_dir();

// How to start the servers by hand (the message of the failures above).
std::string aws_test_env_help();

// "http://127.0.0.1:PORT": the first line of DIR/dynamodb_endpoint and of
// DIR/kinesis_endpoint. Fail (see above) without them.
std::string dynamodb_test_endpoint();
std::string kinesis_test_endpoint();

// A table prefix no other test of any process uses:
// "t<base>_<pid>_<counter>_<random>", only [A-Za-z0-9_.-] (other characters of
// `base` become '_', and `base` is cut to 40 characters), short enough for the
// backend's table suffixes (DynamoDB table names have at most 255).
std::string fresh_dynamodb_prefix(std::string_view base);

// "dynamodb://us-east-1/<prefix>?endpoint=<dynamodb_test_endpoint()>".
std::string dynamodb_test_uri(std::string_view prefix);

// A Kinesis stream name no other test of any process uses:
// "s<base>_<pid>_<counter>_<random>", same characters and limits as above
// (stream names have at most 128).
std::string fresh_kinesis_stream_name(std::string_view base);

// Sets AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY to the test credentials when
// they are unset. Runs at start-up (before main, before any thread) in every
// binary that links aws_test_env.cc; calling it again is harmless.
void set_aws_test_credentials_if_unset();

}  // namespace evsrc::testing
