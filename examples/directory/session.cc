#include "directory/session.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <system_error>
#include <utility>

namespace evsrc::directory {
namespace {

constexpr std::string_view kFileScheme = "file:";
constexpr char kReadModelsFile[] = "read-models.sqlite";

std::string temporary_database_path() {
  std::random_device random;
  const std::string name = "evsrc-directory-" + std::to_string(::getpid()) + "-" + std::to_string(random()) + ".sqlite";
  std::error_code error;
  std::filesystem::path directory = std::filesystem::temp_directory_path(error);
  if (error) directory = "/tmp";
  return (directory / name).string();
}

void remove_database_files(const std::string& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ignored);
}

}  // namespace

std::string read_models_path_for(const std::string& store_uri) {
  if (!std::string_view(store_uri).starts_with(kFileScheme)) return "";
  return (std::filesystem::path(store_uri.substr(kFileScheme.size())) / kReadModelsFile).string();
}

Result<std::unique_ptr<Session>> Session::open(const std::string& store_uri, const std::string& actor,
                                               const std::string& read_models) {
  Result<std::unique_ptr<EventStore>> store = open_store(store_uri);
  if (!store.ok())
    return Status(store.status().code(), "cannot open store " + store_uri + ": " + store.status().message());
  std::unique_ptr<Session> session(new Session());
  session->store_ = std::move(store).value();
  session->service_ = std::make_unique<DirectoryService>(*session->store_, actor);
  session->read_models_path_ = read_models.empty() ? read_models_path_for(store_uri) : read_models;
  if (session->read_models_path_.empty()) {
    session->read_models_path_ = temporary_database_path();
    session->temporary_read_models_ = true;
  }
  return session;
}

Result<DirectoryReadModels*> Session::caught_up_read_models() {
  if (!read_models_) {
    Result<std::unique_ptr<DirectoryReadModels>> opened = DirectoryReadModels::open(*store_, read_models_path_);
    if (!opened.ok()) return opened.status();
    read_models_ = std::move(opened).value();
  }
  if (Status caught_up = read_models_->catch_up(); !caught_up.ok()) return caught_up;
  return read_models_.get();
}

Status Session::close() {
  read_models_.reset();
  if (temporary_read_models_) {
    remove_database_files(read_models_path_);
    temporary_read_models_ = false;
  }
  service_.reset();
  Status closed;
  if (store_) {
    closed = store_->close();
    store_.reset();
  }
  return closed;
}

Session::~Session() { (void)close(); }

}  // namespace evsrc::directory
