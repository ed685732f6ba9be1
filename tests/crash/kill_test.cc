// SIGKILL at random moments: writers run in a child process on a file: store;
// the parent kills it, then a second child reopens the store and checks it
// against what the writers logged.
//
// The writers log, in an append-only "ack log" (write(2) on an O_APPEND file;
// the page cache survives SIGKILL, so no fsync is needed):
//   I <batch> <part>...   intent, written BEFORE the append/commit call;
//                         part = <stream>:<event count>
//   A <batch> <result>... acknowledged; result = <first>:<last>:<position>,
//                         or "-" for a condition-only part
//   F <batch> <code>      the call failed (wrong_expected_revision expected;
//                         anything else is a problem)
//   X <message>           the writer could not run (open failed, ...)
// Event ids encode their batch (round, thread, sequence) and their index in
// it, so every event found in the store names the attempt it came from.
//
// After each kill the checker asserts: every acknowledged batch is present
// exactly, with the acknowledged revisions and positions; every batch found
// is complete (all parts, all events, contiguous revisions, in order); no
// failed batch is visible; no event appears twice; revisions are contiguous
// per stream; positions strictly increase; read_stream agrees with $all.
//
// The parent never opens the store itself: the writer and the checker are
// child processes (fork + exec of this binary, see spawn_child).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crash/crash_support.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

constexpr int kStreams = 50;
constexpr int kWriterThreads = 4;
constexpr int kTargetKills = 55;
constexpr int kRequiredKills = 50;
constexpr auto kTimeBudget = std::chrono::seconds(75);
constexpr std::uint8_t kIdMarker[2] = {0xEC, 0x5C};

StoreOptions store_options() {
  StoreOptions options;
  options.segment_bytes = 256 << 10;  // many segments: kills also land on segment creation
  return options;
}

std::string stream_name(int index) { return "kill-" + std::to_string(index); }

// ---- event ids that name their batch ------------------------------------------

struct BatchKey {
  std::uint16_t round = 0;
  std::uint8_t thread = 0;
  std::uint32_t sequence = 0;
  auto operator<=>(const BatchKey&) const = default;
  std::string to_string() const {
    return std::to_string(round) + "." + std::to_string(thread) + "." + std::to_string(sequence);
  }
  static std::optional<BatchKey> parse(const std::string& text) {
    BatchKey key;
    unsigned round = 0, thread = 0;
    unsigned long sequence = 0;
    if (std::sscanf(text.c_str(), "%u.%u.%lu", &round, &thread, &sequence) != 3) return std::nullopt;
    key.round = static_cast<std::uint16_t>(round);
    key.thread = static_cast<std::uint8_t>(thread);
    key.sequence = static_cast<std::uint32_t>(sequence);
    return key;
  }
};

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

// ---- the writer child -----------------------------------------------------------

