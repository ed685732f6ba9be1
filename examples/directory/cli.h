// evsrc-directory: the user directory on the command line.
//
//   evsrc-directory [--store URI] [--read-models LOCATION] [--actor NAME] [--json] <command> ...
//
// Commands (writes go through DirectoryService; queries read the read models,
// SQLite or PostgreSQL, after catching them up; `get --at-*` and `history` read the store):
//   create-user ID NAME USERNAME EMAIL   set-name ID NAME
//   set-username ID USERNAME             set-email ID EMAIL
//   set-api-key ID KEY                   delete-user ID
//   get ID [--at-revision N | --at-time RFC3339]
//   by-username USERNAME                 by-email EMAIL
//   history ID                           revert ID REVISION
//   create-group GID NAME                add-member GID ID
//   remove-member GID ID                 members GID
//   rebuild
//   consume-kinesis --stream NAME [--endpoint URL] ... (kinesis_consumer.h)
// Global options are accepted before or after the command. Output and exit
// codes: cli_output.h.
#pragma once

namespace evsrc::directory {

// Parses `argv`, runs the command, returns the process exit code. Never
// throws.
int run_directory_cli(int argc, char** argv);

}  // namespace evsrc::directory
