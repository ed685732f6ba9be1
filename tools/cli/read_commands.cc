// evsrc read, read-all and tail: recorded events as JSON lines.
//
// Reads page through the store (kPageSize events at a time) and print as they
// go, so memory stays bounded whatever the size of the stream or store.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli_common.h"
#include "cli/json_event.h"

namespace evsrc::cli {
namespace {

constexpr std::uint64_t kPageSize = 1000;

struct ReadArguments {
  std::string stream;
  std::optional<std::uint64_t> from;
  std::optional<std::uint64_t> limit;
  bool backward = false;
};

struct ReadAllArguments {
  std::optional<std::uint64_t> from;
  std::optional<std::uint64_t> limit;
  bool backward = false;
  EventFilter filter;
};

struct TailArguments {
  std::optional<std::uint64_t> from;
  EventFilter filter;
};

int run_read(const CommandContext& context, const ReadArguments& args) {
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  StreamReadOptions options;
  options.from = args.from;
  options.direction = args.backward ? Direction::backward : Direction::forward;
  std::uint64_t remaining = args.limit.value_or(UINT64_MAX);
  while (remaining > 0) {
    options.limit = std::min(kPageSize, remaining);
    auto page = store->read_stream(args.stream, options);
    if (!page.ok()) {
      exit_code = report_error(page.status(), Json{{"stream", args.stream}});
      break;
    }
    for (const RecordedEvent& event : page->events) print_json_line(recorded_event_to_json(event));
    remaining -= std::min<std::uint64_t>(remaining, page->events.size());
    if (!page->next || page->next == options.from) break;
    options.from = page->next;
  }
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

int run_read_all(const CommandContext& context, const ReadAllArguments& args) {
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  AllReadOptions options;
  options.from = args.from;
  options.direction = args.backward ? Direction::backward : Direction::forward;
  options.filter = args.filter;
  std::uint64_t remaining = args.limit.value_or(UINT64_MAX);
  while (remaining > 0) {
    options.limit = std::min(kPageSize, remaining);
    auto page = store->read_all(options);
    if (!page.ok()) {
      exit_code = report_error(page.status());
      break;
    }
    for (const RecordedEvent& event : page->events) print_json_line(recorded_event_to_json(event));
    remaining -= std::min<std::uint64_t>(remaining, page->events.size());
    // A filtered page may come back empty while `next` moves on.
    if (!page->next || page->next == options.from) break;
    options.from = page->next;
  }
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

std::atomic<bool> tail_stop_requested{false};

extern "C" void request_tail_stop(int) { tail_stop_requested.store(true); }

int run_tail(const CommandContext& context, const TailArguments& args) {
  // Installed before opening the store so no signal is lost; the loop polls
  // the flag, because cancel() is not async-signal-safe.
  struct sigaction action {};
  action.sa_handler = request_tail_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  AllSubscriptionOptions options;
  options.from = args.from;
  options.filter = args.filter;
  if (!options.from) {
    // Like tail -f: only what is committed from now on.
    auto stats = store->stats();
    if (!stats.ok()) return close_cli_store(*store, report_error(stats.status()));
    if (stats->last_position) options.from = *stats->last_position + 1;
  }
  auto subscription = store->subscribe_all(options);
  if (!subscription.ok()) return close_cli_store(*store, report_error(subscription.status()));

  constexpr std::chrono::milliseconds kPollInterval{100};
  while (!tail_stop_requested.load()) {
    auto batch = (*subscription)->next(kPollInterval);
    if (!batch.ok()) {
      if (!tail_stop_requested.load()) exit_code = report_error(batch.status());
      break;
    }
    for (const RecordedEvent& event : *batch) print_json_line(recorded_event_to_json(event));
    if (!batch->empty() && !flush_stdout()) {
      exit_code = kExitError;
      break;
    }
  }
  (*subscription)->cancel();
  subscription->reset();
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

void add_filter_options(CLI::App* command, EventFilter& filter) {
  command->add_option("--prefix", filter.stream_prefix, "Only streams whose name starts with this prefix");
  command->add_option("--category", filter.category, "Only streams of this category (the name before the first '-')");
  command->add_option("--type", filter.event_type, "Only events of this type");
}

}  // namespace

void register_read_commands(CLI::App& app, CommandContext& context) {
  {
    auto args = std::make_shared<ReadArguments>();
    CLI::App* command = add_command(app, "read",
                                    "Read a stream's events as JSON lines "
                                    "{id,stream,revision,position,type,data,metadata,recordedAt}.");
    command->add_option("STREAM", args->stream, "Stream name")->required();
    command->add_option("--from", args->from,
                        "First revision to read (inclusive); default the first (or, with --backward, the last)");
    command->add_option("--limit", args->limit, "Read at most this many events; default all");
    command->add_flag("--backward", args->backward, "Read from newest to oldest");
    command->callback([&context, args] { context.run = [&context, args] { return run_read(context, *args); }; });
  }
  {
    auto args = std::make_shared<ReadAllArguments>();
    CLI::App* command = add_command(app, "read-all", "Read the whole store ($all) in commit order as JSON lines.");
    command->add_option("--from", args->from,
                        "First position to read (inclusive); default the beginning (or, with --backward, the end)");
    command->add_option("--limit", args->limit, "Read at most this many events; default all");
    command->add_flag("--backward", args->backward, "Read from newest to oldest");
    add_filter_options(command, args->filter);
    command->callback([&context, args] { context.run = [&context, args] { return run_read_all(context, *args); }; });
  }
  {
    auto args = std::make_shared<TailArguments>();
    CLI::App* command = add_command(app, "tail",
                                    "Follow $all live: print events from --from (default: only events committed from "
                                    "now on) as they are committed, until interrupted (SIGINT/SIGTERM, exit 0).");
    command->add_option("--from", args->from, "First position to print (inclusive); --from 0 replays everything");
    add_filter_options(command, args->filter);
    command->callback([&context, args] { context.run = [&context, args] { return run_tail(context, *args); }; });
  }
}

}  // namespace evsrc::cli
