// Subscriptions: catch up from a start point, then follow live commits.
//
// A subscription is pulled: next() returns the next batch of events, waiting
// up to a timeout when there is nothing new. The store never buffers for a
// subscriber; a slow subscriber only falls behind and reads the log when it
// asks again, so it can never stall writers (back-pressure by pull).
//
// Thread-safety: one thread calls next(); cancel() may be called from any
// thread and wakes a blocked next().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/status.h"
#include "evsrc/types.h"

namespace evsrc {

// Filters for $all reads and subscriptions. Empty fields match everything;
// set fields must all match.
struct EventFilter {
  std::string stream_prefix;
  std::string category;    // stream_category(stream) == category
  std::string event_type;  // exact match
  bool empty() const { return stream_prefix.empty() && category.empty() && event_type.empty(); }
  bool matches(const RecordedEvent& event) const { return matches(event.stream, event.type); }
  bool matches(std::string_view stream, std::string_view type) const;
};

struct AllSubscriptionOptions {
  std::optional<Position> from;  // inclusive; nullopt = the beginning
  EventFilter filter;
  std::uint64_t batch_size = 1000;
};

struct StreamSubscriptionOptions {
  std::optional<StreamRevision> from;  // inclusive; nullopt = revision 0
  std::uint64_t batch_size = 1000;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
  // The next events in order, never a gap or duplicate. Waits up to `timeout`
  // when caught up and returns an empty batch if nothing came. Errors:
  // closed (store closed or cancel()), or the store's read error.
  virtual Result<std::vector<RecordedEvent>> next(std::chrono::milliseconds timeout) = 0;
  virtual void cancel() = 0;
};

}  // namespace evsrc
