#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "aws/aws_credentials.h"

namespace evsrc::aws {
namespace {

// Clears the AWS variables for one test and restores them afterwards (ctest
// runs this suite with test credentials in the environment).
class ScopedAwsEnvironment {
 public:
  ScopedAwsEnvironment() {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      saved_[name] = value == nullptr ? std::nullopt : std::optional<std::string>(value);
      unsetenv(name);
    }
  }
  ~ScopedAwsEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  ScopedAwsEnvironment(const ScopedAwsEnvironment&) = delete;
  ScopedAwsEnvironment& operator=(const ScopedAwsEnvironment&) = delete;

  void set(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }

 private:
  static constexpr const char* kNames[] = {"AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                           "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",           "HOME"};
  std::map<std::string, std::optional<std::string>> saved_;
};

// A credentials file of its own for each test, removed afterwards.
class CredentialsFile {
 public:
  explicit CredentialsFile(const std::string& text) {
    path_ = ::testing::TempDir() + "evsrc-credentials-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~CredentialsFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr std::string_view kFile =
    "# comment\n"
    "; another comment\n"
    "\n"
    "[default]\n"
    "aws_access_key_id = DEFAULTKEY\n"
    "aws_secret_access_key=default/secret+key\n"
    "\n"
    "[ staging ]\r\n"
    "  aws_access_key_id   =   STAGINGKEY  \r\n"
    "aws_secret_access_key = staging-secret\r\n"
    "aws_session_token = staging-token\r\n"
    "region = eu-west-1\r\n"
    "[broken]\n"
    "aws_access_key_id = BROKENKEY\n";

TEST(ParseCredentialsFile, ReadsTheDefaultProfile) {
  Result<Credentials> credentials = parse_credentials_file(kFile, "default");
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "DEFAULTKEY");
  EXPECT_EQ(credentials->secret_access_key, "default/secret+key");
  EXPECT_EQ(credentials->session_token, "");
}

TEST(ParseCredentialsFile, ToleratesCrlfSpacesAndUnknownKeys) {
  Result<Credentials> credentials = parse_credentials_file(kFile, "staging");
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "STAGINGKEY");
  EXPECT_EQ(credentials->secret_access_key, "staging-secret");
  EXPECT_EQ(credentials->session_token, "staging-token");
}

TEST(ParseCredentialsFile, MissingKeyIsInvalidArgument) {
  Result<Credentials> credentials = parse_credentials_file(kFile, "broken");
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(credentials.status().message().find("aws_secret_access_key"), std::string::npos);
}

TEST(ParseCredentialsFile, MissingProfileIsNotFound) {
  Result<Credentials> credentials = parse_credentials_file(kFile, "production");
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), ErrorCode::not_found);
  EXPECT_EQ(parse_credentials_file("", "default").status().code(), ErrorCode::not_found);
}

TEST(ParseCredentialsFile, KeysOutsideTheProfileAreIgnored) {
  Result<Credentials> credentials = parse_credentials_file(
      "aws_access_key_id = STRAY\n[other]\naws_access_key_id = OTHER\naws_secret_access_key = other\n", "default");
  EXPECT_EQ(credentials.status().code(), ErrorCode::not_found);
}

TEST(LoadCredentials, EnvironmentComesFirst) {
  ScopedAwsEnvironment environment;
  CredentialsFile file(std::string{kFile});
  environment.set("AWS_SHARED_CREDENTIALS_FILE", file.path());
  environment.set("AWS_ACCESS_KEY_ID", "ENVKEY");
  environment.set("AWS_SECRET_ACCESS_KEY", "env-secret");
  environment.set("AWS_SESSION_TOKEN", "env-token");
  Result<Credentials> credentials = load_credentials();
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "ENVKEY");
  EXPECT_EQ(credentials->secret_access_key, "env-secret");
  EXPECT_EQ(credentials->session_token, "env-token");
}

TEST(LoadCredentials, IncompleteEnvironmentFallsBackToTheFile) {
  ScopedAwsEnvironment environment;
  CredentialsFile file(std::string{kFile});
  environment.set("AWS_SHARED_CREDENTIALS_FILE", file.path());
  environment.set("AWS_ACCESS_KEY_ID", "ENVKEY");
  Result<Credentials> credentials = load_credentials();
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "DEFAULTKEY");
}

TEST(LoadCredentials, AwsProfileSelectsTheProfile) {
  ScopedAwsEnvironment environment;
  CredentialsFile file(std::string{kFile});
  environment.set("AWS_SHARED_CREDENTIALS_FILE", file.path());
  environment.set("AWS_PROFILE", "staging");
  Result<Credentials> credentials = load_credentials();
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "STAGINGKEY");
  EXPECT_EQ(credentials->session_token, "staging-token");
}

TEST(LoadCredentials, HomeDirectoryFileWhenNoFileIsNamed) {
  ScopedAwsEnvironment environment;
  std::string home = ::testing::TempDir() + "evsrc-home-" + std::to_string(getpid());
  std::filesystem::create_directories(home + "/.aws");
  std::ofstream(home + "/.aws/credentials") << kFile;
  environment.set("HOME", home);
  Result<Credentials> credentials = load_credentials();
  std::filesystem::remove_all(home);
  ASSERT_TRUE(credentials.ok()) << credentials.status().to_string();
  EXPECT_EQ(credentials->access_key_id, "DEFAULTKEY");
}

TEST(LoadCredentials, MissingProfileNamesWhereItLooked) {
  ScopedAwsEnvironment environment;
  CredentialsFile file(std::string{kFile});
  environment.set("AWS_SHARED_CREDENTIALS_FILE", file.path());
  environment.set("AWS_PROFILE", "production");
  Result<Credentials> credentials = load_credentials();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(credentials.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(credentials.status().message().find(file.path()), std::string::npos);
  EXPECT_NE(credentials.status().message().find("production"), std::string::npos);
}

TEST(LoadCredentials, ProfileWithoutSecretIsInvalidArgument) {
  ScopedAwsEnvironment environment;
  CredentialsFile file(std::string{kFile});
  environment.set("AWS_SHARED_CREDENTIALS_FILE", file.path());
  environment.set("AWS_PROFILE", "broken");
  Result<Credentials> credentials = load_credentials();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(credentials.status().message().find("aws_secret_access_key"), std::string::npos);
}

TEST(LoadCredentials, NoCredentialsAnywhere) {
  ScopedAwsEnvironment environment;
  environment.set("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/evsrc/credentials");
  Result<Credentials> credentials = load_credentials();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().code(), ErrorCode::invalid_argument);
  EXPECT_NE(credentials.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_NE(credentials.status().message().find("/nonexistent/evsrc/credentials"), std::string::npos);
}

}  // namespace
}  // namespace evsrc::aws
