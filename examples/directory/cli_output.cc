#include "directory/cli_output.h"

#include <cstdio>
#include <string>

#include "directory/events.h"
#include "directory/projections.h"
#include "evsrc/codec.h"

namespace evsrc::directory {
namespace {

using Json = nlohmann::ordered_json;

void write(std::FILE* stream, const std::string& text) { std::fwrite(text.data(), 1, text.size(), stream); }

std::string or_dash(const std::string& value) { return value.empty() ? "-" : value; }

std::string user_block(const std::string& id, const std::string& name, const std::string& username,
                       const std::string& email, const std::string& api_key, StreamRevision revision) {
  return "user " + id + " (revision " + std::to_string(revision) + ")\n" + "  name:          " + name + "\n" +
         "  username:      " + username + "\n" + "  email:         " + email + "\n" +
         "  api key:       " + or_dash(api_key) + "\n";
}

}  // namespace

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::ok:
      return kExitOk;
    case ErrorCode::invalid_argument:
    case ErrorCode::too_large:
      return kExitBadInput;
    case ErrorCode::rejected:
    case ErrorCode::wrong_expected_revision:
      return kExitRejected;
    case ErrorCode::not_found:
      return kExitNotFound;
    default:
      return kExitError;
  }
}

Json user_json(const UserState& user, StreamRevision revision) {
  Json value = Json::object();
  value["id"] = user.id;
  value["name"] = user.name;
  value["username"] = user.username;
  value["email"] = user.email;
  value["apiKey"] = user.apiKey;
  value["revision"] = revision;
  return value;
}

Json user_json(const UserRow& row) {
  Json value = Json::object();
  value["id"] = row.id;
  value["name"] = row.name;
  value["username"] = row.username;
  value["email"] = row.email;
  value["apiKey"] = row.apiKey;
  value["revision"] = row.revision;
  return value;
}

void Printer::line(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  text.push_back('\n');
  write(stdout, text);
}

void Printer::text(const std::string& line) {
  if (!json_) write(stdout, line + "\n");
}

void Printer::user(const UserState& user, StreamRevision revision, const std::string& note) {
  if (json_) return line(user_json(user, revision));
  if (!note.empty()) text(note);
  write(stdout, user_block(user.id, user.name, user.username, user.email, user.apiKey, revision));
}

void Printer::user(const UserRow& row) {
  if (json_) return line(user_json(row));
  std::string block = user_block(row.id, row.name, row.username, row.email, row.apiKey, row.revision);
  // The users model's derived column (version 2 on), for people only: the
  // JSON shape stays the contract's.
  if (row.email_domain) block += "  email domain:  " + *row.email_domain + "\n";
  write(stdout, block);
}

void Printer::group(const GroupState& group, StreamRevision revision, const std::string& note) {
  if (json_) {
    Json value = Json::object();
    value["id"] = group.id;
    value["name"] = group.name;
    value["members"] = group.members;
    value["revision"] = revision;
    return line(value);
  }
  if (!note.empty()) text(note);
  std::string members;
  for (const std::string& member : group.members) members += (members.empty() ? "" : ", ") + member;
  write(stdout, "group " + group.id + " (revision " + std::to_string(revision) + ")\n" + "  name:     " + group.name +
                    "\n" + "  members:  " + or_dash(members) + "\n");
}

void Printer::history_entry(const HistoryEntry<UserState>& entry) {
  const RecordedEvent& event = entry.event;
  const std::string actor = actor_of(event.metadata);
  std::optional<std::uint64_t> reverted_to;
  if (Result<nlohmann::json> metadata = parse_metadata(event.metadata); metadata.ok()) {
    const auto found = metadata->find("revertedTo");
    if (found != metadata->end() && found->is_number_unsigned()) reverted_to = found->get<std::uint64_t>();
  }
  if (json_) {
    Json value = Json::object();
    value["revision"] = event.revision;
    value["type"] = event.type;
    value["recordedAt"] = format_rfc3339(event.recorded_at);
    value["user"] = user_json(entry.state, event.revision);
    value["actor"] = actor;
    if (reverted_to) value["revertedTo"] = *reverted_to;
    return line(value);
  }
  const UserState& user = entry.state;
  std::string text_line = "#" + std::to_string(event.revision) + "  " + format_rfc3339(event.recorded_at) + "  " +
                          event.type + "  by " + or_dash(actor);
  if (reverted_to) text_line += "  (revert to #" + std::to_string(*reverted_to) + ")";
  text_line += "\n    name=" + user.name + "  username=" + user.username + "  email=" + user.email +
               "  apiKey=" + or_dash(user.apiKey) + (user.deleted ? "  [deleted]" : "") + "\n";
  write(stdout, text_line);
}

void Printer::rebuild_step(const RebuildStep& step) {
  if (json_) {
    Json value = Json::object();
    value["projection"] = step.projection;
    value["from"] = step.from_version;
    value["to"] = step.to_version;
    value["tables"] = directory_tables(step.projection, step.new_suffix);
    value["dropped"] = directory_tables(step.projection, step.old_suffix);
    value["position"] = step.position ? Json(*step.position) : Json(nullptr);
    return line(value);
  }
  const auto names = [](const std::vector<std::string>& tables) {
    std::string joined;
    for (const std::string& table : tables) joined += (joined.empty() ? "" : ", ") + table;
    return joined;
  };
  write(stdout, step.projection + ": built version " + std::to_string(step.to_version) + " (" +
                    names(directory_tables(step.projection, step.new_suffix)) + ") from the event log" +
                    (step.position ? " up to position " + std::to_string(*step.position) : std::string()) +
                    " while version " + std::to_string(step.from_version) + " served; switched to it; dropped " +
                    names(directory_tables(step.projection, step.old_suffix)) + "\n");
}

void Printer::progress(const Json& value) {
  line(value);
  std::fflush(stdout);
}

int Printer::error(const Status& status) {
  std::fflush(stdout);
  if (json_) {
    Json value = Json::object();
    value["error"] = std::string(error_code_name(status.code()));
    value["message"] = status.message();
    std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    text.push_back('\n');
    write(stderr, text);
  } else {
    write(stderr, "evsrc-directory: " + std::string(error_code_name(status.code())) + ": " + status.message() + "\n");
  }
  std::fflush(stderr);
  return exit_code_for(status);
}

bool Printer::flush() { return std::fflush(stdout) == 0 && !std::ferror(stdout); }

}  // namespace evsrc::directory
