#include "core/inline_completion.h"

#include <cstdio>
#include <deque>
#include <exception>
#include <utility>

namespace evsrc {

namespace {

struct CompletionState {
  int depth = 0;
  std::deque<std::function<void()>> deferred;
};

thread_local CompletionState completion_state;

}  // namespace

void run_completion(const std::function<void()>& completion) noexcept {
  try {
    completion();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "evsrc: a write's completion callback threw (dropped): %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "evsrc: a write's completion callback threw (dropped)\n");
  }
}

CompletionScope::CompletionScope() { ++completion_state.depth; }

CompletionScope::~CompletionScope() {
  CompletionState& state = completion_state;
  if (state.depth == 1) {
    // Each deferred completion runs at depth 1: what it defers in turn joins
    // the back of the queue and runs in this same loop.
    while (!state.deferred.empty()) {
      const std::function<void()> next = std::move(state.deferred.front());
      state.deferred.pop_front();
      run_completion(next);
    }
  }
  --state.depth;
}

void complete_inline(std::function<void()> completion) {
  if (completion_state.depth > 0) {
    completion_state.deferred.push_back(std::move(completion));
    return;
  }
  const CompletionScope scope;
  run_completion(completion);
}

}  // namespace evsrc
