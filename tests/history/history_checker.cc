#include "history/history_checker.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace evsrc::history {

Result<FinalState> read_final_state(EventStore& store, std::span<const std::string> streams) {
  FinalState state;
  AllReadOptions all_options;
  all_options.limit = 1000;
  for (;;) {
    Result<AllPage> page = store.read_all(all_options);
    if (!page.ok()) return page.status();
    for (const RecordedEvent& event : page->events) state.all.push_back(seen(event));
    if (!page->next) break;
    all_options.from = page->next;
  }
  for (const std::string& stream : streams) {
    std::vector<SeenEvent>& events = state.streams[stream];
    StreamReadOptions options;
    options.limit = 1000;
    for (;;) {
      Result<StreamPage> page = store.read_stream(stream, options);
      if (!page.ok() && page.status().code() == ErrorCode::not_found) break;
      if (!page.ok()) return page.status();
      for (const RecordedEvent& event : page->events) events.push_back(seen(event));
      if (!page->next) break;
      options.from = page->next;
    }
  }
  return state;
}

std::string CheckReport::summary() const {
  std::ostringstream out;
  out << "writes=" << writes << " acks=" << acknowledged << " conflicts=" << conflicts << " failed=" << failed
      << " unknown=" << unknown << " (applied " << unknown_applied << ") resent=" << resent << " stream_reads=" << stream_reads_checked
      << " all_pages=" << pages_checked << " failed_reads=" << failed_reads << " violations=" << violations.size();
  return out.str();
}

std::string CheckReport::describe(std::size_t limit) const {
  std::string text = summary();
  for (std::size_t i = 0; i < violations.size() && i < limit; ++i) text += "\n  " + violations[i];
  if (violations.size() > limit) text += "\n  ... " + std::to_string(violations.size() - limit) + " more";
  return text;
}

namespace {

constexpr std::int64_t kNone = -1;  // an absent stream's head; no index

std::string time_text(Time time) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(3);
  out << static_cast<double>(time) / 1e6 << "ms";
  return out.str();
}

std::string head_text(std::int64_t head) { return head < 0 ? "absent" : std::to_string(head); }

std::string event_text(const SeenEvent& event) {
  return event.stream + "@" + std::to_string(event.revision) + " (position " + std::to_string(event.position) +
         ", id " + event.id.to_string().substr(0, 8) + ")";
}

std::string write_text(const History& history, std::size_t index) {
  const WriteOp& op = history.writes[index];
  std::string text = (op.transaction ? "transaction #" : "append #") + std::to_string(index) + " by client " +
                     std::to_string(op.client) + " of ";
  for (std::size_t i = 0; i < op.parts.size(); ++i) {
    const WritePart& part = op.parts[i];
    if (i > 0) text += " + ";
    text += std::to_string(part.ids.size()) + " to " + part.stream + " expecting " + part.expected.to_string();
  }
  text += " [" + time_text(op.invoke) + ".." + (op.completed ? time_text(op.complete) : "pending") + ", " +
          std::string(outcome_name(op.outcome)) + "]";
  return text;
}

std::string stream_read_text(const History& history, std::size_t index) {
  const StreamReadOp& op = history.stream_reads[index];
  return "read #" + std::to_string(index) + " by client " + std::to_string(op.client) + " of " + op.stream + " " +
         (op.direction == Direction::forward ? "forward" : "backward") + " from " +
         (op.from ? std::to_string(*op.from) : "start") + " [" + time_text(op.invoke) + ".." +
         time_text(op.complete) + "]";
}

std::string page_text(std::size_t scan, std::size_t page_index, const AllPageRead& page) {
  return "$all scan #" + std::to_string(scan) + " page " + std::to_string(page_index) + " from " +
         (page.from ? std::to_string(*page.from) : "start") + " [" + time_text(page.invoke) + ".." +
         time_text(page.complete) + "]";
}

