#include "postgres/connection_pool.h"

namespace evsrc::pg {

ConnectionPool::ConnectionPool(std::string uri, PostgresConnectOptions options, std::size_t size)
    : uri_(std::move(uri)), options_(std::move(options)), size_(size == 0 ? 1 : size) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->release(std::move(connection_));
}

Result<ConnectionPool::Lease> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return closed_ || !idle_.empty() || open_ < size_; });
  if (closed_) return Status::closed("store is closed");
  while (!idle_.empty()) {
    PostgresConnection connection = std::move(idle_.back());
    idle_.pop_back();
    if (connection.alive()) return Lease(this, std::move(connection));
    --open_;  // closed while idle (e.g. a server restart): connect anew
  }
  ++open_;
  lock.unlock();
  Result<PostgresConnection> connection = PostgresConnection::connect(uri_, options_);
  if (!connection.ok()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return connection.status();
  }
  return Lease(this, std::move(connection).value());
}

void ConnectionPool::release(PostgresConnection connection) {
  std::lock_guard lock(mutex_);
  // A connection left inside a transaction (an error path that could not
  // roll back) is as unusable as a broken one.
  if (closed_ || connection.broken() || connection.in_transaction()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

void ConnectionPool::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  open_ -= idle_.size();
  idle_.clear();
  available_.notify_all();
}

}  // namespace evsrc::pg
