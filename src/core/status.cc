#include "core/status.h"

namespace vontres {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return "ok";
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kUnauthenticated: return "unauthenticated";
    case ErrorKind::kPermissionDenied: return "permission_denied";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kAlreadyExists: return "already_exists";
    case ErrorKind::kFailedPrecondition: return "failed_precondition";
    case ErrorKind::kAborted: return "aborted";
    case ErrorKind::kResourceExhausted: return "resource_exhausted";
    case ErrorKind::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kUnimplemented: return "unimplemented";
    case ErrorKind::kInternal: return "internal";
  }
  return "unknown";
}

Status Status::with_context(std::string_view context) const {
  if (is_ok()) return *this;
  return Status(kind_, code_, std::string(context) + ": " + message_);
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code()) + ": " + message_;
}

Status invalid_argument(std::string m, std::string c) {
  return {ErrorKind::kInvalidArgument, std::move(c), std::move(m)};
}
Status unauthenticated(std::string m, std::string c) {
  return {ErrorKind::kUnauthenticated, std::move(c), std::move(m)};
}
Status permission_denied(std::string m, std::string c) {
  return {ErrorKind::kPermissionDenied, std::move(c), std::move(m)};
}
Status not_found(std::string m, std::string c) { return {ErrorKind::kNotFound, std::move(c), std::move(m)}; }
Status already_exists(std::string m, std::string c) { return {ErrorKind::kAlreadyExists, std::move(c), std::move(m)}; }
Status failed_precondition(std::string m, std::string c) {
  return {ErrorKind::kFailedPrecondition, std::move(c), std::move(m)};
}
Status aborted(std::string m, std::string c) { return {ErrorKind::kAborted, std::move(c), std::move(m)}; }
Status resource_exhausted(std::string m, std::string c) {
  return {ErrorKind::kResourceExhausted, std::move(c), std::move(m)};
}
Status deadline_exceeded(std::string m, std::string c) {
  return {ErrorKind::kDeadlineExceeded, std::move(c), std::move(m)};
}
Status unavailable(std::string m, std::string c) { return {ErrorKind::kUnavailable, std::move(c), std::move(m)}; }
Status unimplemented(std::string m, std::string c) { return {ErrorKind::kUnimplemented, std::move(c), std::move(m)}; }
Status internal_error(std::string m, std::string c) { return {ErrorKind::kInternal, std::move(c), std::move(m)}; }

}  // namespace vontres