// The largest value among entries that happened strictly before a time.
class MaxBefore {
 public:
  struct Entry {
    Time time = 0;
    std::int64_t value = 0;
    std::size_t tag = 0;
  };
  void add(Time time, std::int64_t value, std::size_t tag) { entries_.push_back({time, value, tag}); }
  void build() {
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.time < b.time; });
    prefix_.clear();
    for (const Entry& entry : entries_) {
      prefix_.push_back(prefix_.empty() || entry.value > prefix_.back().value ? entry : prefix_.back());
    }
  }
  // REQUIRES: build() after the last add().
  std::optional<Entry> before(Time time) const {
    const auto end = std::lower_bound(entries_.begin(), entries_.end(), time,
                                      [](const Entry& entry, Time t) { return entry.time < t; });
    if (end == entries_.begin()) return std::nullopt;
    return prefix_[static_cast<std::size_t>(end - entries_.begin()) - 1];
  }

 private:
  std::vector<Entry> entries_;
  std::vector<Entry> prefix_;
};

// A stream's head as one operation saw it.
struct Observation {
  std::string stream;
  std::int64_t head = kNone;
  Time invoke = 0;
  Time complete = 0;
  bool is_write = false;  // an acknowledged write's own result
  std::string what;
};

// Where an id was appended.
struct Owner {
  std::size_t op = 0;
  std::size_t part = 0;
  std::size_t index = 0;
};

// Where a write that took effect is in the final $all.
struct Placement {
  bool present = false;
  std::size_t low = 0;  // smallest index into FinalState::all
  std::size_t high = 0;
};

bool satisfied_by_first(const ExpectedRevision& expected, StreamRevision first) {
  switch (expected.kind()) {
    case ExpectedRevision::Kind::any:
      return true;
    case ExpectedRevision::Kind::no_stream:
      return first == 0;
    case ExpectedRevision::Kind::stream_exists:
      return first >= 1;
    case ExpectedRevision::Kind::exact:
      return first == expected.revision() + 1;
  }
  return false;
}

bool satisfied_by_head(const ExpectedRevision& expected, std::optional<StreamRevision> head) {
  switch (expected.kind()) {
    case ExpectedRevision::Kind::any:
      return true;
    case ExpectedRevision::Kind::no_stream:
      return !head.has_value();
    case ExpectedRevision::Kind::stream_exists:
      return head.has_value();
    case ExpectedRevision::Kind::exact:
      return head.has_value() && *head == expected.revision();
  }
  return false;
}

class Checker {
 public:
  Checker(const History& history, const FinalState& final_state) : history_(history), final_(final_state) {}

  CheckReport run() {
    check_final_state();
    index_writes();
    check_writes();
    check_write_order();
    collect_observations();
    check_observations();
    check_scans();
    check_visibility();
    return std::move(report_);
  }

 private:
  void violation(std::string_view rule, const std::string& text) {
    report_.violations.push_back("[" + std::string(rule) + "] " + text);
  }

  const SeenEvent* final_event(const Uuid& id) const {
    const auto it = final_index_.find(id);
    return it == final_index_.end() ? nullptr : &final_.all[it->second];
  }

  // Index into FinalState::all of `stream`@`revision`, if the stream has it.
  std::optional<std::size_t> stream_event_index(const std::string& stream, std::int64_t revision) const {
    const auto it = stream_indices_.find(stream);
    if (revision < 0 || it == stream_indices_.end() || static_cast<std::size_t>(revision) >= it->second.size()) {
      return std::nullopt;
    }
    return it->second[static_cast<std::size_t>(revision)];
  }

  std::int64_t final_stream_size(const std::string& stream) const {
    const auto it = stream_indices_.find(stream);
    return it == stream_indices_.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  }

