#include "crash/subscriber_log.h"

#include <algorithm>
#include <sstream>

namespace evsrc::crash {
namespace {

struct Delivery {
  Position position = 0;
  std::string id;
};

struct Session {
  std::size_t checkpoint_lines = 0;  // read when it started
  std::optional<Position> from;
  std::vector<Delivery> deliveries;
  std::string line;
};

std::string position_text(std::optional<Position> position) {
  return position ? std::to_string(*position) : std::string("-");
}

}  // namespace

SubscriberLog::SubscriberLog(const std::string& deliveries_path, const std::string& checkpoints_path)
    : checkpoints_path_(checkpoints_path), deliveries_(deliveries_path), checkpoints_(checkpoints_path) {}

std::optional<Position> SubscriberLog::start_session() {
  const std::vector<std::string> lines = read_complete_lines(checkpoints_path_);
  std::optional<Position> from;
  if (!lines.empty()) from = std::stoull(lines.back()) + 1;
  deliveries_.line("S " + std::to_string(lines.size()) + " " + position_text(from));
  return from;
}

void SubscriberLog::handled(const RecordedEvent& event) {
  deliveries_.line("D " + std::to_string(event.position) + " " + event.id.to_string());
  checkpoints_.line(std::to_string(event.position));
}

std::string SubscriberCheck::summary() const {
  return "sessions=" + std::to_string(sessions) + " deliveries=" + std::to_string(deliveries) +
         " redeliveries=" + std::to_string(redeliveries) + " checkpoint=" + position_text(checkpoint) +
         " behind=" + std::to_string(behind);
}

SubscriberCheck check_subscriber_log(const std::vector<RecordedEvent>& events, const std::string& deliveries_path,
                                     const std::string& checkpoints_path, std::vector<std::string>* problems) {
  SubscriberCheck check;
  std::vector<Session> sessions;
  for (const std::string& line : read_complete_lines(deliveries_path)) {
    std::istringstream words(line);
    std::string tag, first, second;
    words >> tag >> first >> second;
    try {
      if (tag == "S") {
        Session session;
        session.checkpoint_lines = std::stoull(first);
        if (second != "-") session.from = std::stoull(second);
        session.line = line;
        sessions.push_back(std::move(session));
        continue;
      }
      if (tag == "D" && !sessions.empty()) {
        sessions.back().deliveries.push_back(Delivery{std::stoull(first), second});
        continue;
      }
    } catch (const std::exception&) {
    }
    problems->push_back("subscriber: unreadable delivery line '" + line + "'");
  }
  std::vector<Position> checkpoints;
  for (const std::string& line : read_complete_lines(checkpoints_path)) {
    try {
      checkpoints.push_back(std::stoull(line));
    } catch (const std::exception&) {
      problems->push_back("subscriber: unreadable checkpoint line '" + line + "'");
    }
  }
  check.sessions = sessions.size();
  if (!checkpoints.empty()) check.checkpoint = checkpoints.back();

  const auto report = [&](std::size_t session, const std::string& what) {
    problems->push_back("subscriber session " + std::to_string(session) + " ('" + sessions[session].line +
                        "'): " + what);
  };
  std::optional<Position> last_delivered;
  for (std::size_t s = 0; s < sessions.size(); ++s) {
    const Session& session = sessions[s];
    const std::size_t own_begin = session.checkpoint_lines;
    const std::size_t own_end = s + 1 < sessions.size() ? sessions[s + 1].checkpoint_lines : checkpoints.size();
    if (own_begin > own_end || own_end > checkpoints.size()) {
      report(s, "checkpoint lines " + std::to_string(own_begin) + ".." + std::to_string(own_end) + " of " +
                    std::to_string(checkpoints.size()) + " do not add up");
      continue;
    }
    const std::optional<Position> due =
        own_begin == 0 ? std::nullopt : std::optional<Position>(checkpoints[own_begin - 1] + 1);
    if (session.from != due)
      report(s, "resumed from " + position_text(session.from) + ", the checkpoint says " + position_text(due));

    // Deliveries: E from `from` on, in order, no gap, no duplicate.
    auto next = session.from
                    ? std::lower_bound(events.begin(), events.end(), *session.from,
                                       [](const RecordedEvent& event, Position from) { return event.position < from; })
                    : events.begin();
    for (std::size_t d = 0; d < session.deliveries.size(); ++d, ++next) {
      const Delivery& delivery = session.deliveries[d];
      if (next == events.end()) {
        report(s, "delivered position " + std::to_string(delivery.position) + " past the end of $all");
        break;
      }
      if (delivery.position != next->position || delivery.id != next->id.to_string()) {
        report(s, "delivery " + std::to_string(d) + " is position " + std::to_string(delivery.position) + " (" +
                      delivery.id + ") where $all has " + std::to_string(next->position) + " (" + next->id.to_string() +
                      "): " + (delivery.position > next->position ? "a gap" : "a duplicate or out of order"));
        break;
      }
    }
    check.deliveries += session.deliveries.size();

    // Its checkpoint lines: the positions of its deliveries, all or all but the last.
    const std::size_t own = own_end - own_begin;
    if (own != session.deliveries.size() && own + 1 != session.deliveries.size()) {
      report(s, std::to_string(own) + " checkpoint lines for " + std::to_string(session.deliveries.size()) +
                    " deliveries");
    } else {
      for (std::size_t c = 0; c < own; ++c) {
        if (checkpoints[own_begin + c] != session.deliveries[c].position) {
          report(s, "checkpoint line " + std::to_string(own_begin + c) + " is " +
                        std::to_string(checkpoints[own_begin + c]) + ", the delivery was " +
                        std::to_string(session.deliveries[c].position));
          break;
        }
      }
    }
    // The at-least-once window: the first delivery of this session is the
    // last delivery before it, whose checkpoint line was never written (the
    // checks above tie `from` to the checkpoint and the deliveries to $all).
    if (!session.deliveries.empty() && last_delivered && session.deliveries.front().position <= *last_delivered) {
      if (session.deliveries.front().position == *last_delivered &&
          (!session.from || *session.from <= *last_delivered)) {
        ++check.redeliveries;
      } else {
        report(s, "delivers position " + std::to_string(session.deliveries.front().position) +
                      " again, outside the at-least-once window");
      }
    }
    if (!session.deliveries.empty()) last_delivered = session.deliveries.back().position;
  }

  // Explicitly: every event up to the last checkpoint was delivered.
  std::vector<Position> delivered;
  for (const Session& session : sessions) {
    for (const Delivery& delivery : session.deliveries) delivered.push_back(delivery.position);
  }
  std::sort(delivered.begin(), delivered.end());
  for (const RecordedEvent& event : events) {
    if (!std::binary_search(delivered.begin(), delivered.end(), event.position)) {
      if (check.checkpoint && event.position <= *check.checkpoint) {
        problems->push_back("subscriber never delivered position " + std::to_string(event.position) +
                            ", below its checkpoint " + std::to_string(*check.checkpoint));
        break;
      }
      ++check.behind;
    }
  }
  return check;
}

}  // namespace evsrc::crash
