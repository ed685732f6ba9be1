// Session: what one evsrc-directory invocation opens — the event store named
// by --store, the DirectoryService over it and, for queries, the read models,
// caught up to the store's head before the query runs (the CLI is one-shot:
// a query right after a command sees it).
//
// Where the read models live (--read-models LOCATION overrides: a SQLite
// file path, or a postgres:// URI whose schema= names the schema):
//   file:DIR  DIR/read-models.sqlite (the engine only uses DIR/LOCK, DIR/log/,
//             DIR/index/ and its snapshot store, and ignores other files)
//   memory:   a private temporary SQLite file, deleted when the session ends
//             (SQLite's :memory: is private to one connection, and the read
//             models use one connection per build plus one per query)
//
// Thread-safety: one thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "directory/commands.h"
#include "directory/read_models.h"
#include "evsrc/event_store.h"

namespace evsrc::directory {

class Session {
 public:
  // `read_models`: where the read models live; empty: the default above.
  static Result<std::unique_ptr<Session>> open(const std::string& store_uri, const std::string& actor,
                                               const std::string& read_models = {});
  ~Session();  // closes what close() did not
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  DirectoryService& service() { return *service_; }
  // The read models, opened on first use and caught up to the store's head.
  Result<DirectoryReadModels*> caught_up_read_models();
  // Where the read models live (the default above when --read-models was
  // not given); temporary: a file of this session's own, deleted by close().
  const std::string& read_models_location() const { return read_models_path_; }
  bool read_models_temporary() const { return temporary_read_models_; }
  // Closes the read models and the store; reports a failing close.
  Status close();

 private:
  Session() = default;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<DirectoryService> service_;
  std::unique_ptr<DirectoryReadModels> read_models_;
  std::string read_models_path_;
  bool temporary_read_models_ = false;
};

// The SQLite file of the read models of `store_uri` ("" for memory:, whose
// file is temporary).
std::string read_models_path_for(const std::string& store_uri);

}  // namespace evsrc::directory
