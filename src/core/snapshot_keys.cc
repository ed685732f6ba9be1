#include "core/snapshot_keys.h"

#include "evsrc/event_store.h"
#include "evsrc/snapshot_store.h"

namespace evsrc {

Status validate_view_name(std::string_view view) {
  if (view.empty() || view.size() > 255) return Status::invalid_argument("view name must be 1..255 bytes");
  if (view.find('\0') != std::string_view::npos) return Status::invalid_argument("view name must not contain NUL");
  return Status();
}

namespace snapshot_keys {
namespace {

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

}  // namespace

Status validate(std::string_view stream, std::string_view view) {
  if (Status status = validate_stream_name(stream); !status.ok()) return status;
  return validate_view_name(view);
}

std::string series(std::string_view stream, std::string_view view, std::uint32_t view_version) {
  std::string out;
  out.reserve(stream.size() + view.size() + 6);
  out.append(stream);
  out.push_back('\0');
  out.append(view);
  out.push_back('\0');
  put_be(out, view_version, 4);
  return out;
}

std::string key(std::string_view series, StreamRevision revision) {
  std::string out(series);
  put_be(out, revision, 8);
  return out;
}

std::optional<StreamRevision> revision_in(std::string_view key, std::string_view series) {
  if (key.size() != series.size() + 8 || key.substr(0, series.size()) != series) return std::nullopt;
  StreamRevision revision = 0;
  for (std::size_t i = series.size(); i < key.size(); ++i) {
    revision = (revision << 8) | static_cast<unsigned char>(key[i]);
  }
  return revision;
}

}  // namespace snapshot_keys
}  // namespace evsrc
