// evsrc import FILE|- and evsrc export: JSON lines
// {"stream","type","data","metadata"?,"id"?,"expected"?}.
//
// Import keeps the order of the lines. Consecutive lines of one stream are
// appended together in one atomic batch; a line with "expected" starts a new
// batch checked against that expectation. So `export | import` into an empty
// store reproduces every stream and the order of $all.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/json_event.h"

namespace evsrc::cli {
namespace {

// Batches stay well under the store's default limits (Limits in options.h).
constexpr std::size_t kMaxBatchEvents = 10'000;
constexpr std::size_t kMaxBatchBytes = 16 << 20;

struct ImportArguments {
  std::string file;
};

struct ExportArguments {
  std::optional<std::uint64_t> from;
  EventFilter filter;
};

// Progress on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::optional<std::uint64_t> total_bytes)
      : enabled_(isatty(STDERR_FILENO) == 1), total_bytes_(total_bytes) {}

  void update(std::uint64_t bytes_read, std::uint64_t events, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (total_bytes_ && *total_bytes_ > 0) {
      constexpr int kWidth = 30;
      const double fraction = std::min(1.0, static_cast<double>(bytes_read) / static_cast<double>(*total_bytes_));
      const int filled = static_cast<int>(fraction * kWidth);
      std::fprintf(stderr, "\r[%s%s] %3d%% %llu events", std::string(filled, '#').c_str(),
                   std::string(kWidth - filled, ' ').c_str(), static_cast<int>(fraction * 100),
                   static_cast<unsigned long long>(events));
    } else {
      std::fprintf(stderr, "\r%llu events", static_cast<unsigned long long>(events));
    }
    std::fflush(stderr);
    drawn_ = true;
  }

  void finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::optional<std::uint64_t> total_bytes_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// One pending append: consecutive lines of one stream.
struct Batch {
  std::string stream;
  ExpectedRevision expected = ExpectedRevision::any();
  std::vector<EventData> events;
  std::size_t bytes = 0;
  std::uint64_t first_line = 0;
  std::uint64_t last_line = 0;
};

class Importer {
 public:
  explicit Importer(EventStore& store) : store_(store) {}

  // Adds one parsed line; may append the previous batch. Returns the exit
  // code of a failed append, or kExitOk.
  int add(ImportLine line, std::uint64_t line_number) {
    const std::size_t bytes = line.event.type.size() + line.event.data.size() + line.event.metadata.size();
    const bool joins = !batch_.events.empty() && batch_.stream == line.stream && !line.expected &&
                       batch_.events.size() < kMaxBatchEvents && batch_.bytes + bytes <= kMaxBatchBytes;
    if (!joins) {
      if (const int code = flush(); code != kExitOk) return code;
      batch_.stream = std::move(line.stream);
      batch_.expected = line.expected.value_or(ExpectedRevision::any());
      batch_.first_line = line_number;
    }
    batch_.events.push_back(std::move(line.event));
    batch_.bytes += bytes;
    batch_.last_line = line_number;
    return kExitOk;
  }

  // Appends the pending batch, if any.
  int flush() {
    if (batch_.events.empty()) return kExitOk;
    const auto result = store_.append(batch_.stream, batch_.expected, batch_.events);
    if (!result.ok()) {
      Json where = Json::object();
      where["line"] = batch_.first_line;
      if (batch_.last_line != batch_.first_line) where["lastLine"] = batch_.last_line;
      where["stream"] = batch_.stream;
      where["events"] = events_;
      where["appends"] = appends_;
      return report_error(result.status(), where);
    }
    events_ += batch_.events.size();
    ++appends_;
    batch_.events.clear();
    batch_.bytes = 0;
    return kExitOk;
  }

  std::uint64_t events() const { return events_; }
  std::uint64_t appends() const { return appends_; }

