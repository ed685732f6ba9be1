#include "aws/aws_credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace evsrc::aws {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// The variable's value; empty when unset.
std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile) {
  Credentials credentials;
  bool in_profile = false;
  bool profile_found = false;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      std::size_t close = line.find(']');
      in_profile = close != std::string_view::npos && trim(line.substr(1, close - 1)) == profile;
      profile_found = profile_found || in_profile;
      continue;
    }
    std::size_t equals = line.find('=');
    if (!in_profile || equals == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, equals));
    std::string value(trim(line.substr(equals + 1)));
    if (key == "aws_access_key_id") {
      credentials.access_key_id = std::move(value);
    } else if (key == "aws_secret_access_key") {
      credentials.secret_access_key = std::move(value);
    } else if (key == "aws_session_token") {
      credentials.session_token = std::move(value);
    }
  }
  if (!profile_found) return Status::not_found("no profile [" + std::string(profile) + "]");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::invalid_argument(
        "profile [" + std::string(profile) + "] lacks " +
        (credentials.access_key_id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
  }
  return credentials;
}

Result<Credentials> load_credentials() {
  Credentials credentials{environment("AWS_ACCESS_KEY_ID"), environment("AWS_SECRET_ACCESS_KEY"),
                          environment("AWS_SESSION_TOKEN")};
  if (!credentials.access_key_id.empty() && !credentials.secret_access_key.empty()) return credentials;

  std::string path = environment("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty()) {
    std::string home = environment("HOME");
    path = home.empty() ? std::string("~/.aws/credentials") : home + "/.aws/credentials";
  }
  std::string profile = environment("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  const std::string looked_at =
      "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set, and ";

  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::invalid_argument(looked_at + "the shared credentials file " + path + " cannot be read");
  std::ostringstream text;
  text << file.rdbuf();
  Result<Credentials> parsed = parse_credentials_file(text.str(), profile);
  if (!parsed.ok()) {
    return Status::invalid_argument(looked_at + "in the shared credentials file " + path + ": " +
                                    parsed.status().message());
  }
  return parsed;
}

}  // namespace evsrc::aws
