#include <string>

#include "engine/file_store.h"
#include "evsrc/dynamodb.h"
#include "evsrc/event_store.h"
#include "evsrc/postgres.h"
#include "memory/memory_store.h"

namespace evsrc {

Result<std::unique_ptr<EventStore>> open_store(std::string_view uri, const StoreOptions& options) {
  if (uri == "memory:" || uri == "memory://") return new_memory_store(options);
  if (uri.starts_with("file:")) {
    std::string_view path = uri.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);
    if (path.empty()) return Status::invalid_argument("file: URI needs a directory, e.g. file:./evsrc-data");
    return open_file_store(std::string(path), options);
  }
  if (uri.starts_with("postgres://") || uri.starts_with("postgresql://")) {
    PostgresStoreOptions postgres;
    postgres.store = options;
    return open_postgres_store(uri, postgres);
  }
  if (uri.starts_with("dynamodb://")) {
    DynamoStoreOptions dynamo;
    dynamo.store = options;
    return open_dynamodb_store(uri, dynamo);
  }
  return Status::invalid_argument("unknown store URI '" + std::string(uri) +
                                  "': expected memory:, file:<directory>, postgres://... or dynamodb://...");
}

}  // namespace evsrc
