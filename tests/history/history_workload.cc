#include "history/history_workload.h"

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>

namespace evsrc::history {

std::vector<std::string> hot_streams(std::size_t count) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < count; ++i) names.push_back("hot-" + std::to_string(i));
  return names;
}

namespace {

// One client: its store, its recorder calls, its random choices and what it
// last learnt about the store (to aim its reads near the heads).
class Client {
 public:
  Client(std::size_t id, EventStore& store, HistoryRecorder& recorder, const WorkloadOptions& options)
      : id_(id), store_(store), recorder_(recorder), streams_(hot_streams(options.streams)),
        random_(options.seed * 1'000'003 + id) {}

  void run_writer(std::size_t operations) {
    for (operation_ = 0; operation_ < operations; ++operation_) {
      const unsigned choice = pick(100);
      if (choice < 40) {
        read_then_append(pick_stream());
      } else if (choice < 45) {
        append_twice_at_once(pick_stream());
      } else if (choice < 55) {
        append(pick_stream(), ExpectedRevision::any(), 1 + pick(2));
      } else if (choice < 67) {
        transaction();
      } else if (choice < 70) {
        append(pick_stream(), ExpectedRevision::stream_exists(), 1);
      } else if (choice < 73) {
        doomed_append();
      } else if (choice < 88) {
        read_window(pick_stream());
      } else {
        scan_all();
      }
    }
  }

  void run_reader(std::size_t operations) {
    for (operation_ = 0; operation_ < operations; ++operation_) {
      const unsigned choice = pick(100);
      if (choice < 30) {
        (void)read_head(pick_stream());
      } else if (choice < 55) {
        read_window(pick_stream());
      } else if (choice < 65) {
        read_whole(pick_stream());
      } else {
        scan_all();
      }
    }
  }

 private:
  unsigned pick(unsigned bound) { return std::uniform_int_distribution<unsigned>(0, bound - 1)(random_); }
  const std::string& pick_stream() { return streams_[pick(static_cast<unsigned>(streams_.size()))]; }

  std::vector<EventData> events(std::size_t count) {
    std::vector<EventData> batch;
    for (std::size_t i = 0; i < count; ++i) {
      EventData event;
      event.id = Uuid::random();
      event.type = "Tested";
      event.data = "{\"client\":" + std::to_string(id_) + ",\"operation\":" + std::to_string(operation_) +
                   ",\"index\":" + std::to_string(i) + "}";
      event.metadata = "{}";
      batch.push_back(std::move(event));
    }
    return batch;
  }

  struct Head {
    bool known = false;  // false: the read failed
    std::optional<StreamRevision> revision;  // nullopt: absent
  };

  // The stream's head by a backward read of one event.
  Head read_head(const std::string& stream) {
    StreamReadOptions options;
    options.direction = Direction::backward;
    options.limit = 1;
    const auto id = recorder_.invoke_read_stream(id_, stream, options);
    Result<StreamPage> page = store_.read_stream(stream, options);
    recorder_.complete_read_stream(id, page);
    if (page.ok()) {
      learn(stream, page->last_revision);
      return {true, page->last_revision};
    }
    return {page.status().code() == ErrorCode::not_found, std::nullopt};
  }

  void learn(const std::string& stream, StreamRevision head) {
    std::optional<StreamRevision>& known = heads_[stream];
    if (!known || *known < head) known = head;
  }

  static ExpectedRevision expecting(const Head& head) {
    return head.revision ? ExpectedRevision::exact(*head.revision) : ExpectedRevision::no_stream();
  }

  void append(const std::string& stream, ExpectedRevision expected, std::size_t count) {
    const std::vector<EventData> batch = events(count);
    const auto id = recorder_.invoke_append(id_, stream, expected, batch);
    Result<AppendResult> result = store_.append(stream, expected, batch);
    recorder_.complete_append(id, result);
    if (result.ok()) {
      learn(stream, result->last_revision);
      last_position_ = result->position;
    }
  }

  // Optimistic concurrency as a command handler does it: conflicts expected.
  void read_then_append(const std::string& stream) {
    const Head head = read_head(stream);
    if (!head.known) return;
    append(stream, expecting(head), pick(10) < 7 ? 1 : 2 + pick(3));
  }

  // The same request (same event ids) sent on two connections at once, as a
  // client that retries before its first attempt was answered: one write.
  void append_twice_at_once(const std::string& stream) {
    const Head head = read_head(stream);
    if (!head.known) return;
    const std::vector<EventData> batch = events(1 + pick(2));
    const ExpectedRevision expected = expecting(head);
    std::optional<AppendResult> results[2];
    const auto send = [&](std::size_t copy) {
      const auto id = recorder_.invoke_append(id_, stream, expected, batch);
      Result<AppendResult> result = store_.append(stream, expected, batch);
      recorder_.complete_append(id, result);
      if (result.ok()) results[copy] = *result;
    };
    std::thread other(send, 1);
    send(0);
    other.join();
    for (const auto& result : results) {
      if (result) learn(stream, result->last_revision);
    }
  }