  // [final], [order] on the final state alone.
  void check_final_state() {
    for (std::size_t i = 0; i < final_.all.size(); ++i) {
      const SeenEvent& event = final_.all[i];
      if (i > 0 && event.position <= final_.all[i - 1].position) {
        violation("order", "$all positions do not strictly increase: " + event_text(final_.all[i - 1]) +
                               " is followed by " + event_text(event));
      }
      if (!final_index_.emplace(event.id, i).second) {
        violation("final", "event id " + event.id.to_string() + " is in $all twice: " +
                               event_text(final_.all[final_index_[event.id]]) + " and " + event_text(event));
      }
      std::vector<std::size_t>& indices = stream_indices_[event.stream];
      if (event.revision != indices.size()) {
        violation("order", "in $all order, " + event_text(event) + " comes where revision " +
                               std::to_string(indices.size()) + " of " + event.stream +
                               " was due (revisions must be contiguous and ascend with positions)");
      }
      indices.push_back(i);
    }
    for (const auto& [stream, events] : final_.streams) {
      const auto it = stream_indices_.find(stream);
      const std::size_t in_all = it == stream_indices_.end() ? 0 : it->second.size();
      if (events.size() != in_all) {
        violation("final", "stream " + stream + " reads " + std::to_string(events.size()) + " events but $all has " +
                               std::to_string(in_all) + " of it");
      }
      for (std::size_t k = 0; k < events.size() && k < in_all; ++k) {
        const SeenEvent& in_stream = events[k];
        const SeenEvent& from_all = final_.all[it->second[k]];
        if (in_stream.revision != k || !(in_stream == from_all)) {
          violation("final", "stream " + stream + " read has " + event_text(in_stream) + " as its event " +
                                 std::to_string(k) + " where $all has " + event_text(from_all));
          break;
        }
      }
    }
  }

