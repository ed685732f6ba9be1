// Faults at every step of a commit, through FaultInjectionEnv.
//
// Method: count the mutating Env operations one commit takes, then for every
// step k inject a fault there (EIO, ENOSPC, short write; or "the disk dies
// after k steps" followed by a power loss). Each time the store must report
// the error, refuse later writes until reopened, and after a power loss
// (drop_unsynced_data) and a reopen on the same Env: show every acknowledged
// event, show nothing unacknowledged (except a commit whose data had been
// synced before the fault: that one may be present, but only whole), and
// accept new appends.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crash/crash_support.h"
#include "engine/fault_injection_env.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

constexpr FaultKind kFaultKinds[] = {FaultKind::io_error, FaultKind::no_space, FaultKind::short_write};

std::string fault_name(FaultKind fault) {
  switch (fault) {
    case FaultKind::io_error:
      return "EIO";
    case FaultKind::no_space:
      return "ENOSPC";
    case FaultKind::short_write:
      return "short write";
    case FaultKind::no_descriptors:
      return "EMFILE";
  }
  return "?";
}

// What one attempted commit wrote: the ids of its events.
struct Attempt {
  std::string label;
  std::vector<Uuid> ids;
};

// A store on a FaultInjectionEnv plus a model of what was acknowledged.
class FaultInjectionTest : public ::testing::Test {
 protected:
  void use_base(Env* base, std::string directory) {
    fault_env_ = std::make_unique<FaultInjectionEnv>(base);
    directory_ = std::move(directory);
  }

  void SetUp() override {
    memory_env_ = new_memory_env();
    use_base(memory_env_.get(), "/store");
  }

  StoreOptions options() const {
    StoreOptions options;
    options.env = fault_env_.get();
    options.segment_bytes = segment_bytes_;
    return options;
  }

  Result<std::unique_ptr<EventStore>> open() { return open_store("file:" + directory_, options()); }

  std::unique_ptr<EventStore> open_or_fail() {
    Result<std::unique_ptr<EventStore>> store = open();
    EXPECT_TRUE(store.ok()) << "reopen: " << store.status().to_string();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<EventData> make_events(int count, std::size_t data_bytes = 40) {
    std::vector<EventData> events;
    for (int i = 0; i < count; ++i) {
      EventData event;
      event.id = Uuid::random();
      event.type = "Faulted";
      event.data = "{\"n\":" + std::to_string(next_number_++) + ",\"pad\":\"" + std::string(data_bytes, 'x') + "\"}";
      events.push_back(std::move(event));
    }
    return events;
  }

  static Attempt attempt_of(std::string label, const std::vector<EventData>& events) {
    Attempt attempt{std::move(label), {}};
    for (const EventData& event : events) attempt.ids.push_back(event.id);
    return attempt;
  }

  // Appends and records the events as acknowledged when the append succeeds.
  Result<AppendResult> append(EventStore& store, const std::string& stream, const std::vector<EventData>& events,
                              ExpectedRevision expected = ExpectedRevision::any()) {
    Result<AppendResult> result = store.append(stream, expected, events);
    if (result.ok()) {
      for (std::size_t i = 0; i < events.size(); ++i) {
        acknowledged_[events[i].id] = {stream, result->first_revision + i};
      }
    }
    return result;
  }

  Result<TransactionResult> commit(EventStore& store, const std::vector<TransactionPart>& parts) {
    Result<TransactionResult> result = store.commit(parts);
    if (result.ok()) {
      for (std::size_t p = 0; p < parts.size(); ++p) {
        for (std::size_t i = 0; i < parts[p].events.size(); ++i) {
          acknowledged_[parts[p].events[i].id] = {parts[p].stream, *result->parts[p].first_revision + i};
        }
      }
    }
    return result;
  }

  // Checks the reopened store: every acknowledged event at its place, each of
  // `maybe` whole or absent (adopted as acknowledged when present), nothing
  // else. `context` names the step for failure messages.
  void check_contents(EventStore& store, const std::vector<Attempt>& maybe, const std::string& context) {
    std::vector<std::string> problems;
    Result<std::vector<RecordedEvent>> events = crash::read_whole_store(store, &problems);
    ASSERT_TRUE(events.ok()) << context << ": read_all: " << events.status().to_string();
    crash::check_streams_match(store, *events, &problems);
    std::map<Uuid, const RecordedEvent*> by_id;
    for (const RecordedEvent& event : *events) by_id[event.id] = &event;

    std::set<Uuid> explained;
    for (const auto& [id, place] : acknowledged_) {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        problems.push_back("acknowledged event " + id.to_string() + " of " + place.first + " is lost");
        continue;
      }
      if (it->second->stream != place.first || it->second->revision != place.second) {
        problems.push_back("acknowledged event " + id.to_string() + " moved to " + it->second->stream + "@" +
                           std::to_string(it->second->revision));
      }
      explained.insert(id);
    }
    for (const Attempt& attempt : maybe) {
      std::size_t present = 0;
      for (const Uuid& id : attempt.ids) present += by_id.contains(id) ? 1 : 0;
      if (present != 0 && present != attempt.ids.size()) {
        problems.push_back(attempt.label + " is half-written: " + std::to_string(present) + " of " +
                           std::to_string(attempt.ids.size()) + " events visible");
      }
      for (const Uuid& id : attempt.ids) {
        auto it = by_id.find(id);
        if (it == by_id.end()) continue;
        explained.insert(id);
        acknowledged_[id] = {it->second->stream, it->second->revision};
      }
    }
    for (const RecordedEvent& event : *events) {
      if (!explained.contains(event.id)) {
        problems.push_back("unacknowledged event " + event.id.to_string() + " of " + event.stream + "@" +
                           std::to_string(event.revision) + " is visible");
      }
    }
    for (const std::string& problem : problems) ADD_FAILURE() << context << ": " << problem;
  }

