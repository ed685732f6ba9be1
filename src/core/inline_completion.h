// How evsrc runs the completion callbacks of asynchronous writes
// (EventStore::append_async / commit_async).
//
// Two rules, the same for every backend:
// 1. A completion delivered on the caller's thread (a write refused before it
//    was queued, or run inline by a backend without a pipeline of its own)
//    while that thread is already running a completion waits in a
//    thread-local queue and runs as soon as the outer completion returns. A
//    callback that writes again — the next append of a chain, a retry after a
//    refusal — therefore loops instead of recursing: the stack stays flat
//    however long the chain.
// 2. A callback must not throw. One that does has its exception reported on
//    stderr and dropped, so the other completions still run exactly once and a
//    store thread is never torn down by a caller's bug.
//
// Consequence of rule 1: a callback must not wait for the completion of a
// write it starts itself (that completion runs after the callback returns).
#pragma once

#include <functional>

namespace evsrc {

// Runs `completion` now, or — when this thread is inside a completion (a
// CompletionScope is open) — after the outermost one returns.
void complete_inline(std::function<void()> completion);

// Runs one completion callback under rule 2.
void run_completion(const std::function<void()>& completion) noexcept;

// Marks the current thread as running completions for its lifetime; the
// outermost scope runs the completions deferred meanwhile before it ends.
// Store threads that run callbacks open one around each batch.
class CompletionScope {
 public:
  CompletionScope();
  ~CompletionScope();
  CompletionScope(const CompletionScope&) = delete;
  CompletionScope& operator=(const CompletionScope&) = delete;
};

}  // namespace evsrc
