// Feeds: the fuzz bytes as the content of a checkpoint file read by
// CheckpointStore::load of open_file_checkpoints (src/kinesis/
// file_checkpoints.cc; the format save() writes is "<position>\n", but a file
// may be damaged or edited by hand). The files live in a private temporary
// directory, removed at exit.
// Asserts: no crash or sanitizer report; load returns a position exactly when
// the file is decimal digits (at most 64 bytes, optionally ending in one
// "\n") whose value fits a Position, and then that value; anything else is
// corruption, never another number.
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "decoder_fuzz.h"
#include "evsrc/checkpoint_store.h"

namespace {

struct Checkpoints {
  std::filesystem::path directory;
  std::unique_ptr<evsrc::CheckpointStore> store;
  ~Checkpoints() {
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }
};

Checkpoints& checkpoints() {
  static Checkpoints instance = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "evsrc-fuzz-checkpoints-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    EVSRC_FUZZ_CHECK(made != nullptr, "cannot create a temporary directory");
    auto store = evsrc::open_file_checkpoints(pattern);
    EVSRC_FUZZ_CHECK(store.ok(), "cannot open file checkpoints");
    return Checkpoints{pattern, std::move(store).value()};
  }();
  return instance;
}

// The position the file holds by the format, or nullopt.
std::optional<evsrc::Position> expected_position(std::string_view content) {
  if (content.size() > 64) return std::nullopt;
  if (content.ends_with('\n')) content.remove_suffix(1);
  evsrc::Position position = 0;
  const auto [end, error] = std::from_chars(content.data(), content.data() + content.size(), position);
  if (content.empty() || error != std::errc() || end != content.data() + content.size()) return std::nullopt;
  return position;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Checkpoints& files = checkpoints();
  const std::string_view content = evsrc::fuzz::as_text(data, size);
  {
    std::ofstream out(files.directory / "forwarder", std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    EVSRC_FUZZ_CHECK(out.good(), "cannot write the checkpoint file");
  }
  auto loaded = files.store->load("forwarder");
  const std::optional<evsrc::Position> expected = expected_position(content);
  if (expected) {
    EVSRC_FUZZ_CHECK(loaded.ok() && *loaded == expected, "a valid checkpoint file read as another position");
  } else {
    EVSRC_FUZZ_CHECK(!loaded.ok() && loaded.status().code() == evsrc::ErrorCode::corruption,
                     "a damaged checkpoint file read as a position");
  }
  return 0;
}
