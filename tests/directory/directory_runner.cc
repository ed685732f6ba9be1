#include "directory/directory_runner.h"

namespace evsrc::directory_test {

RunResult run_directory(const std::vector<std::string>& args) {
  return cli_test::run_program(EVSRC_DIRECTORY_PATH, args);
}

}  // namespace evsrc::directory_test
