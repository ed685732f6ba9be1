#include "crash/ack_log.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace evsrc::crash {
namespace {

constexpr std::uint8_t kIdMarker[2] = {0xEC, 0x5C};

struct Found {
  std::string stream;
  StreamRevision revision;
  Position position;
};

}  // namespace

std::string BatchKey::to_string() const {
  return std::to_string(round) + "." + std::to_string(thread) + "." + std::to_string(sequence);
}

std::optional<BatchKey> BatchKey::parse(const std::string& text) {
  BatchKey key;
  unsigned round = 0, thread = 0;
  unsigned long sequence = 0;
  if (std::sscanf(text.c_str(), "%u.%u.%lu", &round, &thread, &sequence) != 3) return std::nullopt;
  key.round = static_cast<std::uint16_t>(round);
  key.thread = static_cast<std::uint8_t>(thread);
  key.sequence = static_cast<std::uint32_t>(sequence);
  return key;
}

Uuid event_id(const BatchKey& key, std::uint16_t index) {
  Uuid id;
  id.bytes[0] = kIdMarker[0];
  id.bytes[1] = kIdMarker[1];
  std::memcpy(&id.bytes[2], &key.round, 2);
  id.bytes[4] = key.thread;
  std::memcpy(&id.bytes[5], &key.sequence, 4);
  std::memcpy(&id.bytes[9], &index, 2);
  id.bytes[15] = 1;  // never nil
  return id;
}

std::optional<std::pair<BatchKey, std::uint16_t>> decode_event_id(const Uuid& id) {
  if (id.bytes[0] != kIdMarker[0] || id.bytes[1] != kIdMarker[1]) return std::nullopt;
  BatchKey key;
  std::uint16_t index = 0;
  std::memcpy(&key.round, &id.bytes[2], 2);
  key.thread = id.bytes[4];
  std::memcpy(&key.sequence, &id.bytes[5], 4);
  std::memcpy(&index, &id.bytes[9], 2);
  return std::make_pair(key, index);
}

std::vector<EventData> make_events(const BatchKey& key, std::uint16_t first_index, int count, std::mt19937& rng) {
  std::vector<EventData> events;
  for (int i = 0; i < count; ++i) {
    EventData event;
    const auto index = static_cast<std::uint16_t>(first_index + i);
    event.id = event_id(key, index);
    event.type = "Killed" + std::to_string(index % 3);
    const std::size_t padding = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
    event.data = "{\"batch\":\"" + key.to_string() + "\",\"index\":" + std::to_string(index) + ",\"pad\":\"" +
                 std::string(padding, 'p') + "\"}";
    event.metadata = "{\"writer\":" + std::to_string(key.thread) + "}";
    events.push_back(std::move(event));
  }
  return events;
}

void drop_torn_tail(const std::string& path) {
  const std::string text = [&] {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }();
  if (text.empty() || text.back() == '\n') return;
  const std::size_t keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) ::_exit(89);
}

LineLog::LineLog(const std::string& path) {
  drop_torn_tail(path);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

LineLog::~LineLog() {
  if (fd_ >= 0) ::close(fd_);
}

void LineLog::line(std::string text) {
  text += '\n';
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(90);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::vector<std::string> read_complete_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no '\n': torn by the kill
    lines.push_back(std::move(line));
  }
  return lines;
}

int Intent::events() const {
  int total = 0;
  for (const auto& part : parts) total += part.second;
  return total;
}

AckHistory parse_ack_log(const std::string& path) {
  AckHistory history;
  for (const std::string& line : read_complete_lines(path)) {
    std::istringstream words(line);
    std::string tag, batch;
    words >> tag;
    if (tag == "X") {
      history.problems.push_back("writer: " + line.substr(2));
      continue;
    }
    words >> batch;
    const std::optional<BatchKey> key = BatchKey::parse(batch);
    if (!key) {
      history.problems.push_back("ack log: unreadable line '" + line + "'");
      continue;
    }
    std::string word;
    if (tag == "I") {
      Intent intent;
      while (words >> word) {
        const std::size_t colon = word.rfind(':');
        intent.parts.emplace_back(word.substr(0, colon), std::stoi(word.substr(colon + 1)));
      }
      history.intents[*key] = std::move(intent);
    } else if (tag == "A") {
      std::vector<PartAck> parts;
      while (words >> word) {
        PartAck part;
        unsigned long long first = 0, last = 0, position = 0;
        if (word != "-" && std::sscanf(word.c_str(), "%llu:%llu:%llu", &first, &last, &position) == 3) {
          part = PartAck{false, first, last, position};
        }
        parts.push_back(part);
      }
      if (history.acks.contains(*key)) history.problems.push_back("batch " + batch + " acknowledged twice");
      history.acks[*key] = std::move(parts);
    } else if (tag == "F") {
      words >> word;
      history.failures[*key] = word;
      if (word != "wrong_expected_revision") history.problems.push_back("writer saw an unexpected error: " + line);
    } else if (tag == "U") {
      ++history.unknown[*key];
    } else {
      history.problems.push_back("ack log: unreadable line '" + line + "'");
    }
  }
  for (const auto& [key, parts] : history.acks) {
    if (history.failures.contains(key)) {
      history.problems.push_back("batch " + key.to_string() + " was both acknowledged and failed");
    }
  }
  return history;
}

