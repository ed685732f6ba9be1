// What evsrc-directory prints: users, groups, history entries, rebuild steps
// and errors, as one JSON object per line (--json) or as text for people; and
// the exit code of each outcome.
//
// JSON shapes (the CLI contract; scripts rely on them):
//   user           {"id","name","username","email","apiKey","revision"}, id a string
//   group          {"id","name","members":[user ids],"revision"}
//   history entry  {"revision","type","recordedAt","user":{user after the event},
//                   "actor"[, "revertedTo"]}
//   rebuild step   {"projection","from","to","tables":[serving now],"dropped":[old tables],
//                   "position": the new build's checkpoint or null}
//   consumer progress (always JSON, see kinesis_consumer.h)
//                  {"stream","read","applied","duplicates","gaps","backfilled",...}
//   error (stderr) {"error":"<code name>","message"}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "directory/read_models.h"
#include "directory/user.h"
#include "evsrc/status.h"
#include "evsrc/types.h"
#include "evsrc/view.h"

namespace evsrc::directory {

// Exit codes: part of the CLI contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // I/O, corruption, anything unexpected
inline constexpr int kExitBadInput = 2;  // invalid arguments, parse errors
inline constexpr int kExitRejected = 3;  // username taken, conflict after retries, command on a deleted user
inline constexpr int kExitNotFound = 4;  // no such user / group / revision (a deleted user included)

int exit_code_for(const Status& status);

class Printer {
 public:
  explicit Printer(bool json) : json_(json) {}
  bool json() const { return json_; }

  void user(const UserState& user, StreamRevision revision, const std::string& note = "");
  void user(const UserRow& row);
  void group(const GroupState& group, StreamRevision revision, const std::string& note = "");
  void history_entry(const HistoryEntry<UserState>& entry);
  void rebuild_step(const RebuildStep& step);
  void text(const std::string& line);  // human mode only
  // One JSON line whatever the mode, flushed at once: the progress of a
  // long-running command, read by scripts while it runs.
  void progress(const nlohmann::ordered_json& value);

  // Writes the error (stderr) and returns its exit code.
  int error(const Status& status);
  // Flushes stdout; false when writing failed.
  bool flush();

 private:
  void line(const nlohmann::ordered_json& value);
  bool json_;
};

// The user JSON object of the contract.
nlohmann::ordered_json user_json(const UserState& user, StreamRevision revision);
nlohmann::ordered_json user_json(const UserRow& row);

}  // namespace evsrc::directory
