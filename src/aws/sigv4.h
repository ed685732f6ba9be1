// AWS Signature Version 4 (the "AWS4-HMAC-SHA256" request signature), as
// specified by AWS and checked against its published test suite
// (tests/aws/sigv4_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/aws_credentials.h"

namespace evsrc::aws {

struct HttpRequestToSign {
  std::string method;  // "POST"
  std::string path;    // URI path as sent, e.g. "/" (each segment is URI-encoded again, except for S3)
  std::string query;   // raw query string without '?', may be empty
  // Headers as sent (names in any case). Must include "host". sign() adds
  // x-amz-date, x-amz-security-token (temporary credentials) and authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct SigningScope {
  std::string region;   // "us-east-1"
  std::string service;  // "dynamodb", "kinesis"
};

std::string sha256_hex(std::string_view data);

// The pieces of the algorithm, exposed for the test vectors.
// `amz_date` is the request time as YYYYMMDD'T'HHMMSS'Z'.
std::string canonical_request(const HttpRequestToSign& request, std::string& signed_headers_out);
std::string string_to_sign(std::string_view amz_date, const SigningScope& scope, std::string_view canonical);
std::string signature(std::string_view secret_access_key, std::string_view amz_date, const SigningScope& scope,
                      std::string_view string_to_sign);

// Signs `request` in place at `amz_date`: adds X-Amz-Date, X-Amz-Security-Token
// when the credentials have a session token, and Authorization.
void sign(HttpRequestToSign& request, const Credentials& credentials, const SigningScope& scope,
          std::string_view amz_date);

// The current UTC time as YYYYMMDD'T'HHMMSS'Z'.
std::string amz_date_now();

}  // namespace evsrc::aws
