// A $all subscriber's bookkeeping in the kill tests, kept as an application
// with an at-least-once side effect would keep it, and the check of it
// against the store.
//
// Two append-only files, one write(2) per line (the page cache survives
// SIGKILL; a line without its '\n' was torn and does not count):
//   deliveries:  "S <checkpoint lines> <from>"  a session starts: it read that
//                 many checkpoint lines and subscribes from <from> (inclusive;
//                 "-" = the beginning)
//                "D <position> <event id>"      an event handled (the side effect)
//   checkpoints: "<position>"                    written after each D line: the
//                 last line is the checkpoint, the position of the last event
//                 handled; a session resumes from it + 1
//
// What the check allows, precisely (E = the store's $all after the kill):
//  - each session delivers E from its `from` on, in order, without a gap or a
//    duplicate, each event with its position and id;
//  - a session's `from` is 1 + the last checkpoint line written before it
//    started (the beginning when there was none), and the session counted
//    the checkpoint lines right;
//  - the checkpoint lines of a session are the positions of its deliveries,
//    in order: all of them, or all but the last (a kill between the D line
//    and its checkpoint line);
//  - so an event is delivered again only in the at-least-once window: it was
//    the last delivery of a session that was killed before its checkpoint
//    line, and the next session starts with it. Every other event up to the
//    last checkpoint is delivered exactly once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crash/ack_log.h"
#include "evsrc/event_store.h"

namespace evsrc::crash {

// Thread-safety: one thread uses a SubscriberLog.
class SubscriberLog {
 public:
  SubscriberLog(const std::string& deliveries_path, const std::string& checkpoints_path);
  bool ok() const { return deliveries_.ok() && checkpoints_.ok(); }

  // Reads the checkpoint, logs the start of a session, returns where it
  // subscribes from (nullopt = the beginning).
  std::optional<Position> start_session();
  // The side effect of handling `event` (D line), then its checkpoint line.
  void handled(const RecordedEvent& event);

 private:
  std::string checkpoints_path_;
  LineLog deliveries_;
  LineLog checkpoints_;
};

struct SubscriberCheck {
  std::size_t sessions = 0;
  std::size_t deliveries = 0;
  std::size_t redeliveries = 0;  // in the at-least-once window
  std::optional<Position> checkpoint;
  std::size_t behind = 0;  // events of E after the last delivery
  std::string summary() const;
};

SubscriberCheck check_subscriber_log(const std::vector<RecordedEvent>& events, const std::string& deliveries_path,
                                     const std::string& checkpoints_path, std::vector<std::string>* problems);

}  // namespace evsrc::crash
