// KinesisClient: the Kinesis API calls the forwarder and consumer make, as
// typed requests and responses (the seam tests wrap to inject failures).
// make_kinesis_client() speaks them over AwsJsonClient (SigV4, retries of
// transport errors and throttling as that client does).
//
// Thread-safety: implementations may be called from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "evsrc/kinesis.h"
#include "evsrc/status.h"

namespace evsrc {

struct KinesisPutEntry {
  std::string partition_key;
  std::string data;  // raw bytes (base64 on the wire)
};

// One entry of a PutRecords response, in request order: acknowledged
// (sequence_number, shard_id) or failed (error_code, error_message).
struct KinesisPutOutcome {
  std::string sequence_number;
  std::string shard_id;
  std::string error_code;
  std::string error_message;
  bool ok() const { return error_code.empty(); }
};

struct KinesisRecord {
  std::string sequence_number;
  std::string partition_key;
  std::string data;  // raw bytes
};

struct KinesisGetRecordsOutput {
  // ExpiredIteratorException: get a new iterator (the rest is empty).
  bool iterator_expired = false;
  std::vector<KinesisRecord> records;
  std::optional<std::string> next_iterator;  // nullopt: the shard is closed and read to its end
  std::int64_t millis_behind_latest = 0;
};

class KinesisClient {
 public:
  virtual ~KinesisClient() = default;
  // Statuses: not_found for a missing stream, rejected for access/credential
  // errors, invalid_argument for validation errors, io_error otherwise.
  virtual Status create_stream(std::string_view stream, int shard_count) = 0;  // ok when it exists
  // "CREATING", "ACTIVE", ...; not_found when absent.
  virtual Result<std::string> stream_status(std::string_view stream) = 0;
  virtual Result<std::vector<std::string>> list_shards(std::string_view stream) = 0;
  // REQUIRES: 1..500 entries. One outcome per entry, in order.
  virtual Result<std::vector<KinesisPutOutcome>> put_records(std::string_view stream,
                                                             std::span<const KinesisPutEntry> entries) = 0;
  // TRIM_HORIZON when `after_sequence_number` is nullopt, else AFTER_SEQUENCE_NUMBER.
  virtual Result<std::string> get_shard_iterator(std::string_view stream, std::string_view shard,
                                                 const std::optional<std::string>& after_sequence_number) = 0;
  virtual Result<KinesisGetRecordsOutput> get_records(std::string_view iterator, int limit) = 0;
};

// A client of the Kinesis endpoint (credentials from the environment / the
// shared file). invalid_argument for a bad stream name or no credentials.
Result<std::unique_ptr<KinesisClient>> make_kinesis_client(const KinesisEndpoint& endpoint);

// [A-Za-z0-9_.-]{1,128}; invalid_argument otherwise.
Status validate_kinesis_stream_name(std::string_view stream);

// Kinesis limits.
inline constexpr std::size_t kKinesisMaxRecordsPerPut = 500;
inline constexpr std::size_t kKinesisMaxBytesPerPut = 5 * 1024 * 1024;  // data + partition keys
inline constexpr std::size_t kKinesisMaxRecordBytes = 1024 * 1024;      // data + partition key
inline constexpr std::size_t kKinesisMaxPartitionKeyBytes = 256;

// The partition key of an event of `stream`: the stream name when it has at
// most 256 bytes (Kinesis's limit), else a prefix plus a hash of the whole
// name (deterministic, so a stream always maps to one shard).
std::string kinesis_partition_key(std::string_view stream);

// Sleeps `duration` in short slices (20 ms) so that a stop() from another
// thread or a signal handler is seen soon; false when `stop` was set.
bool sleep_unless_stopped(const std::atomic<bool>& stop, std::chrono::milliseconds duration);

}  // namespace evsrc