class AckLog {
 public:
  explicit AckLog(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) {}
  ~AckLog() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // One write(2) per line, so lines of different threads never interleave.
  void line(std::string text) {
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

 private:
  int fd_;
};

struct Heads {
  // Last revision each writer saw acknowledged; -1 when none. Only a hint
  // for exact expectations: a stale value yields wrong_expected_revision.
  std::atomic<std::int64_t> revision[kStreams];
  Heads() {
    for (auto& head : revision) head.store(-1);
  }
  void advance(int stream, std::int64_t last) {
    std::int64_t current = revision[stream].load();
    while (current < last && !revision[stream].compare_exchange_weak(current, last)) {
    }
  }
  ExpectedRevision expectation(int stream) const {
    const std::int64_t head = revision[stream].load();
    return head < 0 ? ExpectedRevision::no_stream() : ExpectedRevision::exact(static_cast<StreamRevision>(head));
  }
};

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

void writer_thread(EventStore& store, AckLog& log, Heads& heads, std::uint16_t round, std::uint8_t thread,
                   std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick_stream(0, kStreams - 1);
  for (std::uint32_t sequence = 0;; ++sequence) {
    const BatchKey key{round, thread, sequence};
    const bool transaction = std::uniform_int_distribution<int>(0, 9)(rng) < 3;
    if (!transaction) {
      const int stream = pick_stream(rng);
      const int count = std::uniform_int_distribution<int>(1, 20)(rng);
      const bool exact = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
      const ExpectedRevision expected = exact ? heads.expectation(stream) : ExpectedRevision::any();
      std::vector<EventData> events = make_events(key, 0, count, rng);
      log.line("I " + key.to_string() + " " + stream_name(stream) + ":" + std::to_string(count));
      Result<AppendResult> result = store.append(stream_name(stream), expected, events);
      if (!result.ok()) {
        log.line("F " + key.to_string() + " " + std::string(error_code_name(result.status().code())) + " " +
                 result.status().message());
        continue;
      }
      log.line("A " + key.to_string() + " " + std::to_string(result->first_revision) + ":" +
               std::to_string(result->last_revision) + ":" + std::to_string(result->position));
      heads.advance(stream, static_cast<std::int64_t>(result->last_revision));
      continue;
    }
    // A transaction over 2 or 3 distinct streams; sometimes one part is a
    // condition only.
    const int part_count = std::uniform_int_distribution<int>(2, 3)(rng);
    std::vector<int> streams;
    while (static_cast<int>(streams.size()) < part_count) {
      const int stream = pick_stream(rng);
      if (std::find(streams.begin(), streams.end(), stream) == streams.end()) streams.push_back(stream);
    }
    std::vector<TransactionPart> parts;
    std::string intent = "I " + key.to_string();
    std::uint16_t next_index = 0;
    for (int stream : streams) {
      TransactionPart part;
      part.stream = stream_name(stream);
      const int roll = std::uniform_int_distribution<int>(0, 9)(rng);
      const int count = roll == 0 ? 0 : std::uniform_int_distribution<int>(1, 5)(rng);
      part.expected = (roll < 5) ? heads.expectation(stream) : ExpectedRevision::any();
      part.events = make_events(key, next_index, count, rng);
      next_index = static_cast<std::uint16_t>(next_index + count);
      intent += " " + part.stream + ":" + std::to_string(count);
      parts.push_back(std::move(part));
    }
    log.line(intent);
    Result<TransactionResult> result = store.commit(parts);
    if (!result.ok()) {
      log.line("F " + key.to_string() + " " + std::string(error_code_name(result.status().code())) + " " +
               result.status().message());
      continue;
    }
    std::string ack = "A " + key.to_string();
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const TransactionPartResult& part = result->parts[i];
      if (parts[i].events.empty() || !part.first_revision || !part.last_revision) {
        ack += " -";
        continue;
      }
      ack += " " + std::to_string(*part.first_revision) + ":" + std::to_string(*part.last_revision) + ":" +
             std::to_string(part.position);
      heads.advance(streams[i], static_cast<std::int64_t>(*part.last_revision));
    }
    log.line(ack);
  }
}

// Runs until killed. Never returns into the test framework.
// Writes one byte to `ready_fd` once the store is open and the writers start.
[[noreturn]] void run_writer_child(const std::string& store_dir, const std::string& ack_path, std::uint16_t round,
                                   std::uint32_t seed, int ready_fd) {
  AckLog log(ack_path);
  if (!log.ok()) ::_exit(91);
  Result<std::unique_ptr<EventStore>> store = open_store("file:" + store_dir, store_options());
  if (!store.ok()) {
    log.line("X round " + std::to_string(round) + ": open failed: " + store.status().to_string());
    ::_exit(92);
  }
  Heads heads;
  for (int stream = 0; stream < kStreams; ++stream) {
    StreamReadOptions options;
    options.direction = Direction::backward;
    options.limit = 1;
    Result<StreamPage> page = (*store)->read_stream(stream_name(stream), options);
    if (page.ok()) {
      heads.revision[stream].store(static_cast<std::int64_t>(page->last_revision));
    } else if (page.status().code() != ErrorCode::not_found) {
      log.line("X round " + std::to_string(round) + ": read_stream failed: " + page.status().to_string());
    }
  }
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kWriterThreads; ++thread) {
    threads.emplace_back(writer_thread, std::ref(**store), std::ref(log), std::ref(heads), round,
                         static_cast<std::uint8_t>(thread), seed * 31 + static_cast<std::uint32_t>(thread));
  }
  const char ready = 'R';
  if (::write(ready_fd, &ready, 1) != 1) ::_exit(94);
  // The parent kills us long before; a safety net if it does not.
  std::this_thread::sleep_for(std::chrono::seconds(30));
  ::_exit(93);
}

// ---- the checker child ----------------------------------------------------------------