  // The mutating operations the next calls perform, in order.
  void record_operations() {
    operations_.clear();
    fault_env_->set_observer([this](EnvOp op, const std::string& path) {
      if (!is_mutating(op)) return;
      std::lock_guard lock(operations_mutex_);
      operations_.push_back({op, path});
    });
  }
  std::vector<std::pair<EnvOp, std::string>> stop_recording() {
    fault_env_->set_observer(nullptr);
    std::lock_guard lock(operations_mutex_);
    return operations_;
  }
  static std::string describe(const std::vector<std::pair<EnvOp, std::string>>& operations) {
    std::string text;
    for (const auto& [op, path] : operations) text += std::string(env_op_name(op)) + " " + path + "; ";
    return text;
  }
  // The step that makes a commit durable: the last sync of a log segment in
  // the commit's operations. A commit that fails after it may be present
  // (whole) although it was not acknowledged; one that fails at or before it
  // must be absent.
  static std::size_t data_sync_step(const std::vector<std::pair<EnvOp, std::string>>& operations) {
    std::optional<std::size_t> step;
    for (std::size_t i = 0; i < operations.size(); ++i) {
      if (operations[i].first == EnvOp::sync && operations[i].second.find("/log/") != std::string::npos) step = i;
    }
    EXPECT_TRUE(step.has_value()) << "a commit never synced the log: " << describe(operations);
    return step.value_or(operations.size());
  }

  // Runs one commit on a reopened store and returns its mutating operations.
  std::vector<std::pair<EnvOp, std::string>> probe_commit(bool transaction) {
    auto store = open_or_fail();
    if (!store) return {};
    Attempt probe;
    record_operations();
    Result<bool> outcome = run_commit(*store, transaction, &probe);
    auto operations = stop_recording();
    EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
    EXPECT_TRUE(store->close().ok());
    std::cout << (transaction ? "transaction" : "append") << " takes " << operations.size()
              << " mutating steps: " << describe(operations) << std::endl;
    return operations;
  }

  // Simulates the power loss and reopens: returns the reopened store.
  std::unique_ptr<EventStore> power_loss_and_reopen(std::unique_ptr<EventStore> store, const std::string& context) {
    if (store) (void)store->close();  // may fail: the disk is dead
    store.reset();
    fault_env_->reset();
    Status dropped = fault_env_->drop_unsynced_data();
    EXPECT_TRUE(dropped.ok()) << context << ": " << dropped.to_string();
    Result<std::unique_ptr<EventStore>> reopened = open();
    EXPECT_TRUE(reopened.ok()) << context << ": reopen: " << reopened.status().to_string();
    return reopened.ok() ? std::move(*reopened) : nullptr;
  }

