// Runs the built evsrc-directory binary (EVSRC_DIRECTORY_PATH) against one
// store and captures what it printed and its exit code (through the CLI
// tests' runner, tests/cli/cli_runner.h, which this suite also compiles).
#pragma once

#include <string>
#include <vector>

#include "cli/cli_runner.h"

namespace evsrc::directory_test {

using Json = cli_test::Json;
using RunResult = cli_test::CliResult;
using TempDir = cli_test::TempDir;

// Runs `evsrc-directory args...` (empty stdin) and waits for it.
RunResult run_directory(const std::vector<std::string>& args);

}  // namespace evsrc::directory_test