struct Intent {
  std::vector<std::pair<std::string, int>> parts;  // stream, event count
  int events() const {
    int total = 0;
    for (const auto& part : parts) total += part.second;
    return total;
  }
};

struct PartAck {
  bool condition_only = true;
  StreamRevision first = 0;
  StreamRevision last = 0;
  Position position = 0;
};

struct AckHistory {
  std::map<BatchKey, Intent> intents;
  std::map<BatchKey, std::vector<PartAck>> acks;
  std::map<BatchKey, std::string> failures;  // code name
  std::vector<std::string> problems;
};

AckHistory parse_ack_log(const std::string& path) {
  AckHistory history;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a line without '\n' was torn by the kill
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
      history.acks[*key] = std::move(parts);
    } else if (tag == "F") {
      words >> word;
      history.failures[*key] = word;
      if (word != "wrong_expected_revision") history.problems.push_back("writer saw an unexpected error: " + line);
    }
  }
  return history;
}

struct Found {
  std::string stream;
  StreamRevision revision;
  Position position;
};

// Checks the store against the ack log; writes problems and a summary to
// `report_path`. Returns the exit code: 0 when everything holds.
int run_checker(const std::string& store_dir, const std::string& ack_path, const std::string& report_path) {
  std::ofstream report(report_path);
  AckHistory history = parse_ack_log(ack_path);
  std::vector<std::string>& problems = history.problems;

  Result<std::unique_ptr<EventStore>> store = open_store("file:" + store_dir, store_options());
  if (!store.ok()) {
    report << "reopen after the kill failed: " << store.status().to_string() << "\n";
    return 2;
  }
  Result<std::vector<RecordedEvent>> events = crash::read_whole_store(**store, &problems);
  if (!events.ok()) {
    report << "read_all failed: " << events.status().to_string() << "\n";
    return 2;
  }
  crash::check_streams_match(**store, *events, &problems);

  std::map<BatchKey, std::map<std::uint16_t, Found>> batches;
  for (const RecordedEvent& event : *events) {
    const auto decoded = decode_event_id(event.id);
    if (!decoded) {
      problems.push_back("foreign event id " + event.id.to_string() + " at position " + std::to_string(event.position));
      continue;
    }
    batches[decoded->first][decoded->second] = Found{event.stream, event.revision, event.position};
  }

  std::size_t present_unacknowledged = 0;
  for (const auto& [key, found] : batches) {
    auto intent = history.intents.find(key);
    if (intent == history.intents.end()) {
      problems.push_back("batch " + key.to_string() + " is in the store but was never attempted");
      continue;
    }
    if (history.failures.contains(key)) {
      problems.push_back("batch " + key.to_string() + " failed with " + history.failures[key] +
                         " but is visible in the store");
    }
    if (static_cast<int>(found.size()) != intent->second.events()) {
      problems.push_back("batch " + key.to_string() + " is half-written: " + std::to_string(found.size()) + " of " +
                         std::to_string(intent->second.events()) + " events visible");
      continue;
    }
    if (!history.acks.contains(key)) ++present_unacknowledged;
    std::uint16_t index = 0;
    std::optional<Position> previous_position;
    for (std::size_t part = 0; part < intent->second.parts.size(); ++part) {
      const auto& [stream, count] = intent->second.parts[part];
      std::optional<StreamRevision> previous_revision;
      for (int i = 0; i < count; ++i, ++index) {
        auto event = found.find(index);
        if (event == found.end()) {
          problems.push_back("batch " + key.to_string() + " lacks its event " + std::to_string(index));
          break;
        }
        const Found& at = event->second;
        if (at.stream != stream) {
          problems.push_back("batch " + key.to_string() + " event " + std::to_string(index) + " is in " + at.stream +
                             " instead of " + stream);
        }
        if (previous_revision && at.revision != *previous_revision + 1) {
          problems.push_back("batch " + key.to_string() + " part " + std::to_string(part) +
                             " has non-contiguous revisions");
        }
        if (previous_position && at.position <= *previous_position) {
          problems.push_back("batch " + key.to_string() + " is not in order in $all");
        }
        previous_revision = at.revision;
        previous_position = at.position;
      }
    }
  }

  for (const auto& [key, parts] : history.acks) {
    auto found = batches.find(key);
    const Intent& intent = history.intents[key];
    if (found == batches.end()) {
      if (intent.events() > 0) problems.push_back("acknowledged batch " + key.to_string() + " is lost");
      continue;
    }
    if (parts.size() != intent.parts.size()) {
      problems.push_back("ack of batch " + key.to_string() + " has " + std::to_string(parts.size()) + " parts");
      continue;
    }
    std::uint16_t index = 0;
    for (std::size_t part = 0; part < parts.size(); ++part) {
      const int count = intent.parts[part].second;
      if (count == 0) continue;
      const auto first = found->second.find(index);
      const auto last = found->second.find(static_cast<std::uint16_t>(index + count - 1));
      index = static_cast<std::uint16_t>(index + count);
      if (first == found->second.end() || last == found->second.end()) continue;  // reported above
      const PartAck& ack = parts[part];
      if (ack.condition_only || first->second.revision != ack.first || last->second.revision != ack.last ||
          last->second.position != ack.position) {
        problems.push_back("batch " + key.to_string() + " part " + std::to_string(part) + " was acknowledged as " +
                           std::to_string(ack.first) + ".." + std::to_string(ack.last) + " @" +
                           std::to_string(ack.position) + " but the store has " +
                           std::to_string(first->second.revision) + ".." + std::to_string(last->second.revision) +
                           " @" + std::to_string(last->second.position));
      }
    }
  }

  if (Status status = (*store)->close(); !status.ok()) problems.push_back("close: " + status.to_string());

  constexpr std::size_t kShown = 30;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) report << problems[i] << "\n";
  if (problems.size() > kShown) report << "... and " << problems.size() - kShown << " more problems\n";
  report << "summary: events=" << events->size() << " batches_present=" << batches.size()
         << " acknowledged=" << history.acks.size() << " present_unacknowledged=" << present_unacknowledged
         << " failed=" << history.failures.size() << "\n";
  return problems.empty() ? 0 : 1;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- processes ------------------------------------------------------------------------