  // The store works again: a new append is acknowledged and read back.
  void check_accepts_appends(EventStore& store, const std::string& context) {
    std::vector<EventData> events = make_events(2);
    Result<AppendResult> result = append(store, "after-fault", events);
    ASSERT_TRUE(result.ok()) << context << ": append after reopen: " << result.status().to_string();
    StreamReadOptions options;
    options.from = result->first_revision;
    Result<StreamPage> page = store.read_stream("after-fault", options);
    ASSERT_TRUE(page.ok()) << context << ": " << page.status().to_string();
    ASSERT_EQ(page->events.size(), 2u) << context;
    EXPECT_EQ(page->events[0].id, events[0].id) << context;
  }

  // Builds a store with some acknowledged history, then closes it.
  void seed_history() {
    auto store = open_or_fail();
    ASSERT_TRUE(store);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(append(*store, "seed-" + std::to_string(i % 2), make_events(3)).ok());
    }
    ASSERT_TRUE(store->close().ok());
  }

  // One commit of the kind under test: an append (transaction == false) or
  // a two-stream transaction with a condition-only part.
  Result<bool> run_commit(EventStore& store, bool transaction, Attempt* attempt) {
    if (!transaction) {
      std::vector<EventData> events = make_events(4);
      *attempt = attempt_of("append", events);
      Result<AppendResult> result = append(store, "target", events);
      if (!result.ok()) return result.status();
      return true;
    }
    std::vector<TransactionPart> parts(3);
    parts[0].stream = "order-1";
    parts[0].events = make_events(2);
    parts[1].stream = "stock-1";
    parts[1].events = make_events(3);
    parts[2].stream = "seed-0";  // a condition only
    parts[2].expected = ExpectedRevision::stream_exists();
    *attempt = attempt_of("transaction", parts[0].events);
    for (const EventData& event : parts[1].events) attempt->ids.push_back(event.id);
    Result<TransactionResult> result = commit(store, parts);
    if (!result.ok()) return result.status();
    return true;
  }

  // The whole enumeration: count the steps of one commit, then fail each.
  void fail_every_step(bool transaction) {
    seed_history();
    const auto probe = probe_commit(transaction);
    ASSERT_FALSE(probe.empty());
    const std::size_t steps = probe.size();
    const std::size_t durable_at = data_sync_step(probe);
    for (FaultKind fault : kFaultKinds) {
      for (std::size_t k = 0; k < steps; ++k) {
        const std::string context = fault_name(fault) + " at step " + std::to_string(k);
        std::unique_ptr<EventStore> store = open_or_fail();
        ASSERT_TRUE(store) << context;
        fault_env_->reset_counters();
        record_operations();
        fault_env_->fail_nth_mutation(k, fault);
        Attempt attempt;
        Result<bool> outcome = run_commit(*store, transaction, &attempt);
        const auto operations = stop_recording();
        EXPECT_EQ(fault_env_->injected_faults(), 1u)
            << context << ": the fault did not fire; steps were " << describe(operations);
        EXPECT_FALSE(outcome.ok()) << context << ": the commit was acknowledged although step " << k << " ("
                                   << (k < operations.size() ? describe({operations[k]}) : "?") << ") failed";
        std::vector<Attempt> maybe;
        Attempt refused;
        if (!outcome.ok()) {
          EXPECT_EQ(outcome.status().code(), ErrorCode::io_error) << context << ": " << outcome.status().to_string();
          // The store must now refuse writes until it is reopened.
          std::vector<EventData> later = make_events(1);
          refused = attempt_of("append after the failure", later);
          Result<AppendResult> again = append(*store, "refused", later);
          EXPECT_FALSE(again.ok()) << context << ": the store accepted a write after a failed " << fault_name(fault);
          if (k > durable_at) maybe.push_back(attempt);
        }
        store = power_loss_and_reopen(std::move(store), context);
        ASSERT_TRUE(store) << context;
        check_contents(*store, maybe, context);
        check_accepts_appends(*store, context);
        ASSERT_TRUE(store->close().ok()) << context;
        if (HasFatalFailure()) return;
      }
    }
    std::cout << "fault points: " << steps << " steps x 3 kinds (EIO, ENOSPC, short write)" << std::endl;
  }

  // Power loss after k steps of a commit, for every k (the disk dies: every
  // later operation fails; then unsynced data is dropped).
  void power_loss_at_every_step(bool transaction) {
    seed_history();
    const auto probe = probe_commit(transaction);
    ASSERT_FALSE(probe.empty());
    const std::size_t durable_at = data_sync_step(probe);
    for (std::size_t k = 0;; ++k) {
      const std::string context = "power loss after step " + std::to_string(k);
      std::unique_ptr<EventStore> store = open_or_fail();
      ASSERT_TRUE(store) << context;
      fault_env_->reset_counters();
      record_operations();
      fault_env_->fail_after(k);
      Attempt attempt;
      Result<bool> outcome = run_commit(*store, transaction, &attempt);
      stop_recording();
      const bool completed = fault_env_->injected_faults() == 0;
      std::vector<Attempt> maybe;
      if (!outcome.ok() && k > durable_at) maybe.push_back(attempt);
      store = power_loss_and_reopen(std::move(store), context);
      ASSERT_TRUE(store) << context;
      check_contents(*store, maybe, context);
      check_accepts_appends(*store, context);
      ASSERT_TRUE(store->close().ok()) << context;
      if (HasFatalFailure()) return;
      if (completed) {
        EXPECT_TRUE(outcome.ok()) << context << ": no fault fired but " << outcome.status().to_string();
        std::cout << "fault points: " << k + 1 << " power-loss points (after 0.." << k << " steps)" << std::endl;
        break;  // k passed the last step
      }
      ASSERT_LT(k, 1000u) << "a commit never finished";
    }
  }

  std::unique_ptr<Env> memory_env_;
  std::unique_ptr<FaultInjectionEnv> fault_env_;
  std::string directory_;
  std::uint64_t segment_bytes_ = 1 << 20;
  std::map<Uuid, std::pair<std::string, StreamRevision>> acknowledged_;
  std::uint64_t next_number_ = 0;
  std::mutex operations_mutex_;
  std::vector<std::pair<EnvOp, std::string>> operations_;
};

