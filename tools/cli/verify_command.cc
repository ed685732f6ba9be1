// evsrc verify: checks that the store is consistent.
//
// 1. Opening with StoreOptions::verify_all_on_open checks the checksum of
//    every log record (corruption fails the open).
// 2. $all is scanned: positions strictly increase, recorded-at never
//    decreases, each stream's revisions follow each other without a gap.
// 3. Every listed stream is read through its index: revisions contiguous,
//    positions increasing, its head agrees with $all, its first and last
//    events are the events the log holds at their positions, and, when none
//    of its events is hidden from reads, the (revision, position, id) of
//    every event read through the index sums to the same digest as the
//    stream's events in $all (an event-by-event comparison in O(streams)
//    memory).
//    Soft-deleted and tombstoned streams are not listed but keep their
//    events in $all (until space is reclaimed): such a stream must be known
//    to the index as deleted, with a head at or past its last event in $all.
// Prints a JSON summary; exit 0 only when nothing is wrong.
//
// 0. For a file: store opened here (not through --server), before the open:
//    the index's own files are checked (RocksDB's CURRENT, MANIFEST and the
//    block checksums of every table file). Damage is a problem naming the
//    file; the open that follows rebuilds the index from the log, so the
//    later steps check the rebuilt index.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "engine/file_store.h"

namespace evsrc::cli {
namespace {

constexpr std::size_t kMaxReportedProblems = 100;
constexpr std::uint64_t kPageSize = 1000;

struct StreamSeen {
  StreamRevision first = 0;
  StreamRevision last = 0;
  bool listed = false;
  // Sum of event_digest() over the stream's events in $all.
  std::uint64_t digest = 0;
  std::uint64_t count = 0;
};

// Mixes what must agree between the log and a stream's index: revision,
// position and event id. Summed per stream, it compares every event of the
// stream without keeping them (a mismatch anywhere changes the sum).
std::uint64_t event_digest(const RecordedEvent& event) {
  const auto mix = [](std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
  };
  std::uint64_t id = 0;
  for (const std::uint8_t byte : event.id.bytes) id = id * 131 + byte;
  return mix(event.revision * 0x9E3779B97F4A7C15ull ^ mix(event.position) ^ mix(id + 1));
}

class Verifier {
 public:
  explicit Verifier(EventStore& store) : store_(store) {}

  // Step 0's finding, reported with the others.
  void index_damaged(const std::string& damage) {
    index_damage_ = damage;
    problem("index: " + damage + " (the open rebuilt the index from the log)");
  }

  // Returns a non-ok status when the store could not be read at all.
  Status run() {
    if (Status status = scan_all(); !status.ok()) return status;
    return check_streams();
  }

  Json summary() const {
    Json line = Json::object();
    line["ok"] = problem_count_ == 0;
    line["events"] = events_;
    line["streams"] = streams_.size();
    line["lastPosition"] = last_position_ ? Json(*last_position_) : Json(nullptr);
    line["index"] = index_damage_.empty() ? "ok" : "damaged, rebuilt from the log";
    line["streamsComparedEventByEvent"] = streams_compared_;
    line["deletedStreams"] = deleted_streams_;
    line["problemCount"] = problem_count_;
    line["problems"] = problems_;
    return line;
  }

  std::uint64_t problem_count() const { return problem_count_; }

 private:
  void problem(std::string text) {
    ++problem_count_;
    if (problems_.size() < kMaxReportedProblems) problems_.push_back(std::move(text));
  }

