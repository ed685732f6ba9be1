// ConnectionPool: up to N open connections of one store, handed out one call
// at a time. A connection that broke is dropped, not returned, so the next
// call reconnects: a dropped connection costs the call in flight a clear
// io_error, never the store.
//
// Thread-safety: acquire() and close() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "evsrc/postgres_connection.h"

namespace evsrc::pg {

class ConnectionPool {
 public:
  ConnectionPool(std::string uri, PostgresConnectOptions options, std::size_t size);

  // A connection for the lifetime of the lease, returned to the pool when the
  // lease ends (unless it broke).
  class Lease {
   public:
    Lease(ConnectionPool* pool, PostgresConnection connection) : pool_(pool), connection_(std::move(connection)) {}
    ~Lease();
    Lease(Lease&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    PostgresConnection& operator*() { return connection_; }
    PostgresConnection* operator->() { return &connection_; }

   private:
    ConnectionPool* pool_;
    PostgresConnection connection_;
  };

  // Waits while all connections are in use. io_error when connecting fails;
  // closed after close().
  Result<Lease> acquire();
  void close();

 private:
  void release(PostgresConnection connection);

  const std::string uri_;
  const PostgresConnectOptions options_;
  const std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<PostgresConnection> idle_;
  std::size_t open_ = 0;  // idle + leased
  bool closed_ = false;
};

}  // namespace evsrc::pg