  void index_writes() {
    original_.resize(history_.writes.size());
    copied_.resize(history_.writes.size());
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      const WriteOp& write = history_.writes[op];
      original_[op] = op;
      if (const auto first = first_id(write)) {
        if (const auto owner = owners_.find(*first); owner != owners_.end() && same_request(history_.writes[owner->second.op], write)) {
          // A resend of the same request: writes the events once at most.
          original_[op] = original_[owner->second.op];
          copied_[op] = true;
          copied_[original_[op]] = true;
          ++report_.resent;
          continue;
        }
      }
      for (std::size_t part = 0; part < write.parts.size(); ++part) {
        const std::vector<Uuid>& ids = write.parts[part].ids;
        for (std::size_t index = 0; index < ids.size(); ++index) {
          if (!owners_.emplace(ids[index], Owner{op, part, index}).second) {
            violation("final", "the workload reused event id " + ids[index].to_string() + " in " +
                                   write_text(history_, op) + ": the history cannot be checked");
          }
        }
      }
    }
    for (const SeenEvent& event : final_.all) {
      if (owners_.find(event.id) == owners_.end()) {
        violation("final", event_text(event) + " is in the final state but no client appended it");
      }
    }
  }

  static std::optional<Uuid> first_id(const WriteOp& write) {
    for (const WritePart& part : write.parts) {
      if (!part.ids.empty()) return part.ids.front();
    }
    return std::nullopt;
  }

  static bool same_request(const WriteOp& a, const WriteOp& b) {
    if (a.parts.size() != b.parts.size()) return false;
    for (std::size_t i = 0; i < a.parts.size(); ++i) {
      if (a.parts[i].stream != b.parts[i].stream || !(a.parts[i].expected == b.parts[i].expected) ||
          a.parts[i].ids != b.parts[i].ids) {
        return false;
      }
    }
    return true;
  }

  // When the request was first invoked (resends included): the earliest its
  // events can have been written.
  Time first_invoke(std::size_t op) const { return history_.writes[original_[op]].invoke; }

  // Checks one acknowledged part's answer against its expectation and claims
  // its revisions.
  void check_acknowledged_part(std::size_t op, const WritePart& part,
                               std::map<std::pair<std::string, StreamRevision>, std::size_t>& claimed) {
    const std::string what = write_text(history_, op);
    if (part.ids.empty()) {
      if (!satisfied_by_head(part.expected, part.first_revision)) {
        violation("revisions", what + " succeeded with the condition on " + part.stream + " reporting head " +
                                   (part.first_revision ? std::to_string(*part.first_revision) : "absent"));
      }
      return;
    }
    if (!part.first_revision || !part.last_revision) {
      violation("revisions", what + " succeeded without revisions for " + part.stream);
      return;
    }
    const StreamRevision first = *part.first_revision;
    const StreamRevision last = *part.last_revision;
    if (last < first || last - first + 1 != part.ids.size()) {
      violation("revisions", what + " was acknowledged at revisions " + std::to_string(first) + ".." +
                                 std::to_string(last) + " of " + part.stream + " for " +
                                 std::to_string(part.ids.size()) + " events");
    }
    if (!satisfied_by_first(part.expected, first)) {
      violation("revisions",
                what + " was acknowledged with first revision " + std::to_string(first) + " of " + part.stream);
    }
    for (std::size_t k = 0; k < part.ids.size(); ++k) {
      const auto [it, fresh] = claimed.emplace(std::make_pair(part.stream, first + k), op);
      if (!fresh && original_[it->second] != original_[op]) {
        violation("duplicate", "two acknowledged writes got " + part.stream + "@" + std::to_string(first + k) +
                                   ": " + write_text(history_, it->second) + " and " + what);
      }
    }
  }

  // [revisions], [duplicate], [lost], [failed-write], [atomic], [order] per write.
  void check_writes() {
    std::map<std::pair<std::string, StreamRevision>, std::size_t> claimed;
    placements_.resize(history_.writes.size());
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      const WriteOp& write = history_.writes[op];
      const std::string what = write_text(history_, op);
      ++report_.writes;
      switch (write.outcome) {
        case Outcome::ok:
          ++report_.acknowledged;
          break;
        case Outcome::wrong_expected_revision:
          ++report_.conflicts;
          break;
        case Outcome::failed:
          ++report_.failed;
          break;
        case Outcome::unknown:
          ++report_.unknown;
          break;
      }
      std::size_t total = 0;
      std::size_t present = 0;
      std::size_t low = final_.all.size();
      std::size_t high = 0;
      for (const WritePart& part : write.parts) {
        for (std::size_t k = 0; k < part.ids.size(); ++k) {
          ++total;
          const auto found = final_index_.find(part.ids[k]);
          if (found == final_index_.end()) {
            if (write.outcome == Outcome::ok) {
              violation("lost", what + ": acknowledged event " + std::to_string(k) + " for " + part.stream +
                                    " (id " + part.ids[k].to_string().substr(0, 8) + ") is not in the final state");
            }
            continue;
          }
          ++present;
          low = std::min(low, found->second);
          high = std::max(high, found->second);
          const SeenEvent& event = final_.all[found->second];
          if (event.stream != part.stream) {
            violation("lost", what + ": event " + std::to_string(k) + " for " + part.stream + " is stored as " +
                                  event_text(event));
          }
          if (write.outcome == Outcome::ok && part.first_revision && event.revision != *part.first_revision + k) {
            violation("lost", what + ": event " + std::to_string(k) + " was acknowledged at " + part.stream + "@" +
                                  std::to_string(*part.first_revision + k) + " but is stored as " +
                                  event_text(event));
          }
          if (write.outcome == Outcome::ok && k + 1 == part.ids.size() && event.position != part.position) {
            violation("lost", what + ": its last event for " + part.stream + " was acknowledged at position " +
                                  std::to_string(part.position) + " but is stored as " + event_text(event));
          }
        }
      }
      if (write.outcome == Outcome::ok) {
        for (const WritePart& part : write.parts) check_acknowledged_part(op, part, claimed);
      } else if (write.outcome != Outcome::unknown && present > 0) {
        violation("failed-write", what + " failed (" + write.error + ") but " + std::to_string(present) + " of its " +
                                      std::to_string(total) + " events are in the final state" +
                                      (copied_[op] ? " (it was resent: a resend of recorded events must succeed)" : ""));
      } else if (write.outcome == Outcome::unknown && present > 0 && present < total) {
        violation("atomic", what + " (" + write.error + ") is partly in the final state: " + std::to_string(present) +
                                " of " + std::to_string(total) + " events");
      }
      if (present == 0 || present != total) continue;
      if (write.outcome == Outcome::unknown) ++report_.unknown_applied;
      placements_[op] = Placement{true, low, high};
      if (high - low + 1 != total) {
        violation("order", what + ": its " + std::to_string(total) + " events are not adjacent in $all (from " +
                               event_text(final_.all[low]) + " to " + event_text(final_.all[high]) + ")");
      }
      for (const WritePart& part : write.parts) {
        if (part.ids.empty()) continue;
        const SeenEvent& first = *final_event(part.ids[0]);
        for (std::size_t k = 1; k < part.ids.size(); ++k) {
          const SeenEvent& event = *final_event(part.ids[k]);
          if (event.revision != first.revision + k) {
            violation("order", what + ": event " + std::to_string(k) + " for " + part.stream + " is stored as " +
                                   event_text(event) + " after its first at " + event_text(first));
            break;
          }
        }
        if (write.outcome != Outcome::ok && !satisfied_by_first(part.expected, first.revision)) {
          violation("revisions", what + " took effect although its first event is " + event_text(first));
        }
      }
    }
  }

  // [real-time] between writes: a write acknowledged before another was
  // invoked precedes it in $all.
  void check_write_order() {
    MaxBefore acknowledged;
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      const WriteOp& write = history_.writes[op];
      if (write.outcome == Outcome::ok && placements_[op].present) {
        acknowledged.add(write.complete, static_cast<std::int64_t>(placements_[op].high), op);
      }
    }
    acknowledged.build();
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      if (!placements_[op].present) continue;
      const auto earlier = acknowledged.before(first_invoke(op));
      if (earlier && earlier->value >= static_cast<std::int64_t>(placements_[op].low)) {
        violation("real-time", write_text(history_, earlier->tag) + " was acknowledged before " +
                                   write_text(history_, op) + " was invoked, but ends at " +
                                   event_text(final_.all[static_cast<std::size_t>(earlier->value)]) +
                                   ", after the later write's first event " +
                                   event_text(final_.all[placements_[op].low]));
      }
    }
  }

  // Validates a stream read against the final state ([prefix], [future],
  // [final]); true when its head can be used as an observation.
  bool validate_stream_read(std::size_t index) {
    const StreamReadOp& read = history_.stream_reads[index];
    const std::string what = stream_read_text(history_, index);
    if (read.absent) return true;
    bool usable = true;
    if (read.events.size() > read.limit) {
      violation("prefix", what + " returned " + std::to_string(read.events.size()) + " events for limit " +
                              std::to_string(read.limit));
    }
    const bool forward = read.direction == Direction::forward;
    const StreamRevision start = read.from.value_or(forward ? 0 : read.last_revision);
    for (std::size_t k = 0; k < read.events.size(); ++k) {
      const SeenEvent& event = read.events[k];
      const SeenEvent* stored = final_event(event.id);
      if (stored == nullptr) {
        violation("future", what + " returned " + event_text(event) + ", which is not in the final state");
        usable = false;
        continue;
      }
      if (!(*stored == event)) {
        violation("prefix", what + " returned " + event_text(event) + " but the final state has it as " +
                                event_text(*stored));
        usable = false;
      }
      const bool in_place = forward ? event.revision == start + k : start >= k && event.revision == start - k;
      if (event.stream != read.stream || !in_place) {
        violation("prefix", what + " returned " + event_text(event) + " as its event " + std::to_string(k) +
                                " (revisions must be contiguous from " + std::to_string(start) + ")");
        usable = false;
      }
      const WriteOp& writer = history_.writes[owners_.at(event.id).op];
      if (writer.invoke >= read.complete) {
        violation("future", what + " returned " + event_text(event) + ", written by " +
                                write_text(history_, owners_.at(event.id).op) + ", invoked after the read completed");
      }
      if (event.revision > read.last_revision) {
        violation("prefix", what + " returned " + event_text(event) + " beyond the head " +
                                std::to_string(read.last_revision) + " it reported");
      }
    }
    if (forward && !read.next && start <= read.last_revision &&
        (read.events.empty() || read.events.back().revision != read.last_revision)) {
      violation("prefix", what + " reported the end of the stream at head " + std::to_string(read.last_revision) +
                              " but returned " +
                              (read.events.empty() ? std::string("nothing") : event_text(read.events.back())) +
                              " last");
    }
    if (!forward && !read.from && !read.events.empty() && read.events.front().revision != read.last_revision) {
      violation("prefix", what + " started at " + event_text(read.events.front()) + " but reported head " +
                              std::to_string(read.last_revision));
    }
    return usable;
  }

  // Heads seen by stream reads, acknowledged writes and conflicts.
  void collect_observations() {
    for (std::size_t index = 0; index < history_.stream_reads.size(); ++index) {
      const StreamReadOp& read = history_.stream_reads[index];
      if (!read.ok) {
        ++report_.failed_reads;
        continue;
      }
      ++report_.stream_reads_checked;
      if (!validate_stream_read(index)) continue;
      observations_.push_back(Observation{read.stream,
                                          read.absent ? kNone : static_cast<std::int64_t>(read.last_revision),
                                          read.invoke, read.complete, false, stream_read_text(history_, index)});
    }
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      const WriteOp& write = history_.writes[op];
      // A resent request may be answered from the record of its first
      // execution: its answer is no head seen at its own time.
      if (write.outcome == Outcome::ok && !copied_[op]) {
        for (const WritePart& part : write.parts) {
          const std::optional<StreamRevision> head = part.ids.empty() ? part.first_revision : part.last_revision;
          if (!part.ids.empty() && !head) continue;  // reported by [revisions]
          observations_.push_back(Observation{part.stream, head ? static_cast<std::int64_t>(*head) : kNone,
                                              write.invoke, write.complete, !part.ids.empty(),
                                              write_text(history_, op)});
        }
      } else if (write.outcome == Outcome::wrong_expected_revision && write.actual_known && !write.transaction) {
        const WritePart& part = write.parts[0];
        if (satisfied_by_head(part.expected, write.actual_revision)) {
          violation("conflict", write_text(history_, op) + " failed with " + write.error +
                                    " although the head it reports satisfies the expectation");
          continue;
        }
        observations_.push_back(Observation{part.stream,
                                            write.actual_revision ? static_cast<std::int64_t>(*write.actual_revision)
                                                                  : kNone,
                                            write.invoke, write.complete, false,
                                            write_text(history_, op) + " (reported head " +
                                                (write.actual_revision ? std::to_string(*write.actual_revision)
                                                                       : std::string("absent")) +
                                                ")"});
      }
    }
  }

  // [future], [real-time], [monotonic] of the heads seen, per stream.
  void check_observations() {
    std::map<std::string, MaxBefore> acknowledged;  // per stream: acknowledged last revisions
    std::map<std::string, MaxBefore> seen_heads;    // per stream: heads seen by reads
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      const WriteOp& write = history_.writes[op];
      if (write.outcome != Outcome::ok) continue;
      for (const WritePart& part : write.parts) {
        if (part.ids.empty() || !part.last_revision) continue;
        acknowledged[part.stream].add(write.complete, static_cast<std::int64_t>(*part.last_revision), op);
      }
    }
    for (std::size_t i = 0; i < observations_.size(); ++i) {
      if (!observations_[i].is_write) {
        seen_heads[observations_[i].stream].add(observations_[i].complete, observations_[i].head, i);
      }
    }
    for (auto& [stream, entries] : acknowledged) entries.build();
    for (auto& [stream, entries] : seen_heads) entries.build();

    for (const Observation& observation : observations_) {
      const std::int64_t size = final_stream_size(observation.stream);
      if (observation.head >= size) {
        violation("future", observation.what + " saw head " + head_text(observation.head) + " of " +
                                observation.stream + ", but the final stream ends at " + head_text(size - 1));
      } else if (const auto index = stream_event_index(observation.stream, observation.head)) {
        const std::size_t writer = owners_.at(final_.all[*index].id).op;
        if (history_.writes[writer].invoke >= observation.complete) {
          violation("future", observation.what + " saw head " + event_text(final_.all[*index]) + ", written by " +
                                  write_text(history_, writer) + ", invoked after it completed");
        }
      }
      if (const auto it = acknowledged.find(observation.stream); it != acknowledged.end()) {
        const auto earlier = it->second.before(observation.invoke);
        if (earlier && earlier->value > observation.head) {
          violation("real-time", observation.what + " saw head " + head_text(observation.head) + " of " +
                                     observation.stream + " although " + write_text(history_, earlier->tag) +
                                     " had been acknowledged at revision " + std::to_string(earlier->value) +
                                     " before it began");
        }
      }
      if (const auto it = seen_heads.find(observation.stream); it != seen_heads.end()) {
        const auto earlier = it->second.before(observation.invoke);
        if (earlier && earlier->value > observation.head) {
          violation("monotonic", observation.what + " saw head " + head_text(observation.head) + " of " +
                                     observation.stream + " after " + observations_[earlier->tag].what +
                                     " had completed having seen head " + head_text(earlier->value));
        }
      }
    }
  }

  // [prefix], [future], [real-time] of $all scans.
  void check_scans() {
    MaxBefore acknowledged;  // highest final index of each acknowledged write
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      if (history_.writes[op].outcome == Outcome::ok && placements_[op].present) {
        acknowledged.add(history_.writes[op].complete, static_cast<std::int64_t>(placements_[op].high), op);
      }
    }
    acknowledged.build();
    for (std::size_t scan_index = 0; scan_index < history_.scans.size(); ++scan_index) {
      const AllScan& scan = history_.scans[scan_index];
      if (scan.pages.empty()) continue;
      const std::optional<Position> from = scan.pages.front().from;
      std::size_t cursor = static_cast<std::size_t>(
          std::lower_bound(final_.all.begin(), final_.all.end(), from.value_or(0),
                           [](const SeenEvent& event, Position p) { return event.position < p; }) -
          final_.all.begin());
      bool consistent = true;
      for (std::size_t p = 0; p < scan.pages.size() && consistent; ++p) {
        const AllPageRead& page = scan.pages[p];
        const std::string what = page_text(scan_index, p, page);
        if (!page.ok) {
          ++report_.failed_reads;
          break;
        }
        ++report_.pages_checked;
        if (p > 0 && page.from != scan.pages[p - 1].next) {
          violation("prefix", what + " does not start at the previous page's next");
          consistent = false;
          break;
        }
        if (page.events.size() > page.limit) {
          violation("prefix", what + " returned " + std::to_string(page.events.size()) + " events for limit " +
                                  std::to_string(page.limit));
        }
        for (const SeenEvent& event : page.events) {
          if (cursor >= final_.all.size() || !(final_.all[cursor] == event)) {
            violation("prefix", what + " returned " + event_text(event) + " where the final $all has " +
                                    (cursor < final_.all.size() ? event_text(final_.all[cursor])
                                                                : std::string("nothing more")));
            consistent = false;
            break;
          }
          ++cursor;
          const std::size_t writer = owners_.at(event.id).op;
          if (history_.writes[writer].invoke >= page.complete) {
            violation("future", what + " returned " + event_text(event) + ", written by " +
                                    write_text(history_, writer) + ", invoked after the page completed");
          }
        }
        if (!consistent) break;
        if (!page.events.empty()) {
          scan_seen_.push_back({page.complete, static_cast<std::int64_t>(cursor) - 1, scan_index});
        }
        if (!page.next) {
          // The end of what was committed: everything acknowledged before
          // this page began is in the scan.
          const auto earlier = acknowledged.before(page.invoke);
          if (earlier && earlier->value >= static_cast<std::int64_t>(cursor)) {
            violation("real-time", what + " reported the end of $all after " +
                                       (cursor == 0 ? std::string("nothing") : event_text(final_.all[cursor - 1])) +
                                       " although " + write_text(history_, earlier->tag) +
                                       " had been acknowledged before it began");
          }
          scan_ends_.push_back({page.invoke, cursor, what});
        }
      }
    }
  }

  // [visibility]: whatever a read saw, any operation beginning after that
  // read completed sees too (the seen position and every lower one).
  void check_visibility() {
    MaxBefore seen;  // highest final index seen, by reads
    std::vector<std::string> seen_what;
    for (const Observation& observation : observations_) {
      if (observation.is_write) continue;
      if (const auto index = stream_event_index(observation.stream, observation.head)) {
        seen.add(observation.complete, static_cast<std::int64_t>(*index), seen_what.size());
        seen_what.push_back(observation.what + " (head " + head_text(observation.head) + ")");
      }
    }
    for (const MaxBefore::Entry& page : scan_seen_) {
      seen.add(page.time, page.value, seen_what.size());
      seen_what.push_back("$all scan #" + std::to_string(page.tag) + " (its page completed at " +
                          time_text(page.time) + ")");
    }
    seen.build();

    const auto seen_text = [&](const MaxBefore::Entry& entry) {
      return seen_what[entry.tag] + ", which saw " + event_text(final_.all[static_cast<std::size_t>(entry.value)]);
    };
    for (const Observation& observation : observations_) {
      const auto earlier = seen.before(observation.invoke);
      if (!earlier) continue;
      const auto it = stream_indices_.find(observation.stream);
      if (it == stream_indices_.end()) continue;
      // The stream's last revision among the events up to what was seen.
      const auto upto = std::upper_bound(it->second.begin(), it->second.end(), static_cast<std::size_t>(earlier->value));
      const std::int64_t due = static_cast<std::int64_t>(upto - it->second.begin()) - 1;
      if (due > observation.head) {
        violation("visibility", observation.what + " saw head " + head_text(observation.head) + " of " +
                                    observation.stream + " after " + seen_text(*earlier) + " had completed, so " +
                                    observation.stream + "@" + std::to_string(due) + " was committed");
      }
    }
    for (std::size_t op = 0; op < history_.writes.size(); ++op) {
      if (!placements_[op].present) continue;
      const auto earlier = seen.before(first_invoke(op));
      if (earlier && earlier->value >= static_cast<std::int64_t>(placements_[op].low)) {
        violation("visibility", write_text(history_, op) + " was invoked after " + seen_text(*earlier) +
                                    " had completed, yet its first event " +
                                    event_text(final_.all[placements_[op].low]) + " comes before that in $all");
      }
    }
    for (const ScanEnd& end : scan_ends_) {
      const auto earlier = seen.before(end.invoke);
      if (earlier && earlier->value >= static_cast<std::int64_t>(end.cursor)) {
        violation("visibility", end.what + " reported the end of $all after " +
                                    (end.cursor == 0 ? std::string("nothing") : event_text(final_.all[end.cursor - 1])) +
                                    " although " + seen_text(*earlier) + " had completed before it began");
      }
    }
  }

  struct ScanEnd {
    Time invoke = 0;
    std::size_t cursor = 0;  // final index just past the scan's last event
    std::string what;
  };

  const History& history_;
  const FinalState& final_;
  CheckReport report_;
  std::unordered_map<Uuid, std::size_t, UuidHash> final_index_;  // id -> index into final_.all
  std::map<std::string, std::vector<std::size_t>> stream_indices_;  // stream -> index into final_.all by revision
  std::unordered_map<Uuid, Owner, UuidHash> owners_;  // of the first request with the id
  std::vector<std::size_t> original_;  // by write: the first invoked request it repeats (itself if none)
  std::vector<bool> copied_;           // by write: sent more than once
  std::vector<Placement> placements_;  // by write
  std::vector<Observation> observations_;
  std::vector<MaxBefore::Entry> scan_seen_;  // per scan page: final index of its last event; tag = scan
  std::vector<ScanEnd> scan_ends_;
};

}  // namespace

CheckReport check_history(const History& history, const FinalState& final_state) {
  return Checker(history, final_state).run();
}

}  // namespace evsrc::history
