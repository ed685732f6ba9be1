// Running out of file descriptors is a moment's shortage, not a failed disk.
//
// Contract checked: when the file of a new segment cannot be created because
// the process (or system) is out of descriptors, the append that needed it is
// refused with `unavailable` and writes nothing; the store keeps accepting
// writes (the next append, once a descriptor is free, succeeds), says so in
// StoreStats::write_status, and a reopen finds exactly the acknowledged
// events. Checked through FaultInjectionEnv (EMFILE at the k-th create) and on
// the real file system with RLIMIT_NOFILE lowered.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "engine/fault_injection_env.h"
#include "evsrc/env.h"
#include "evsrc/event_store.h"

namespace evsrc {
namespace {

constexpr std::uint64_t kSegmentBytes = 64 << 10;  // the smallest: a new segment every ~250 events

std::vector<EventData> events_of(int count, int first) {
  std::vector<EventData> events;
  for (int i = 0; i < count; ++i) {
    EventData event;
    event.id = Uuid::random();
    event.type = "Filled";
    event.data = "{\"n\":" + std::to_string(first + i) + ",\"pad\":\"" + std::string(200, 'x') + "\"}";
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<Uuid> ids_in_store(EventStore& store) {
  std::vector<Uuid> ids;
  AllReadOptions options;
  options.limit = 1000;
  while (true) {
    Result<AllPage> page = store.read_all(options);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    if (!page.ok()) break;
    for (const RecordedEvent& event : page->events) ids.push_back(event.id);
    if (!page->next) break;
    options.from = page->next;
  }
  return ids;
}

TEST(DescriptorExhaustion, NoDescriptorForANewSegmentRefusesOnlyThatAppend) {
  std::unique_ptr<Env> memory = new_memory_env();
  FaultInjectionEnv env(memory.get());
  StoreOptions options;
  options.env = &env;
  options.segment_bytes = kSegmentBytes;
  Result<std::unique_ptr<EventStore>> opened = open_store("file:/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(*opened);

  // The next segment file cannot be created.
  env.fail_nth(EnvOp::create, 0, FaultKind::no_descriptors);
  std::vector<Uuid> acknowledged;
  int refused = 0;
  std::optional<StreamRevision> revision;
  for (int i = 0; i < 600 && refused == 0; ++i) {
    std::vector<EventData> events = events_of(1, i);
    Result<AppendResult> result = store->append(
        "s-1", revision ? ExpectedRevision::exact(*revision) : ExpectedRevision::no_stream(), events);
    if (result.ok()) {
      acknowledged.push_back(events.front().id);
      revision = result->last_revision;
      continue;
    }
    ASSERT_EQ(result.status().code(), ErrorCode::unavailable) << result.status().to_string();
    ++refused;
  }
  ASSERT_EQ(refused, 1) << "no append needed a new segment";
  ASSERT_EQ(env.injected_faults(), 1u);
  Result<StoreStats> stats = store->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(stats->write_status.ok()) << stats->write_status.to_string();

  // The store goes on: the retry gets its segment, and so do later ones.
  for (int i = 0; i < 600; ++i) {
    std::vector<EventData> events = events_of(1, 1000 + i);
    Result<AppendResult> result = store->append("s-1", ExpectedRevision::exact(*revision), events);
    ASSERT_TRUE(result.ok()) << "append " << i << " after the shortage: " << result.status().to_string();
    acknowledged.push_back(events.front().id);
    revision = result->last_revision;
  }
  EXPECT_EQ(ids_in_store(*store), acknowledged);
  ASSERT_TRUE(store->close().ok());

  opened = open_store("file:/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(ids_in_store(**opened), acknowledged);
  ASSERT_TRUE((*opened)->close().ok());
}

// The file of the new segment was created, but syncing the directory needs
// a descriptor too and there is none: only that append is refused, and the
// half-made segment is not left behind. Smaller appends that still fit the
// current segment go on meanwhile, so a segment made later starts at a later
// position than the abandoned one would have: a reopen must still find a log
// that continues (a stale file would read as a gap).
TEST(DescriptorExhaustion, NoDescriptorToSyncTheDirectoryRefusesOnlyThatAppend) {
  std::unique_ptr<Env> memory = new_memory_env();
  FaultInjectionEnv env(memory.get());
  StoreOptions options;
  options.env = &env;
  options.segment_bytes = kSegmentBytes;
  Result<std::unique_ptr<EventStore>> opened = open_store("file:/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(*opened);

  env.fail_nth(EnvOp::sync_dir, 0, FaultKind::no_descriptors);
  std::vector<Uuid> acknowledged;
  std::optional<StreamRevision> revision;
  const auto append = [&](int n, std::size_t pad) -> Status {
    std::vector<EventData> events = events_of(1, n);
    events.front().data = "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(pad, 'x') + "\"}";
    Result<AppendResult> result = store->append(
        "s-1", revision ? ExpectedRevision::exact(*revision) : ExpectedRevision::no_stream(), events);
    if (!result.ok()) return result.status();
    acknowledged.push_back(events.front().id);
    revision = result->last_revision;
    return Status();
  };
  // Every 8th append is large: the first that does not fit is one of them,
  // and small ones still fit after it.
  int refused_at = -1;
  for (int i = 0; i < 400 && refused_at < 0; ++i) {
    Status status = append(i, i % 8 == 7 ? 12000 : 200);
    if (status.ok()) continue;
    ASSERT_EQ(status.code(), ErrorCode::unavailable) << status.to_string();
    refused_at = i;
  }
  ASSERT_GE(refused_at, 0) << "no append needed a new segment";
  ASSERT_EQ(env.injected_faults(), 1u);
  Result<StoreStats> stats = store->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(stats->write_status.ok()) << stats->write_status.to_string();
  const std::uint64_t segments = stats->segments;
  ASSERT_TRUE(append(100000, 200).ok());
  stats = store->stats();
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->segments, segments) << "the small append after the refusal did not go to the current segment";

  for (int i = 0; i < 300; ++i) {
    Status status = append(200000 + i, i % 8 == 7 ? 12000 : 200);
    ASSERT_TRUE(status.ok()) << "append " << i << " after the shortage: " << status.to_string();
  }
  EXPECT_EQ(ids_in_store(*store), acknowledged);
  ASSERT_TRUE(store->close().ok());

  opened = open_store("file:/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(ids_in_store(**opened), acknowledged);
  ASSERT_TRUE((*opened)->close().ok());
}

// The same on the real file system: the soft RLIMIT_NOFILE lowered to what
// is open, so that creating the next segment fails with EMFILE.
TEST(DescriptorExhaustion, RealEmfileOnANewSegmentLeavesTheStoreWritable) {
  char pattern[] = "/tmp/evsrc-emfile-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string directory = pattern;
  StoreOptions options;
  options.segment_bytes = kSegmentBytes;
  options.sync = false;  // the shortage, not durability, is under test
  Result<std::unique_ptr<EventStore>> opened = open_store("file:" + directory + "/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<EventStore> store = std::move(*opened);
  // Warm up first (a segment rolled, an asynchronous append): every code
  // path runs once while descriptors are free. (UBSan's first check of a
  // dynamic type opens a pipe, which fails when descriptors are out.)
  std::vector<Uuid> acknowledged;
  for (int i = 0; i < 600; ++i) {
    std::vector<EventData> events = events_of(1, -1 - i);
    ASSERT_TRUE(store->append("s-1", ExpectedRevision::any(), events).ok());
    acknowledged.push_back(events.front().id);
    Result<StoreStats> stats = store->stats();
    ASSERT_TRUE(stats.ok());
    if (stats->segments > 1) break;
  }
  {
    std::vector<EventData> events = events_of(1, -1000);
    acknowledged.push_back(events.front().id);
    std::promise<Status> done;
    store->append_async("s-1", ExpectedRevision::any(), std::move(events),
                        [&done](Result<AppendResult> result) { done.set_value(result.status()); });
    ASSERT_TRUE(done.get_future().get().ok());
  }
  Result<StoreStats> before = store->stats();
  ASSERT_TRUE(before.ok());
  ASSERT_GT(before->segments, 1u);

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Take every descriptor below a low limit, then lower the limit to it.
  std::vector<int> taken;
  int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  const rlim_t low = static_cast<rlim_t>(probe) + 64;
  ::close(probe);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min(low, saved.rlim_cur);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  while (true) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    taken.push_back(fd);
  }
  ASSERT_EQ(errno, EMFILE);

  Status refusal;
  for (int i = 0; i < 600 && refusal.ok(); ++i) {
    std::vector<EventData> events = events_of(1, i);
    Result<AppendResult> result = store->append("s-1", ExpectedRevision::any(), events);
    if (result.ok()) {
      acknowledged.push_back(events.front().id);
    } else {
      refusal = result.status();
    }
  }
  Result<StoreStats> during = store->stats();
  // Give the descriptors back before any assertion can return.
  for (int fd : taken) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_EQ(refusal.code(), ErrorCode::unavailable) << refusal.to_string();
  ASSERT_TRUE(during.ok());
  EXPECT_TRUE(during->write_status.ok()) << during->write_status.to_string();
  EXPECT_EQ(during->segments, before->segments);
  for (int i = 0; i < 300; ++i) {
    std::vector<EventData> events = events_of(1, 1000 + i);
    Result<AppendResult> result = store->append("s-1", ExpectedRevision::any(), events);
    ASSERT_TRUE(result.ok()) << "append " << i << " after the shortage: " << result.status().to_string();
    acknowledged.push_back(events.front().id);
  }
  Result<StoreStats> after = store->stats();
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->segments, before->segments);
  EXPECT_EQ(ids_in_store(*store), acknowledged);
  ASSERT_TRUE(store->close().ok());

  opened = open_store("file:" + directory + "/store", options);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  EXPECT_EQ(ids_in_store(**opened), acknowledged);
  ASSERT_TRUE((*opened)->close().ok());
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
}

}  // namespace
}  // namespace evsrc
