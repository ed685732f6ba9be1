// The projections evsrcd runs beside the API: "categories", a read model in
// SQLite of how many events of each type each stream category holds (what the
// console's statistics show, and a live example of a server-side projection
// with its lag). The database is <dir>/server-read-models.sqlite for a file:
// store, a temporary file (deleted at exit) otherwise.
#pragma once

#include <memory>
#include <string>

#include "evsrc/event_store.h"
#include "evsrc/server.h"
#include "evsrc/sqlite_read_model.h"

namespace evsrc::evsrcd {

class BuiltinProjections {
 public:
  // Registers the projections and starts them live. `data_directory` is
  // empty for stores without one.
  static Result<std::unique_ptr<BuiltinProjections>> start(EventStore& store, const std::string& data_directory);
  ~BuiltinProjections();  // stops the runners, removes a temporary database
  BuiltinProjections(const BuiltinProjections&) = delete;
  BuiltinProjections& operator=(const BuiltinProjections&) = delete;

  // For Server::start: the runners' status.
  Server::ProjectionStatusSource status_source() const;

 private:
  BuiltinProjections() = default;
  std::unique_ptr<SqliteReadModels> read_models_;
  std::string temporary_path_;
};

}  // namespace evsrc::evsrcd