  // An expectation the client knows is already broken: the conflict path is
  // exercised whatever the scheduling.
  void doomed_append() {
    const std::string& stream = pick_stream();
    const std::optional<StreamRevision>& known = heads_[stream];
    if (known) {
      append(stream, ExpectedRevision::no_stream(), 1);
    } else {
      append(stream, ExpectedRevision::exact(1'000'000), 1);
    }
  }

  // Two streams at the heads read, sometimes one as a condition only.
  void transaction() {
    const std::size_t first = pick(static_cast<unsigned>(streams_.size()));
    const std::size_t second = (first + 1 + pick(static_cast<unsigned>(streams_.size()) - 1)) % streams_.size();
    const Head first_head = read_head(streams_[first]);
    const Head second_head = read_head(streams_[second]);
    if (!first_head.known || !second_head.known) return;
    std::vector<TransactionPart> parts(2);
    parts[0].stream = streams_[first];
    parts[0].expected = expecting(first_head);
    parts[0].events = events(1 + pick(2));
    parts[1].stream = streams_[second];
    parts[1].expected = expecting(second_head);
    if (pick(5) != 0) parts[1].events = events(1);
    const auto id = recorder_.invoke_commit(id_, parts);
    Result<TransactionResult> result = store_.commit(parts);
    recorder_.complete_commit(id, result);
    if (result.ok()) last_position_ = result->position;
  }

  // A few events near the head this client last knew of.
  void read_window(const std::string& stream) {
    StreamReadOptions options;
    const std::optional<StreamRevision>& known = heads_[stream];
    options.from = known && *known >= 5 ? *known - 5 : 0;
    options.limit = 5 + pick(20);
    const auto id = recorder_.invoke_read_stream(id_, stream, options);
    Result<StreamPage> page = store_.read_stream(stream, options);
    recorder_.complete_read_stream(id, page);
    if (page.ok()) learn(stream, page->last_revision);
  }

  void read_whole(const std::string& stream) {
    StreamReadOptions options;
    options.limit = 100'000;
    const auto id = recorder_.invoke_read_stream(id_, stream, options);
    Result<StreamPage> page = store_.read_stream(stream, options);
    recorder_.complete_read_stream(id, page);
    if (page.ok()) learn(stream, page->last_revision);
  }

  // Pages of $all to the end, mostly from near the last position this client
  // knows of, now and then from the start (whose cost grows with the store).
  void scan_all() {
    AllReadOptions options;
    const unsigned from = pick(40);
    if (from == 0) {
      options.from = std::nullopt;
      options.limit = 500;
    } else if (from == 1) {
      options.from = 0;
      options.limit = 500;
    } else {
      if (last_position_) options.from = *last_position_ > 50 ? *last_position_ - 50 : 0;
      options.limit = 20 + pick(200);
    }
    const auto scan = recorder_.begin_scan(id_);
    for (;;) {
      recorder_.invoke_scan_page(scan, options);
      Result<AllPage> page = store_.read_all(options);
      recorder_.complete_scan_page(scan, page);
      if (!page.ok()) return;
      if (!page->events.empty()) last_position_ = page->events.back().position;
      if (!page->next) return;
      options.from = page->next;
    }
  }

  const std::size_t id_;
  EventStore& store_;
  HistoryRecorder& recorder_;
  const std::vector<std::string> streams_;
  std::mt19937_64 random_;
  std::size_t operation_ = 0;
  std::map<std::string, std::optional<StreamRevision>> heads_;
  std::optional<Position> last_position_;
};

}  // namespace

void run_workload(const WorkloadOptions& options, const std::function<EventStore&(std::size_t)>& store_for,
                  HistoryRecorder& recorder) {
  std::vector<std::unique_ptr<Client>> clients;
  const std::size_t total = options.writers + options.readers;
  for (std::size_t id = 0; id < total; ++id) {
    clients.push_back(std::make_unique<Client>(id, store_for(id), recorder, options));
  }
  std::vector<std::thread> threads;
  for (std::size_t id = 0; id < total; ++id) {
    Client& client = *clients[id];
    if (id < options.writers) {
      threads.emplace_back([&client, &options] { client.run_writer(options.writer_operations); });
    } else {
      threads.emplace_back([&client, &options] { client.run_reader(options.reader_operations); });
    }
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace evsrc::history
