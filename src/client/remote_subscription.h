// Subscriptions of the remote store: a Server-Sent Events stream of
// GET /v1/subscriptions/... read by a background thread into a bounded queue
// that next() drains.
//
// Memory stays bounded: when the queue is full the thread stops reading the
// socket, TCP pushes back on the server, and a server that drops the slow
// subscriber is simply asked again from after the last queued event. A lost
// connection is resumed the same way, so next() never sees a gap or a
// duplicate; it reports io_error only when the server stays unreachable.
//
// Thread-safety: as Subscription (one thread calls next(); cancel() from any).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "client/http_client.h"
#include "evsrc/subscription.h"

namespace evsrc::client {

struct SubscriptionSource {
  // The path and filter without `from`, e.g. "/v1/subscriptions/all?prefix=a" or
  // "/v1/subscriptions/streams/s%2D1".
  std::string target;
  bool by_revision = false;  // stream subscription: resume by revision, else by position
  std::uint64_t from = 0;    // the first revision / position wanted
  std::uint64_t batch_size = 1000;
};

// Cancels the subscription behind it; held by the store to end every
// subscription at close(). Thread-safe.
class SubscriptionHandle {
 public:
  virtual ~SubscriptionHandle() = default;
  virtual void cancel() = 0;
};

struct StartedSubscription {
  std::unique_ptr<Subscription> subscription;
  std::weak_ptr<SubscriptionHandle> handle;
};

// Starts the background thread; `client` is used by it alone.
StartedSubscription start_sse_subscription(std::unique_ptr<HttpClient> client, SubscriptionSource source);

}  // namespace evsrc::client