TEST_F(FaultInjectionTest, FaultAtEveryStepOfAnAppend) { fail_every_step(/*transaction=*/false); }

TEST_F(FaultInjectionTest, FaultAtEveryStepOfATransaction) { fail_every_step(/*transaction=*/true); }

TEST_F(FaultInjectionTest, PowerLossAtEveryStepOfAnAppend) { power_loss_at_every_step(/*transaction=*/false); }

TEST_F(FaultInjectionTest, PowerLossAtEveryStepOfATransaction) { power_loss_at_every_step(/*transaction=*/true); }

TEST_F(FaultInjectionTest, PowerLossWithoutFaultKeepsEverySyncedCommit) {
  seed_history();
  auto store = open_or_fail();
  ASSERT_TRUE(store);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append(*store, "plain", make_events(1 + i % 4)).ok());
  // The process dies with the store open: nothing more reaches the disk.
  fault_env_->fail_after(0);
  store = power_loss_and_reopen(std::move(store), "power loss with the store open");
  ASSERT_TRUE(store);
  check_contents(*store, {}, "power loss with the store open");
  check_accepts_appends(*store, "power loss with the store open");
  EXPECT_TRUE(store->close().ok());
}

// Faults while a commit creates a new segment: small segments, and the
// history rebuilt from scratch for every step so that step k is always the
// same operation of the same roll-over.
TEST_F(FaultInjectionTest, FaultAtEveryStepOfASegmentRollover) {
  segment_bytes_ = 64 << 10;  // the engine's minimum
  constexpr std::size_t kEventBytes = 1000;
  // Probe: how many appends fit before one creates a segment, and its steps.
  int appends_before = -1;
  std::vector<std::pair<EnvOp, std::string>> rollover;
  {
    auto store = open_or_fail();
    ASSERT_TRUE(store);
    for (int i = 0; i < 1000 && appends_before < 0; ++i) {
      record_operations();
      ASSERT_TRUE(append(*store, "roll", make_events(1, kEventBytes)).ok());
      auto operations = stop_recording();
      for (const auto& [op, path] : operations) {
        if (op == EnvOp::create && path.find("/log/") != std::string::npos) {
          appends_before = i;
          rollover = operations;
        }
      }
    }
    ASSERT_GE(appends_before, 0) << "no append created a new segment";
    ASSERT_TRUE(store->close().ok());
  }
  std::cout << "roll-over after " << appends_before << " appends takes " << rollover.size()
            << " steps: " << describe(rollover) << std::endl;

  for (FaultKind fault : kFaultKinds) {
    for (std::size_t k = 0; k < rollover.size(); ++k) {
      const std::string context = fault_name(fault) + " at roll-over step " + std::to_string(k);
      memory_env_ = new_memory_env();
      use_base(memory_env_.get(), "/store");
      acknowledged_.clear();
      auto store = open_or_fail();
      ASSERT_TRUE(store) << context;
      for (int i = 0; i < appends_before; ++i) {
        ASSERT_TRUE(append(*store, "roll", make_events(1, kEventBytes)).ok()) << context;
      }
      record_operations();
      fault_env_->fail_nth_mutation(k, fault);
      std::vector<EventData> events = make_events(1, kEventBytes);
      Result<AppendResult> result = append(*store, "roll", events);
      const auto operations = stop_recording();
      EXPECT_FALSE(result.ok()) << context << ": acknowledged although step " << k << " failed; steps "
                                << describe(operations);
      std::vector<Attempt> maybe;
      if (!result.ok() && k > data_sync_step(rollover)) maybe.push_back(attempt_of("roll-over append", events));
      store = power_loss_and_reopen(std::move(store), context);
      ASSERT_TRUE(store) << context;
      check_contents(*store, maybe, context);
      check_accepts_appends(*store, context);
      ASSERT_TRUE(store->close().ok()) << context;
      if (HasFatalFailure()) return;
    }
  }
  std::cout << "fault points: " << rollover.size() << " roll-over steps x 3 kinds (EIO, ENOSPC, short write)"
            << std::endl;
}

