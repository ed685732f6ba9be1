// AWS credentials, found the way the AWS CLI and SDKs find them:
//   1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (and
//      AWS_SESSION_TOKEN when set);
//   2. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else
//      $HOME/.aws/credentials, profile AWS_PROFILE (else "default"):
//      aws_access_key_id, aws_secret_access_key, aws_session_token.
#pragma once

#include <string>
#include <string_view>

#include "evsrc/status.h"

namespace evsrc::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// The credentials from the environment, else the shared file.
// invalid_argument with a message naming every place looked at when none is
// found, or when the profile lacks a key.
Result<Credentials> load_credentials();

// Parses the INI text of a shared credentials file and returns `profile`'s
// keys. not_found when the profile is absent; invalid_argument when it lacks
// aws_access_key_id or aws_secret_access_key. Tolerates comments (# ;),
// blank lines, spaces around '=', and CRLF.
Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile);

}  // namespace evsrc::aws
