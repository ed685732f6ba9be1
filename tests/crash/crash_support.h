// Helpers shared by the crash tests: temporary directories, event factories
// and whole-store reads with the structural checks every crash test repeats.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "evsrc/event_store.h"

namespace evsrc::crash {

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless
// keep() was called (to leave evidence of a failure behind).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (!path_.empty() && !keep_) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }  // empty when creation failed
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Every event of the store in $all order, with the contract's invariants
// checked on the way: positions strictly increase, each stream's revisions
// are 0, 1, 2, ... in $all order, no id appears twice. Problems are appended
// to `problems` (a human-readable sentence each).
inline Result<std::vector<RecordedEvent>> read_whole_store(EventStore& store, std::vector<std::string>* problems) {
  std::vector<RecordedEvent> events;
  std::map<std::string, StreamRevision> next_revision;
  std::map<Uuid, Position> seen_ids;
  AllReadOptions options;
  options.limit = 1000;
  for (;;) {
    Result<AllPage> page = store.read_all(options);
    if (!page.ok()) return page.status();
    for (RecordedEvent& event : page->events) {
      if (!events.empty() && event.position <= events.back().position) {
        problems->push_back("$all: position " + std::to_string(event.position) + " after " +
                            std::to_string(events.back().position));
      }
      StreamRevision& expected = next_revision[event.stream];
      if (event.revision != expected) {
        problems->push_back("stream " + event.stream + ": revision " + std::to_string(event.revision) + " where " +
                            std::to_string(expected) + " was due (position " + std::to_string(event.position) + ")");
      }
      expected = event.revision + 1;
      auto [it, inserted] = seen_ids.emplace(event.id, event.position);
      if (!inserted) {
        problems->push_back("event " + event.id.to_string() + " appears twice, at positions " +
                            std::to_string(it->second) + " and " + std::to_string(event.position));
      }
      events.push_back(std::move(event));
    }
    if (!page->next) break;
    options.from = page->next;
  }
  return events;
}

// Reads every stream of `events` through read_stream and reports where the
// stream index disagrees with $all (the index is derived and rebuilt after a
// crash, so it must be checked too).
inline void check_streams_match(EventStore& store, const std::vector<RecordedEvent>& events,
                                std::vector<std::string>* problems) {
  std::map<std::string, std::vector<const RecordedEvent*>> by_stream;
  for (const RecordedEvent& event : events) by_stream[event.stream].push_back(&event);
  for (const auto& [stream, expected] : by_stream) {
    std::vector<RecordedEvent> actual;
    // Streams here are never deleted, so the index must hold every event.
    StreamReadOptions options;
    options.limit = 1000;
    for (;;) {
      Result<StreamPage> page = store.read_stream(stream, options);
      if (!page.ok()) {
        problems->push_back("read_stream " + stream + ": " + page.status().to_string());
        break;
      }
      for (RecordedEvent& event : page->events) actual.push_back(std::move(event));
      if (!page->next) break;
      options.from = page->next;
    }
    if (actual.size() != expected.size()) {
      problems->push_back("read_stream " + stream + " returns " + std::to_string(actual.size()) + " events, $all has " +
                          std::to_string(expected.size()));
      continue;
    }
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (actual[i].id != expected[i]->id || actual[i].revision != expected[i]->revision ||
          actual[i].position != expected[i]->position) {
        problems->push_back("read_stream " + stream + " differs from $all at revision " +
                            std::to_string(expected[i]->revision));
        break;
      }
    }
  }
}

}  // namespace evsrc::crash