  Status scan_all() {
    AllReadOptions options;
    options.limit = kPageSize;
    std::optional<Timestamp> last_time;
    for (;;) {
      auto page = store_.read_all(options);
      if (!page.ok()) return page.status();
      for (const RecordedEvent& event : page->events) {
        ++events_;
        if (last_position_ && event.position <= *last_position_) {
          problem("$all: position " + std::to_string(event.position) + " follows " + std::to_string(*last_position_));
        }
        if (last_time && event.recorded_at < *last_time) {
          problem("$all: recordedAt goes back in time at position " + std::to_string(event.position));
        }
        last_position_ = event.position;
        last_time = event.recorded_at;
        auto [it, inserted] = streams_.try_emplace(event.stream, StreamSeen{event.revision, event.revision, false});
        it->second.digest += event_digest(event);
        ++it->second.count;
        if (!inserted) {
          if (event.revision != it->second.last + 1) {
            problem("stream " + event.stream + ": revision " + std::to_string(event.revision) + " follows " +
                    std::to_string(it->second.last) + " in $all (position " + std::to_string(event.position) + ")");
          }
          it->second.last = event.revision;
        }
      }
      if (!page->next || page->next == options.from) return Status();
      options.from = page->next;
    }
  }

  Status check_streams() {
    std::string after;
    for (;;) {
      auto names = store_.list_streams("", after, kPageSize);
      if (!names.ok()) return names.status();
      for (const std::string& name : *names) {
        if (Status status = check_stream(name); !status.ok()) return status;
      }
      if (names->size() < kPageSize) break;
      after = names->back();
    }
    // Streams that are not listed: soft-deleted and tombstoned streams keep
    // their events in $all until space is reclaimed. A stream the index does
    // not know at all, or knows as live, is a disagreement.
    for (const auto& [name, seen] : streams_) {
      if (seen.listed) continue;
      auto info = store_.stream_info(name);
      if (info.status().code() == ErrorCode::not_found) {
        problem("stream " + name + " has events in $all but the index does not know it");
        continue;
      }
      if (!info.ok()) return info.status();
      if (info->soft_deleted || info->tombstoned) {
        ++deleted_streams_;
        if (!info->last_revision || *info->last_revision < seen.last) {
          problem("stream " + name + " (deleted): its last revision in $all is " + std::to_string(seen.last) +
                  " but the index says " +
                  (info->last_revision ? std::to_string(*info->last_revision) : std::string("none")));
        }
        continue;
      }
      problem("stream " + name + " has events in $all but is not listed");
    }
    return Status();
  }

  Status check_stream(const std::string& name) {
    auto info = store_.stream_info(name);
    if (!info.ok()) return info.status();
    const auto seen = streams_.find(name);
    if (seen != streams_.end()) seen->second.listed = true;
    if (info->soft_deleted || info->tombstoned) return Status();

    StreamReadOptions options;
    options.limit = kPageSize;
    std::optional<RecordedEvent> first;
    std::optional<RecordedEvent> last;
    std::uint64_t digest = 0;
    std::uint64_t count = 0;
    for (;;) {
      auto page = store_.read_stream(name, options);
      if (page.status().code() == ErrorCode::not_found) break;
      if (!page.ok()) return page.status();
      for (RecordedEvent& event : page->events) {
        if (event.stream != name) problem("stream " + name + ": read returned an event of " + event.stream);
        if (last && event.revision != last->revision + 1) {
          problem("stream " + name + ": revision " + std::to_string(event.revision) + " follows " +
                  std::to_string(last->revision));
        }
        if (last && event.position <= last->position) {
          problem("stream " + name + ": position " + std::to_string(event.position) + " at revision " +
                  std::to_string(event.revision) + " does not increase");
        }
        digest += event_digest(event);
        ++count;
        if (!first) first = event;
        last = std::move(event);
      }
      if (!page->next || page->next == options.from) break;
      options.from = page->next;
    }
    if (!last) return Status();
    if (!info->metadata.max_age && info->last_revision != last->revision) {
      problem("stream " + name + ": head is revision " +
              (info->last_revision ? std::to_string(*info->last_revision) : std::string("none")) +
              " but its last event read is revision " + std::to_string(last->revision));
    }
    if (seen != streams_.end() && !info->metadata.max_age && seen->second.last != last->revision) {
      problem("stream " + name + ": last revision in $all is " + std::to_string(seen->second.last) +
              " but the stream's index ends at " + std::to_string(last->revision));
    }
    // When nothing of the stream is hidden from reads, every event reached
    // through the index must be exactly the events of $all.
    const bool nothing_hidden = seen != streams_.end() && first->revision == seen->second.first &&
                                !info->metadata.max_age && !info->metadata.max_count &&
                                !info->metadata.truncate_before;
    if (nothing_hidden) {
      ++streams_compared_;
      if (count != seen->second.count || digest != seen->second.digest) {
        problem("stream " + name + ": the " + std::to_string(count) + " events read through the index differ from the " +
                std::to_string(seen->second.count) + " events of the stream in $all (revision, position or id)");
      }
    }
    if (Status status = check_against_log(*first); !status.ok()) return status;
    if (last->revision != first->revision) return check_against_log(*last);
    return Status();
  }

