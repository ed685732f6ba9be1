// bench-toolkit workload "rebuild": the user-directory read models built from
// a store of --events directory events (users with their username claims and
// later changes, groups with members), then rebuilt as the next version beside
// the serving one; against a plain $all read of the same store.
//
// The store is written directly with the directory's codecs in large batches
// (the same events its commands write), so filling 1M events takes seconds.
#include <filesystem>

#include "bench/bench_stats.h"
#include "bench/toolkit_workloads.h"
#include "directory/events.h"
#include "directory/read_models.h"
#include "evsrc/event_store.h"

namespace evsrc::bench {
namespace {

using namespace evsrc::directory;  // NOLINT(google-build-using-namespace): the example's vocabulary

constexpr int kEventsPerUser = 10;  // 2 for creation (+ claim), 8 changes

template <typename Event>
Status add_event(std::vector<EventData>& out, const Codec<Event>& codec, const Event& event) {
  Result<EventData> data = codec.encode(event, nlohmann::json{{"actor", "bench"}});
  if (!data.ok()) return data.status();
  out.push_back(std::move(data).value());
  return Status();
}

// One user: created (with its username claim), renamed, new emails; as two
// transaction parts appended to `parts`.
Status add_user(std::vector<TransactionPart>& parts, std::uint64_t index) {
  const std::string id = std::to_string(index);
  const std::string username = "user" + id;
  std::vector<EventData> user;
  if (Status s = add_event(user, user_codec(), UserEvent(UserCreated{id, "User " + id, username,
                                                                     username + "@example.com"}));
      !s.ok()) {
    return s;
  }
  for (int change = 0; change < (kEventsPerUser - 2) / 2; ++change) {
    if (Status s = add_event(user, user_codec(), UserEvent(NameSet{"User " + id + " v" + std::to_string(change)}));
        !s.ok()) {
      return s;
    }
    if (Status s = add_event(user, user_codec(),
                             UserEvent(EmailSet{username + "@mail" + std::to_string(change) + ".example.org"}));
        !s.ok()) {
      return s;
    }
  }
  std::vector<EventData> claim;
  if (Status s = add_event(claim, username_codec(), UsernameEvent(UsernameClaimed{id})); !s.ok()) return s;
  parts.push_back(TransactionPart{user_stream(id), ExpectedRevision::no_stream(), std::move(user)});
  parts.push_back(TransactionPart{username_stream(username), ExpectedRevision::no_stream(), std::move(claim)});
  return Status();
}

Status add_group(std::vector<TransactionPart>& parts, std::uint64_t group, std::uint64_t users) {
  std::vector<EventData> events;
  const std::string id = std::to_string(group);
  if (Status s = add_event(events, group_codec(), GroupEvent(GroupCreated{id, "Group " + id})); !s.ok()) return s;
  for (std::uint64_t member = group; member < users && events.size() < 10; member += 97) {
    if (Status s = add_event(events, group_codec(), GroupEvent(MemberAdded{std::to_string(member)})); !s.ok()) {
      return s;
    }
  }
  parts.push_back(TransactionPart{group_stream(id), ExpectedRevision::no_stream(), std::move(events)});
  return Status();
}

}  // namespace

Result<std::vector<Figure>> run_rebuild_workload(const std::string& scratch, const ToolkitSettings& settings,
                                                 const Progress& progress) {
  auto opened = open_store("file:" + scratch + "/store");
  if (!opened.ok()) return opened.status();
  EventStore& store = **opened;
  // Nine tenths of the events are users (10 each + 1 claim), the rest groups.
  const std::uint64_t users = std::max<std::uint64_t>(1, settings.events * 9 / 10 / (kEventsPerUser + 1));
  const std::uint64_t groups = std::max<std::uint64_t>(1, settings.events / 10 / 10);
  progress("writing " + std::to_string(users) + " users and " + std::to_string(groups) + " groups");
  // 100 users per transaction: one fsync per 1,100 events keeps filling fast.
  std::vector<TransactionPart> parts;
  for (std::uint64_t user = 0; user < users; ++user) {
    if (Status status = add_user(parts, user); !status.ok()) return status;
    if (parts.size() == 200 || user + 1 == users) {
      if (Status status = store.commit(parts).status(); !status.ok()) return status;
      parts.clear();
    }
  }
  for (std::uint64_t group = 0; group < groups; ++group) {
    if (Status status = add_group(parts, group, users); !status.ok()) return status;
    if (parts.size() == 100 || group + 1 == groups) {
      if (Status status = store.commit(parts).status(); !status.ok()) return status;
      parts.clear();
    }
  }
  Result<StoreStats> stats = store.stats();
  if (!stats.ok()) return stats.status();
  const double events = static_cast<double>(stats->events);

  const auto read_start = Clock::now();
  for (std::optional<Position> from = Position{0}; from;) {
    Result<AllPage> page = store.read_all(AllReadOptions{from, Direction::forward, 1000, {}});
    if (!page.ok()) return page.status();
    from = page->next;
  }
  const double read_seconds = micros_since(read_start) / 1e6;

  progress("building the read models (version 1) from " + std::to_string(stats->events) + " events");
  auto models = DirectoryReadModels::open(store, scratch + "/read-models.sqlite");
  if (!models.ok()) return models.status();
  const auto build_start = Clock::now();
  if (Status status = (*models)->catch_up(); !status.ok()) return status;
  const double build_seconds = micros_since(build_start) / 1e6;

  progress("rebuilding the read models (next version) beside the serving ones");
  const auto rebuild_start = Clock::now();
  Result<std::vector<RebuildStep>> steps = (*models)->rebuild();
  if (!steps.ok()) return steps.status();
  const double rebuild_seconds = micros_since(rebuild_start) / 1e6;
  Result<UserRow> sample = (*models)->user_by_username("user0");
  if (!sample.ok()) return sample.status();
  if (!sample->email_domain) return Status::corruption("rebuilt users model has no email_domain");
  models->reset();
  if (Status status = store.close(); !status.ok()) return status;
  return std::vector<Figure>{
      Figure{"$all read of " + std::to_string(stats->events) + " events (baseline)", read_seconds, "s", 1.0,
             "$all read"},
      Figure{"first build of the directory read models", build_seconds, "s", build_seconds / read_seconds,
             "$all read"},
      Figure{"rebuild: next version beside the serving one, then switch", rebuild_seconds, "s",
             rebuild_seconds / read_seconds, "$all read"},
      Figure{"rebuild throughput", events / rebuild_seconds, "events/s", read_seconds / rebuild_seconds,
             "$all read events/s"},
  };
}

}  // namespace evsrc::bench
