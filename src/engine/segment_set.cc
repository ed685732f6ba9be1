#include "engine/segment_set.h"

#include <algorithm>
#include <cstdio>

namespace evsrc {
namespace {

constexpr std::string_view kPrefix = "segment-";
constexpr std::string_view kSuffix = ".evlog";

std::optional<std::uint64_t> parse_file_name(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 19) return std::nullopt;
  std::uint64_t number = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return number;
}

// True when the first bytes after the header of a segment are all zero: no
// group was ever written to it (groups start right after the header).
Result<bool> never_written_after_header(const File& file) {
  std::string bytes(1 << 20, '\0');
  std::size_t read = 0;
  if (Status status = file.read_at(log::kSegmentHeaderSize, bytes.size(), bytes.data(), &read); !status.ok()) {
    return status;
  }
  for (std::size_t i = 0; i < read; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

std::string SegmentSet::file_name(std::uint64_t number) {
  char name[64];
  std::snprintf(name, sizeof(name), "segment-%012llu.evlog", static_cast<unsigned long long>(number));
  return name;
}

Status SegmentSet::load() {
  auto names = env_->list_dir(directory_);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> numbers;
  for (const std::string& name : *names) {
    if (auto number = parse_file_name(name)) numbers.push_back(*number);
  }
  std::sort(numbers.begin(), numbers.end());
  auto segments = std::make_shared<SegmentList>();
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const std::string path = directory_ + "/" + file_name(numbers[i]);
    if (i > 0 && numbers[i] != numbers[i - 1] + 1) {
      return Status::corruption("log segment " + file_name(numbers[i - 1] + 1) + " is missing in " + directory_);
    }
    auto file = env_->open_file(path, Env::OpenMode::read_write);
    if (!file.ok()) return file.status();
    std::string bytes(log::kSegmentHeaderSize, '\0');
    std::size_t read = 0;
    if (Status status = (*file)->read_at(0, bytes.size(), bytes.data(), &read); !status.ok()) return status;
    auto header = log::decode_segment_header(std::string_view(bytes.data(), read));
    if (!header.ok() || header->number != numbers[i]) {
      const bool last = i + 1 == numbers.size();
      auto empty = last ? never_written_after_header(**file) : Result<bool>(false);
      if (!empty.ok()) return empty.status();
      if (*empty) {
        // Torn while being created: the previous segment was complete and
        // synced before this one was started, and no group reached it. A
        // damaged header over written groups is corruption, reported below.
        (void)(*file)->close();
        if (Status status = env_->remove_file(path); !status.ok()) return status;
        if (Status status = env_->sync_dir(directory_); !status.ok()) return status;
        break;
      }
      return Status::corruption(path + ": " + (header.ok() ? "segment number mismatch" : header.status().message()));
    }
    auto segment = std::make_shared<Segment>();
    segment->header = *header;
    segment->path = path;
    segment->file = std::shared_ptr<File>(std::move(*file));
    map(*segment);
    segments->push_back(std::move(segment));
  }
  std::lock_guard lock(mutex_);
  segments_ = std::move(segments);
  return Status();
}

Result<std::shared_ptr<const Segment>> SegmentSet::create(std::uint64_t number, Position first_position,
                                                          std::uint64_t capacity) {
  const std::string path = directory_ + "/" + file_name(number);
  // Out of descriptors (unavailable): nothing is left behind and the caller
  // may try again later. The file may be made already (syncing the directory
  // needs a descriptor too): nothing refers to it yet, so it is removed, and
  // a retry (perhaps at a later first position, once smaller appends filled
  // the current segment) starts anew. Any other failure is an io_error.
  auto file = env_->open_file(path, Env::OpenMode::create);
  if (!file.ok()) return file.status();
  const auto failed = [&](const Status& status) -> Status {
    if (status.code() != ErrorCode::unavailable) return status;
    (void)(*file)->close();
    if (Status removed = env_->remove_file(path); !removed.ok()) {
      return Status::io_error(status.message() + "; then removing the new segment " + path +
                              " failed: " + removed.message());
    }
    return status;
  };
  log::SegmentHeader header{number, first_position, capacity};
  if (Status status = (*file)->allocate(capacity); !status.ok()) return failed(status);
  if (Status status = (*file)->write_at(0, log::encode_segment_header(header)); !status.ok()) return failed(status);
  if (Status status = (*file)->sync(); !status.ok()) return failed(status);
  if (Status status = env_->sync_dir(directory_); !status.ok()) return failed(status);
  auto segment = std::make_shared<Segment>();
  segment->header = header;
  segment->path = path;
  segment->file = std::shared_ptr<File>(std::move(*file));
  map(*segment);
  std::lock_guard lock(mutex_);
  auto segments = std::make_shared<SegmentList>(*segments_);
  segments->push_back(segment);
  segments_ = std::move(segments);
  return std::shared_ptr<const Segment>(segment);
}

void SegmentSet::map(Segment& segment) {
  // Mappings are bounded (vm.max_map_count is a process-wide 65530 by
  // default): segments below kMinMappedSegmentBytes and those past the first
  // kMaxMappedSegments are read with pread. A file shorter than its capacity
  // (damaged) is not mapped either (map_read_only refuses it): pread reports
  // the short read instead of faulting.
  if (!map_reads_ || segment.header.capacity < kMinMappedSegmentBytes || mapped_count_ >= kMaxMappedSegments) return;
  segment.mapped = segment.file->map_read_only(segment.header.capacity);
  if (segment.mapped != nullptr) ++mapped_count_;
}

void SegmentSet::map_for_readers() {
  map_reads_ = true;
  auto segments = std::make_shared<SegmentList>();
  for (const std::shared_ptr<const Segment>& loaded : *snapshot()) {
    auto segment = std::make_shared<Segment>(*loaded);
    if (segment->mapped == nullptr) map(*segment);
    segments->push_back(std::move(segment));
  }
  std::lock_guard lock(mutex_);
  segments_ = std::move(segments);
}

std::shared_ptr<const SegmentList> SegmentSet::snapshot() const {
  std::lock_guard lock(mutex_);
  return segments_;
}

}  // namespace evsrc
