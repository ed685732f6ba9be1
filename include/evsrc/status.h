// Status and Result: the error model of every evsrc call.
//
// Every fallible call returns a [[nodiscard]] Status or Result<T>. The code
// says what the caller should do next:
//   wrong_expected_revision  someone else wrote first: reload state and retry
//                            the command (actual_revision() tells where the
//                            stream is; nullopt means the stream does not exist)
//   stream_deleted           the stream is tombstoned: never retry
//   not_found                the stream / event does not exist
//   invalid_argument         the request is malformed: fix the request
//   idempotency_conflict     event ids already used at another place or with
//                            other content: the client reused ids wrongly
//   too_large                event or batch over a configured limit
//   io_error                 the disk failed; the store refuses writes until
//                            it is reopened (nothing unacknowledged was kept)
//   corruption               stored data failed its checksum: run verify
//   closed                   the store was closed
//   timeout                  a wait ran out (subscriptions)
//   rejected                 a command's decision refused the request (a
//                            business rule, e.g. "username taken"): do not
//                            retry the same request
//   unavailable              a resource ran out for a moment (file
//                            descriptors, the server's capacity): nothing was
//                            written and the store stays usable; retry later
//
// Thread-safety: values; safe to copy across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace evsrc {

// Persisted nowhere; stable because clients (CLI exit codes, HTTP error codes)
// map them. Append only.
enum class ErrorCode : std::uint8_t {
  ok = 0,
  wrong_expected_revision,
  stream_deleted,
  not_found,
  invalid_argument,
  idempotency_conflict,
  too_large,
  io_error,
  corruption,
  closed,
  timeout,
  rejected,
  unavailable,
};

// Stable snake_case name of a code, e.g. "wrong_expected_revision".
std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }
  static Status wrong_expected_revision(std::optional<std::uint64_t> actual, std::string message);
  static Status invalid_argument(std::string message) { return {ErrorCode::invalid_argument, std::move(message)}; }
  static Status not_found(std::string message) { return {ErrorCode::not_found, std::move(message)}; }
  static Status stream_deleted(std::string message) { return {ErrorCode::stream_deleted, std::move(message)}; }
  static Status too_large(std::string message) { return {ErrorCode::too_large, std::move(message)}; }
  static Status io_error(std::string message) { return {ErrorCode::io_error, std::move(message)}; }
  static Status corruption(std::string message) { return {ErrorCode::corruption, std::move(message)}; }
  static Status closed(std::string message) { return {ErrorCode::closed, std::move(message)}; }
  static Status timeout(std::string message) { return {ErrorCode::timeout, std::move(message)}; }
  static Status rejected(std::string message) { return {ErrorCode::rejected, std::move(message)}; }
  static Status unavailable(std::string message) { return {ErrorCode::unavailable, std::move(message)}; }
  static Status idempotency_conflict(std::string message) {
    return {ErrorCode::idempotency_conflict, std::move(message)};
  }

  bool ok() const { return code_ == ErrorCode::ok; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Only for wrong_expected_revision: the stream's actual last revision, or
  // nullopt when the stream does not exist (or is soft-deleted).
  std::optional<std::uint64_t> actual_revision() const { return actual_revision_; }

  // "wrong_expected_revision: expected 3, stream user-1 is at 5"
  std::string to_string() const;

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
  std::optional<std::uint64_t> actual_revision_;
};

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  // REQUIRES for Result(Status): !status.ok().

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; Status() (ok) when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace evsrc