TEST_F(FaultInjectionTest, NoSpaceWhenPreallocatingASegmentIsReported) {
  segment_bytes_ = 64 << 10;  // the engine's minimum
  auto store = open_or_fail();
  ASSERT_TRUE(store);
  fault_env_->fail_nth(EnvOp::allocate, 0, FaultKind::no_space);
  Status failure;
  for (int i = 0; i < 1000 && failure.ok(); ++i) {
    Result<AppendResult> result = append(*store, "full", make_events(1, 1000));
    if (!result.ok()) failure = result.status();
  }
  ASSERT_FALSE(failure.ok()) << "no append needed a new segment";
  EXPECT_EQ(failure.code(), ErrorCode::io_error) << failure.to_string();
  EXPECT_NE(failure.message().find("no space"), std::string::npos) << failure.to_string();
  EXPECT_FALSE(append(*store, "full", make_events(1)).ok()) << "writes accepted after ENOSPC";
  // Space is back (reset); a restart recovers.
  store = power_loss_and_reopen(std::move(store), "after ENOSPC");
  ASSERT_TRUE(store);
  check_contents(*store, {}, "after ENOSPC");
  check_accepts_appends(*store, "after ENOSPC");
  EXPECT_TRUE(store->close().ok());
}

// Power loss at every step of creating a store and committing its first
// events: the reopened store is either empty or holds what was acknowledged.
TEST_F(FaultInjectionTest, PowerLossAtEveryStepOfCreatingAStore) {
  std::size_t steps = 0;
  {
    record_operations();
    auto store = open_or_fail();
    ASSERT_TRUE(store);
    ASSERT_TRUE(append(*store, "first", make_events(2)).ok());
    steps = stop_recording().size();
    ASSERT_TRUE(store->close().ok());
  }
  for (std::size_t k = 0; k <= steps; ++k) {
    const std::string context = "power loss at step " + std::to_string(k) + " of creating a store";
    memory_env_ = new_memory_env();
    use_base(memory_env_.get(), "/store");
    acknowledged_.clear();
    fault_env_->fail_after(k);
    std::vector<EventData> events = make_events(2);
    std::unique_ptr<EventStore> store;
    if (Result<std::unique_ptr<EventStore>> opened = open(); opened.ok()) {
      store = std::move(*opened);
      (void)append(*store, "first", events);
    }
    store = power_loss_and_reopen(std::move(store), context);
    ASSERT_TRUE(store) << context;
    check_contents(*store, {attempt_of("first append", events)}, context);
    check_accepts_appends(*store, context);
    ASSERT_TRUE(store->close().ok()) << context;
    if (HasFatalFailure()) return;
  }
  std::cout << "fault points: " << steps + 1 << " power-loss points of creating a store" << std::endl;
}

