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
  // The write happens now (a caller's next call sees it); only the callback
  // may wait for an outer completion to return.
  complete_inline([done = std::move(done), result = append(stream, expected, events)]() mutable {
    done(std::move(result));
  });
}

void EventStore::commit_async(std::vector<TransactionPart> parts, CommitCallback done) {
  complete_inline([done = std::move(done), result = commit(parts)]() mutable { done(std::move(result)); });
}

}  // namespace evsrc
