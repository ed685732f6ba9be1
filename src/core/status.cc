#include "evsrc/status.h"

namespace evsrc {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::wrong_expected_revision: return "wrong_expected_revision";
    case ErrorCode::stream_deleted: return "stream_deleted";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::idempotency_conflict: return "idempotency_conflict";
    case ErrorCode::too_large: return "too_large";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::corruption: return "corruption";
    case ErrorCode::closed: return "closed";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::rejected: return "rejected";
    case ErrorCode::unavailable: return "unavailable";
  }
  return "unknown";
}

Status Status::wrong_expected_revision(std::optional<std::uint64_t> actual, std::string message) {
  Status status(ErrorCode::wrong_expected_revision, std::move(message));
  status.actual_revision_ = actual;
  return status;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string text(error_code_name(code_));
  if (!message_.empty()) {
    text += ": ";
    text += message_;
  }
  return text;
}

}  // namespace evsrc
