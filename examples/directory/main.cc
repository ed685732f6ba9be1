// evsrc-directory: the user-directory example's command-line front end (cli.h).
#include "directory/cli.h"

int main(int argc, char** argv) { return evsrc::directory::run_directory_cli(argc, argv); }
