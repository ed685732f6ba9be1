// The default asynchronous writes (event_store.h): the blocking call, run
// inline, its result handed to the callback. Backends with a pipeline of
// their own (the embedded engine) override both.
#include "evsrc/event_store.h"

namespace evsrc {

void EventStore::append_async(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                              AppendCallback done) {
  done(append(stream, expected, events));
}

void EventStore::commit_async(std::vector<TransactionPart> parts, CommitCallback done) { done(commit(parts)); }

}  // namespace evsrc