  // The stream index says `event` is at event.position: the log must agree.
  Status check_against_log(const RecordedEvent& event) {
    AllReadOptions options;
    options.from = event.position;
    options.limit = 1;
    auto page = store_.read_all(options);
    if (!page.ok()) return page.status();
    if (page->events.empty() || page->events.front() != event) {
      problem("stream " + event.stream + ": revision " + std::to_string(event.revision) + " is indexed at position " +
              std::to_string(event.position) + " but $all holds another event there");
    }
    return Status();
  }

  EventStore& store_;
  std::map<std::string, StreamSeen> streams_;
  std::uint64_t events_ = 0;
  std::optional<Position> last_position_;
  std::uint64_t problem_count_ = 0;
  std::uint64_t streams_compared_ = 0;
  std::uint64_t deleted_streams_ = 0;  // soft-deleted or tombstoned, seen in $all
  std::vector<std::string> problems_;
  std::string index_damage_;
};

// The directory of a file: store named by --store, or empty.
std::string file_store_directory(const CommandContext& context) {
  if (!context.server_url.empty() || !context.store_uri.starts_with("file:")) return {};
  std::string path = context.store_uri.substr(5);
  if (path.starts_with("//")) path.erase(0, 2);
  return path;
}

int run_verify(const CommandContext& context) {
  StoreOptions options;
  options.verify_all_on_open = true;
  options.mmap_reads = false;  // a bad sector is reported, not a SIGBUS
  std::string index_damage;
  const std::string directory = file_store_directory(context);
  std::error_code ignored;
  if (!directory.empty() && std::filesystem::exists(directory + "/log", ignored)) {
    if (Status status = check_file_store_index(directory, &index_damage); !status.ok()) {
      return report_error(status, Json{{"store", context.store_uri}});
    }
  }
  int exit_code = kExitOk;
  auto store = open_cli_store(context, options, exit_code);
  if (!store) return exit_code;
  Verifier verifier(*store);
  if (!index_damage.empty()) verifier.index_damaged(index_damage);
  if (Status status = verifier.run(); !status.ok()) return close_cli_store(*store, report_error(status));
  print_json_line(verifier.summary());
  if (!flush_stdout()) exit_code = kExitError;
  if (verifier.problem_count() > 0) {
    exit_code = report_error(Status::corruption("verify found " + std::to_string(verifier.problem_count()) +
                                                " inconsistencies (see the summary on stdout)"));
  }
  return close_cli_store(*store, exit_code);
}

}  // namespace

void register_verify_command(CLI::App& app, CommandContext& context) {
  CLI::App* command = add_command(app, "verify",
                                  "Check every record checksum, the index files' checksums (a damaged index is "
                                  "rebuilt from the log), the order of $all and that each stream's index "
                                  "matches the log. Prints a JSON summary; exit 0 only if all is consistent.");
  command->callback([&context] { context.run = [&context] { return run_verify(context); }; });
}

}  // namespace evsrc::cli
