// Runs every TEST_P(ToolkitTest, ...) once per backend.
#include "toolkit/counter.h"

namespace evsrc_test {

INSTANTIATE_TEST_SUITE_P(Backends, ToolkitTest, ::testing::Values("memory", "file"), backend_name);

}  // namespace evsrc_test