std::string BatchCheck::summary() const {
  return "batches_present=" + std::to_string(batches_present) +
         " present_unacknowledged=" + std::to_string(present_unacknowledged) +
         " present_after_unknown_outcome=" + std::to_string(present_after_unknown);
}

BatchCheck check_batches(const std::vector<RecordedEvent>& events, const AckHistory& history,
                         std::vector<std::string>* problems) {
  BatchCheck check;
  std::map<BatchKey, std::map<std::uint16_t, Found>> batches;
  for (const RecordedEvent& event : events) {
    const auto decoded = decode_event_id(event.id);
    if (!decoded) {
      problems->push_back("foreign event id " + event.id.to_string() + " at position " +
                          std::to_string(event.position));
      continue;
    }
    batches[decoded->first][decoded->second] = Found{event.stream, event.revision, event.position};
  }
  check.batches_present = batches.size();

  for (const auto& [key, found] : batches) {
    auto intent = history.intents.find(key);
    if (intent == history.intents.end()) {
      problems->push_back("batch " + key.to_string() + " is in the store but was never attempted");
      continue;
    }
    if (auto failure = history.failures.find(key); failure != history.failures.end()) {
      problems->push_back("batch " + key.to_string() + " failed with " + failure->second +
                          " but is visible in the store");
    }
    if (static_cast<int>(found.size()) != intent->second.events()) {
      problems->push_back("batch " + key.to_string() + " is half-written: " + std::to_string(found.size()) + " of " +
                          std::to_string(intent->second.events()) + " events visible");
      continue;
    }
    if (!history.acks.contains(key)) ++check.present_unacknowledged;
    if (history.unknown.contains(key)) ++check.present_after_unknown;
    std::uint16_t index = 0;
    std::optional<Position> previous_position;
    for (std::size_t part = 0; part < intent->second.parts.size(); ++part) {
      const auto& [stream, count] = intent->second.parts[part];
      std::optional<StreamRevision> previous_revision;
      for (int i = 0; i < count; ++i, ++index) {
        auto event = found.find(index);
        if (event == found.end()) {
          problems->push_back("batch " + key.to_string() + " lacks its event " + std::to_string(index));
          break;
        }
        const Found& at = event->second;
        if (at.stream != stream) {
          problems->push_back("batch " + key.to_string() + " event " + std::to_string(index) + " is in " + at.stream +
                              " instead of " + stream);
        }
        if (previous_revision && at.revision != *previous_revision + 1) {
          problems->push_back("batch " + key.to_string() + " part " + std::to_string(part) +
                              " has non-contiguous revisions");
        }
        if (previous_position && at.position <= *previous_position) {
          problems->push_back("batch " + key.to_string() + " is not in order in $all");
        }
        previous_revision = at.revision;
        previous_position = at.position;
      }
    }
  }

  for (const auto& [key, parts] : history.acks) {
    auto found = batches.find(key);
    auto intent = history.intents.find(key);
    if (intent == history.intents.end()) {
      problems->push_back("batch " + key.to_string() + " was acknowledged without an intent line");
      continue;
    }
    if (found == batches.end()) {
      if (intent->second.events() > 0) problems->push_back("acknowledged batch " + key.to_string() + " is lost");
      continue;
    }
    if (parts.size() != intent->second.parts.size()) {
      problems->push_back("ack of batch " + key.to_string() + " has " + std::to_string(parts.size()) + " parts");
      continue;
    }
    std::uint16_t index = 0;
    for (std::size_t part = 0; part < parts.size(); ++part) {
      const int count = intent->second.parts[part].second;
      if (count == 0) continue;
      const auto first = found->second.find(index);
      const auto last = found->second.find(static_cast<std::uint16_t>(index + count - 1));
      index = static_cast<std::uint16_t>(index + count);
      if (first == found->second.end() || last == found->second.end()) continue;  // reported above
      const PartAck& ack = parts[part];
      if (ack.condition_only || first->second.revision != ack.first || last->second.revision != ack.last ||
          last->second.position != ack.position) {
        problems->push_back("batch " + key.to_string() + " part " + std::to_string(part) + " was acknowledged as " +
                            std::to_string(ack.first) + ".." + std::to_string(ack.last) + " @" +
                            std::to_string(ack.position) + " but the store has " +
                            std::to_string(first->second.revision) + ".." + std::to_string(last->second.revision) +
                            " @" + std::to_string(last->second.position));
      }
    }
  }
  return check;
}

}  // namespace evsrc::crash