// --- a failed fsync, a restart without a power loss, then the power loss ---
//
// Linux marks the pages of a failed fsync clean without writing them
// (FaultInjectionEnv models it). The store must refuse every later write
// with one clear error. A restart (process, not machine) then reads the
// failed group back from the page cache; unless the engine writes it again
// before appending after it, the next power loss leaves a hole before
// acknowledged groups. Checked at every sync step of a plain append and of a
// segment roll-over.
class FailedSyncTest : public FaultInjectionTest {
 protected:
  static constexpr std::size_t kEventBytes = 1000;

  // A fresh store holding `appends` acknowledged appends of one event.
  std::unique_ptr<EventStore> fresh_store(int appends) {
    memory_env_ = new_memory_env();
    use_base(memory_env_.get(), "/store");
    acknowledged_.clear();
    auto store = open_or_fail();
    for (int i = 0; store && i < appends; ++i) {
      EXPECT_TRUE(append(*store, "history-" + std::to_string(i % 3), make_events(1, kEventBytes)).ok());
    }
    return store;
  }

  // Appends before the one that creates the second segment.
  int appends_before_rollover() {
    auto store = fresh_store(0);
    for (int i = 0; store && i < 1000; ++i) {
      record_operations();
      EXPECT_TRUE(append(*store, "history-" + std::to_string(i % 3), make_events(1, kEventBytes)).ok());
      for (const auto& [op, path] : stop_recording()) {
        if (op == EnvOp::create && path.find("/log/") != std::string::npos) return i;
      }
    }
    ADD_FAILURE() << "no append created a new segment";
    return 0;
  }

  void fail_every_sync_then_restart(int history) {
    std::vector<std::pair<EnvOp, std::string>> probe;
    {
      auto store = fresh_store(history);
      ASSERT_TRUE(store);
      record_operations();
      ASSERT_TRUE(append(*store, "target", make_events(1, kEventBytes)).ok());
      probe = stop_recording();
      ASSERT_TRUE(store->close().ok());
    }
    std::size_t points = 0;
    for (std::size_t k = 0; k < probe.size(); ++k) {
      const auto& [op, path] = probe[k];
      if (op != EnvOp::sync && op != EnvOp::sync_dir) continue;
      ++points;
      const std::string context = "failed " + std::string(env_op_name(op)) + " of " + path + " at step " +
                                  std::to_string(k);
      auto store = fresh_store(history);
      ASSERT_TRUE(store) << context;
      fault_env_->fail_nth_mutation(k, FaultKind::io_error);
      std::vector<EventData> events = make_events(1, kEventBytes);
      Result<AppendResult> failed = append(*store, "target", events);
      ASSERT_FALSE(failed.ok()) << context << ": acknowledged";
      const std::string cause = "injected input/output error (EIO) in " + std::string(env_op_name(op)) + " " + path;
      EXPECT_EQ(failed.status().code(), ErrorCode::io_error) << context;
      EXPECT_EQ(failed.status().message(), cause) << context;

      // Every later write is refused, with the failure named, until reopened.
      const std::string refusal =
          "store refuses writes after an I/O failure (" + cause + "); reopen it to recover what was synced";
      Result<AppendResult> again = append(*store, "target", make_events(1));
      ASSERT_FALSE(again.ok()) << context << ": a write was accepted after a failed " << env_op_name(op);
      EXPECT_EQ(again.status().code(), ErrorCode::io_error) << context;
      EXPECT_EQ(again.status().message(), refusal) << context;
      std::vector<TransactionPart> parts(1);
      parts[0].stream = "other";
      parts[0].events = make_events(1);
      Result<TransactionResult> transaction = commit(*store, parts);
      EXPECT_EQ(transaction.status().message(), refusal) << context;
      StreamMetadata metadata;
      metadata.max_count = 5;
      EXPECT_EQ(store->set_stream_metadata("target", metadata).message(), refusal) << context;
      EXPECT_EQ(store->delete_stream("history-0", ExpectedRevision::any()).message(), refusal) << context;
      // Reads still work and do not show the failed commit.
      check_contents(*store, {}, context + ", before the restart");

      // The process restarts; the machine does not.
      EXPECT_TRUE(store->close().ok()) << context;
      store = open_or_fail();
      ASSERT_TRUE(store) << context << ": restart";
      const std::vector<Attempt> maybe{attempt_of("the commit whose sync failed", events)};
      check_contents(*store, maybe, context + ", after the restart");
      check_accepts_appends(*store, context + ", after the restart");
      for (int i = 0; i < 3; ++i) ASSERT_TRUE(append(*store, "later", make_events(1, kEventBytes)).ok()) << context;

      store = power_loss_and_reopen(std::move(store), context + ", then a power loss");
      ASSERT_TRUE(store) << context;
      check_contents(*store, maybe, context + ", after the power loss");
      check_accepts_appends(*store, context + ", after the power loss");
      ASSERT_TRUE(store->close().ok()) << context;
      if (HasFatalFailure()) return;
    }
    EXPECT_GT(points, 0u) << "the commit never synced: " << describe(probe);
    std::cout << "fault points: " << points << " sync steps of " << probe.size()
              << " (failed sync, restart, appends, power loss)" << std::endl;
  }
};