//
// Children are started with fork() + exec() of this test binary, running only
// KillTestChild.DISABLED_Run, which reads its role from the environment and
// never returns into the framework. A plain fork() would be simpler but is
// unsafe once the test process has threads (an earlier test in the same
// binary leaves RocksDB's thread pools behind, and a forked child that then
// opens RocksDB can deadlock on a lock held by a thread that does not exist
// in the child).

constexpr const char* kRoleVariable = "EVSRC_KILL_TEST_ROLE";
constexpr const char* kArgsVariable = "EVSRC_KILL_TEST_ARGS";

struct ChildArgs {
  std::string store_dir;
  std::string ack_path;
  std::string report_path;
  std::uint16_t round = 0;
  std::uint32_t seed = 0;
  int ready_fd = -1;

  std::string encode() const {
    return store_dir + "\t" + ack_path + "\t" + report_path + "\t" + std::to_string(round) + "\t" +
           std::to_string(seed) + "\t" + std::to_string(ready_fd);
  }
  static ChildArgs decode(const std::string& text) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = text.find('\t', start)) != std::string::npos; start = tab + 1) {
      fields.push_back(text.substr(start, tab - start));
    }
    fields.push_back(text.substr(start));
    ChildArgs args;
    if (fields.size() != 6) ::_exit(95);
    args.store_dir = fields[0];
    args.ack_path = fields[1];
    args.report_path = fields[2];
    args.round = static_cast<std::uint16_t>(std::stoul(fields[3]));
    args.seed = static_cast<std::uint32_t>(std::stoul(fields[4]));
    args.ready_fd = std::stoi(fields[5]);
    return args;
  }
};

// Starts this binary as a child in `role`. Its stdout and stderr go to
// `output_path`.
pid_t spawn_child(const std::string& role, const ChildArgs& args, const std::string& output_path) {
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0) return -1;
  self[length] = '\0';
  // Everything exec needs is built before fork: the child may only make
  // async-signal-safe calls until exec.
  std::vector<std::string> arguments = {self, "--gtest_filter=KillTestChild.DISABLED_Run",
                                        "--gtest_also_run_disabled_tests"};
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!std::string_view(*variable).starts_with("EVSRC_KILL_TEST_")) environment.emplace_back(*variable);
  }
  environment.push_back(std::string(kRoleVariable) + "=" + role);
  environment.push_back(std::string(kArgsVariable) + "=" + args.encode());
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const int output = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (output < 0) return -1;

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(output, STDOUT_FILENO);
    ::dup2(output, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(96);
  }
  ::close(output);
  return pid;
}

