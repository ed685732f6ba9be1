// The raw ceiling: what the file system itself allows for durable commits.
//
// A preallocated file (written once in full, so later writes overwrite
// allocated blocks) is overwritten sequentially in commits of
// records_per_commit records of record_bytes each, one fdatasync per commit,
// wrapping around at its end. This is the upper bound of any log engine on
// that file system with the same commit size.
#pragma once

#include <cstddef>
#include <string>

#include "bench/bench_stats.h"
#include "evsrc/status.h"

namespace evsrc::bench {

class RawCeilingFile {
 public:
  // Creates and preallocates `path` (written with `file_bytes` of data and
  // synced). REQUIRES: the file is removed by the caller.
  static Result<RawCeilingFile> create(const std::string& path, std::size_t file_bytes);

  RawCeilingFile(RawCeilingFile&& other) noexcept;
  RawCeilingFile& operator=(RawCeilingFile&&) = delete;
  ~RawCeilingFile();

  // Measures commits of `records_per_commit` records within `budget`
  // (events = records). Latencies are per commit (write + fdatasync).
  Result<WorkloadResult> measure(std::size_t record_bytes, std::size_t records_per_commit, const Budget& budget);

 private:
  RawCeilingFile(int fd, std::size_t file_bytes) : fd_(fd), file_bytes_(file_bytes) {}
  int fd_ = -1;
  std::size_t file_bytes_ = 0;
};

}  // namespace evsrc::bench