TEST_F(FailedSyncTest, FailedSyncOfAnAppendThenRestartThenPowerLoss) { fail_every_sync_then_restart(5); }

TEST_F(FailedSyncTest, FailedSyncOfASegmentRolloverThenRestartThenPowerLoss) {
  segment_bytes_ = 64 << 10;  // the engine's minimum
  const int history = appends_before_rollover();
  ASSERT_GT(history, 0);
  fail_every_sync_then_restart(history);
}

// --- a full disk ---
//
// From step k of a run of appends on (for every k), every mutating operation
// fails with ENOSPC: the disk is full and stays full. Every append from the
// first failure on fails; nothing acknowledged is lost; once space is back
// the same store object still refuses writes (it cannot know which data of
// the failed group reached the disk), a restart accepts appends again, and
// so does the store after a later power loss.
class DiskFullTest : public FailedSyncTest {
 protected:
  static constexpr int kAppends = 6;

  void disk_full_from_every_step(int history) {
    std::size_t steps = 0;
    {
      auto store = fresh_store(history);
      ASSERT_TRUE(store);
      fault_env_->reset_counters();
      for (int i = 0; i < kAppends; ++i) ASSERT_TRUE(append(*store, "full", make_events(2, kEventBytes)).ok());
      steps = fault_env_->mutation_count();
      ASSERT_TRUE(store->close().ok());
    }
    for (std::size_t k = 0; k < steps; ++k) {
      const std::string context = "disk full from step " + std::to_string(k);
      auto store = fresh_store(history);
      ASSERT_TRUE(store) << context;
      fault_env_->fail_after(k, FaultKind::no_space);
      std::vector<Attempt> maybe;
      std::optional<Status> first_failure;
      for (int i = 0; i < kAppends; ++i) {
        std::vector<EventData> events = make_events(2, kEventBytes);
        Result<AppendResult> result = append(*store, "full", events);
        if (result.ok()) {
          EXPECT_FALSE(first_failure) << context << ": append " << i << " acknowledged after a failed one";
          continue;
        }
        EXPECT_EQ(result.status().code(), ErrorCode::io_error) << context << ": " << result.status().to_string();
        EXPECT_NE(result.status().message().find("no space left on device (ENOSPC)"), std::string::npos)
            << context << ": " << result.status().to_string();
        if (!first_failure) {
          first_failure = result.status();
          maybe.push_back(attempt_of("the append that hit the full disk", events));
        } else {
          EXPECT_TRUE(result.status().message().starts_with("store refuses writes after an I/O failure"))
              << context << ": " << result.status().to_string();
        }
      }
      ASSERT_TRUE(first_failure) << context << ": the disk never filled up";
      check_contents(*store, {}, context + ", disk full");
      // Space comes back: this store object still refuses writes.
      fault_env_->reset();
      EXPECT_FALSE(append(*store, "full", make_events(1)).ok()) << context << ": writes accepted without a restart";
      EXPECT_TRUE(store->close().ok()) << context;

      store = open_or_fail();
      ASSERT_TRUE(store) << context << ": restart with space back";
      check_contents(*store, maybe, context + ", restarted");
      check_accepts_appends(*store, context + ", restarted");
      store = power_loss_and_reopen(std::move(store), context + ", then a power loss");
      ASSERT_TRUE(store) << context;
      check_contents(*store, maybe, context + ", after the power loss");
      check_accepts_appends(*store, context + ", after the power loss");
      ASSERT_TRUE(store->close().ok()) << context;
      if (HasFatalFailure()) return;
    }
    std::cout << "fault points: " << steps << " steps (ENOSPC from each on, " << kAppends << " appends)"
              << std::endl;
  }
};