// Waits for `pid` up to `timeout`; kills it (and reports a hang) after that.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const pid_t done = ::waitpid(pid, status, WNOHANG);
    if (done == pid) return true;
    if (done < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(KillTestChild, DISABLED_Run) {
  const char* role = std::getenv(kRoleVariable);
  const char* encoded = std::getenv(kArgsVariable);
  if (role == nullptr || encoded == nullptr) GTEST_SKIP() << "only run as a child of KillTest";
  const ChildArgs args = ChildArgs::decode(encoded);
  if (std::string_view(role) == "writer") {
    run_writer_child(args.store_dir, args.ack_path, args.round, args.seed, args.ready_fd);
  }
  ::_exit(run_checker(args.store_dir, args.ack_path, args.report_path));
}

// ---- the test -----------------------------------------------------------------------

TEST(KillTest, AcknowledgedAppendsSurviveSigkillAndNothingIsHalfWritten) {
  crash::TempDir dir("evsrc-kill");
  ASSERT_FALSE(dir.path().empty());
  ChildArgs args;
  args.store_dir = dir.path() + "/store";
  args.ack_path = dir.path() + "/acks.log";
  args.report_path = dir.path() + "/report.txt";
  const std::string writer_output = dir.path() + "/writer-output.txt";
  const std::string checker_output = dir.path() + "/checker-output.txt";

  const std::uint32_t seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::cout << "kill test seed " << seed << ", directory " << dir.path() << std::endl;

  const auto deadline = std::chrono::steady_clock::now() + kTimeBudget;
  int kills = 0;
  int kills_during_open = 0;
  std::string last_summary;
  for (std::uint16_t round = 0; kills < kTargetKills && std::chrono::steady_clock::now() < deadline; ++round) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0) << std::strerror(errno);
    args.round = round;
    args.seed = rng();
    args.ready_fd = ready[1];
    const pid_t writer = spawn_child("writer", args, writer_output);
    ::close(ready[1]);
    ASSERT_GT(writer, 0) << std::strerror(errno);

    // One kill in five lands at a random moment of start-up, open and
    // recovery; the others 5-80 ms into the writers' work, mid-commit.
    const bool during_open = std::uniform_int_distribution<int>(0, 4)(rng) == 0;
    const int delay_ms = std::uniform_int_distribution<int>(during_open ? 0 : 5, 80)(rng);
    if (!during_open) {
      pollfd wait_ready{ready[0], POLLIN, 0};
      if (::poll(&wait_ready, 1, 20'000) <= 0) {
        ADD_FAILURE() << "round " << round << ": the writer did not start within 20 s";
      }
    }
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(::kill(writer, SIGKILL), 0);
    int writer_status = 0;
    ASSERT_EQ(::waitpid(writer, &writer_status, 0), writer);
    if (!(WIFSIGNALED(writer_status) && WTERMSIG(writer_status) == SIGKILL)) {
      dir.keep();
      FAIL() << "round " << round << ": the writer ended by itself (status " << writer_status
             << ") before the kill; output:\n"
             << read_text(writer_output).substr(0, 2000) << "\nack log:\n"
             << read_text(args.ack_path).substr(0, 4000);
    }
    ++kills;
    kills_during_open += during_open ? 1 : 0;

    const pid_t checker = spawn_child("checker", args, checker_output);
    ASSERT_GT(checker, 0) << std::strerror(errno);
    int checker_status = 0;
    const bool finished = wait_child(checker, std::chrono::seconds(60), &checker_status);
    const std::string report = read_text(args.report_path);
    if (!finished || !WIFEXITED(checker_status) || WEXITSTATUS(checker_status) != 0) {
      dir.keep();
      FAIL() << "after kill " << kills << " (round " << round << ", " << delay_ms << " ms after "
             << (during_open ? "start" : "the writers started") << ", seed " << seed
             << ", directory kept: " << dir.path() << "):\n"
             << (finished ? "" : "the checker hung for 60 s (reopen or reads never returned)\n") << report
             << read_text(checker_output).substr(0, 2000);
    }
    last_summary = report;
  }
  std::cout << kills << " kills (" << kills_during_open << " during start-up); last check: " << last_summary;
  EXPECT_GE(kills, kRequiredKills) << "the time budget ran out";
}

}  // namespace
}  // namespace evsrc
