// The default asynchronous writes (event_store.h): the blocking call, run
// inline, its result handed to the callback (through complete_inline, so a
// callback that appends again does not recurse). Backends with a pipeline of
// their own (the embedded engine) override both.
#include "evsrc/event_store.h"

#include <utility>

#include "core/inline_completion.h"

namespace evsrc {

void EventStore::append_async(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                              AppendCallback done) {
  complete_inline([this, stream = std::move(stream), expected, events = std::move(events), done = std::move(done)] {
    done(append(stream, expected, events));
  });
}

void EventStore::commit_async(std::vector<TransactionPart> parts, CommitCallback done) {
  complete_inline([this, parts = std::move(parts), done = std::move(done)] { done(commit(parts)); });
}

}  // namespace evsrc