TEST_F(DiskFullTest, DiskFullFromEveryStepOfAppends) { disk_full_from_every_step(5); }

TEST_F(DiskFullTest, DiskFullFromEveryStepAcrossASegmentRollover) {
  segment_bytes_ = 64 << 10;  // the engine's minimum
  const int history = appends_before_rollover();
  ASSERT_GT(history, 4);
  // The run of appends crosses the roll-over (two events per append).
  disk_full_from_every_step(history - 4);
}

// The FaultInjectionEnv model of a failed sync, on its own: stale bytes read
// back as written, survive no power loss, and are healed by a new write.
TEST_F(FaultInjectionTest, FailedSyncLeavesPagesThatNoLaterSyncPersists) {
  ASSERT_TRUE(fault_env_->create_dirs("/model").ok());
  auto opened = fault_env_->open_file("/model/file", Env::OpenMode::create);
  ASSERT_TRUE(opened.ok());
  File& file = **opened;
  ASSERT_TRUE(file.write_at(0, "aaaa").ok());
  ASSERT_TRUE(file.sync().ok());
  ASSERT_TRUE(fault_env_->sync_dir("/model").ok());
  ASSERT_TRUE(file.write_at(0, "bb").ok());  // will be lost: its sync fails
  fault_env_->fail_nth(EnvOp::sync, 0);
  EXPECT_FALSE(file.sync().ok());
  ASSERT_TRUE(file.write_at(4, "cc").ok());  // a later write, synced fine
  ASSERT_TRUE(file.sync().ok());
  EXPECT_EQ(fault_env_->unsynced_bytes(), 2u) << "the stale bytes";
  char buffer[16];
  std::size_t read = 0;
  ASSERT_TRUE(file.read_at(0, sizeof(buffer), buffer, &read).ok());
  EXPECT_EQ(std::string(buffer, read), "bbaacc") << "stale bytes read back as written";
  ASSERT_TRUE(fault_env_->drop_unsynced_data().ok());
  auto reopened = fault_env_->open_file("/model/file", Env::OpenMode::read_write);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->read_at(0, sizeof(buffer), buffer, &read).ok());
  EXPECT_EQ(std::string(buffer, read), "aaaacc") << "the failed sync's bytes never reached the disk";
  // Written again after a failed sync, they do become durable.
  ASSERT_TRUE((*reopened)->write_at(1, "d").ok());
  fault_env_->fail_nth(EnvOp::sync, 0);
  EXPECT_FALSE((*reopened)->sync().ok());
  ASSERT_TRUE((*reopened)->write_at(1, "d").ok());
  ASSERT_TRUE((*reopened)->sync().ok());
  EXPECT_EQ(fault_env_->unsynced_bytes(), 0u);
  ASSERT_TRUE(fault_env_->drop_unsynced_data().ok());
  auto last = fault_env_->open_file("/model/file", Env::OpenMode::read_only);
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE((*last)->read_at(0, sizeof(buffer), buffer, &read).ok());
  EXPECT_EQ(std::string(buffer, read), "adaacc");
}

// The same enumeration on the real file system (the indexes then live in
// RocksDB, outside the Env, and must be rebuilt or trusted correctly).
TEST_F(FaultInjectionTest, PowerLossAtEveryStepOnPosix) {
  crash::TempDir dir("evsrc-fault");
  ASSERT_FALSE(dir.path().empty());
  use_base(Env::posix(), dir.path() + "/store");
  power_loss_at_every_step(/*transaction=*/false);
}

TEST_F(FaultInjectionTest, FaultAtEveryStepOnPosix) {
  crash::TempDir dir("evsrc-fault");
  ASSERT_FALSE(dir.path().empty());
  use_base(Env::posix(), dir.path() + "/store");
  fail_every_step(/*transaction=*/true);
}

}  // namespace
}  // namespace evsrc