 private:
  EventStore& store_;
  Batch batch_;
  std::uint64_t events_ = 0;   // appended so far
  std::uint64_t appends_ = 0;  // append calls so far
};

int import_lines(EventStore& store, std::istream& input, std::optional<std::uint64_t> total_bytes) {
  Importer importer(store);
  ProgressBar progress(total_bytes);
  std::string text;
  std::uint64_t line_number = 0;
  std::uint64_t bytes_read = 0;
  while (std::getline(input, text)) {
    ++line_number;
    bytes_read += text.size() + 1;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines are allowed
    auto line = parse_import_line(text);
    if (!line.ok()) {
      progress.finish();
      return report_error(
          Status::invalid_argument("line " + std::to_string(line_number) + ": " + line.status().message()),
          Json{{"line", line_number}, {"events", importer.events()}, {"appends", importer.appends()}});
    }
    if (const int code = importer.add(std::move(line).value(), line_number); code != kExitOk) {
      progress.finish();
      return code;
    }
    progress.update(bytes_read, importer.events());
  }
  if (input.bad()) {
    progress.finish();
    return report_error(Status::io_error("reading the input failed after line " + std::to_string(line_number)));
  }
  const int code = importer.flush();
  progress.update(bytes_read, importer.events(), /*force=*/true);
  progress.finish();
  if (code != kExitOk) return code;
  print_json_line(Json{{"events", importer.events()}, {"appends", importer.appends()}});
  return flush_stdout() ? kExitOk : kExitError;
}

int run_import(const CommandContext& context, const ImportArguments& args) {
  std::ifstream file;
  std::optional<std::uint64_t> total_bytes;
  if (args.file != "-") {
    file.open(args.file, std::ios::binary);
    if (!file) return report_error(Status::invalid_argument("cannot open '" + args.file + "'"));
    file.seekg(0, std::ios::end);
    if (const auto size = file.tellg(); size >= 0) total_bytes = static_cast<std::uint64_t>(size);
    file.seekg(0, std::ios::beg);
  }
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  exit_code = import_lines(*store, args.file == "-" ? std::cin : file, total_bytes);
  return close_cli_store(*store, exit_code);
}

int run_export(const CommandContext& context, const ExportArguments& args) {
  int exit_code = kExitOk;
  auto store = open_cli_store(context, StoreOptions{}, exit_code);
  if (!store) return exit_code;
  AllReadOptions options;
  options.from = args.from;
  options.filter = args.filter;
  options.limit = kNoLimit;
  // One borrowing cursor over what is committed now: events appended while
  // the export runs are not in it (run it again with --from to follow).
  auto cursor = store->open_all_cursor(options);
  if (!cursor.ok()) {
    exit_code = report_error(cursor.status());
  } else {
    while (true) {
      Result<const EventView*> event = (*cursor)->next();
      if (!event.ok()) {
        exit_code = report_error(event.status());
        break;
      }
      if (*event == nullptr) break;
      print_json_line(recorded_event_to_import_line(**event));
    }
  }
  if (!flush_stdout() && exit_code == kExitOk) exit_code = kExitError;
  return close_cli_store(*store, exit_code);
}

}  // namespace

void register_import_export_commands(CLI::App& app, CommandContext& context) {
  {
    auto args = std::make_shared<ImportArguments>();
    CLI::App* command = add_command(
        app, "import",
        "Append events from JSON lines {\"stream\",\"type\",\"data\",\"metadata\"?,\"id\"?,\"expected\"?}. "
        "Consecutive lines of one stream are appended as one atomic batch; a line with \"expected\" starts a "
        "new batch checked against it. Prints {\"events\",\"appends\"}; errors name the input line.");
    command->add_option("FILE", args->file, "Input file, or - for stdin")->required();
    command->callback([&context, args] { context.run = [&context, args] { return run_import(context, *args); }; });
  }
  {
    auto args = std::make_shared<ExportArguments>();
    CLI::App* command = add_command(app, "export",
                                    "Write $all as JSON lines in the import format (with event ids), in commit "
                                    "order: export | import into an empty store reproduces it.");
    command->add_option("--from", args->from, "First position to export (inclusive)");
    command->add_option("--prefix", args->filter.stream_prefix, "Only streams whose name starts with this prefix");
    command->add_option("--type", args->filter.event_type, "Only events of this type");
    command->callback([&context, args] { context.run = [&context, args] { return run_export(context, *args); }; });
  }
}

}  // namespace evsrc::cli
