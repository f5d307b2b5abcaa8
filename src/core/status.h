// Errors as values. A Status is either OK or carries a category (ErrorKind), a stable
// machine-readable code string (e.g. "queue_not_found", "token_expired") that the API
// returns unchanged, and a human-readable message. Result<T> holds a T or a non-OK Status.
//
// Thread-safety: value types; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vontres {

// Broad categories. The HTTP layer maps each to a status code (see api/errors.h).
enum class ErrorKind {
  kOk = 0,
  kInvalidArgument,     // 400: the caller sent something malformed
  kUnauthenticated,     // 401: no or bad credentials
  kPermissionDenied,    // 403: authenticated but not allowed
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409/412: state does not allow it
  kAborted,             // 409: concurrent modification, retry
  kResourceExhausted,   // 429/503: back-pressure, rate limit, capacity
  kDeadlineExceeded,    // 504
  kUnavailable,         // 503: a backend is down; retry later
  kUnimplemented,       // 501
  kInternal,            // 500: a bug or an unexpected library failure
};

// Returns the generic code string of a kind ("invalid_argument", "not_found", ...).
std::string_view error_kind_name(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorKind kind, std::string code, std::string message)
      : kind_(kind), code_(std::move(code)), message_(std::move(message)) {
    assert(kind != ErrorKind::kOk);
  }

  static Status ok() { return {}; }

  bool is_ok() const { return kind_ == ErrorKind::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorKind kind() const { return kind_; }
  // Stable code; for OK returns "ok".
  std::string_view code() const { return is_ok() ? std::string_view("ok") : std::string_view(code_); }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `.
  Status with_context(std::string_view context) const;

  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) { return a.kind_ == b.kind_ && a.code_ == b.code_; }

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string code_;
  std::string message_;
};

// Helpers that read like the error they make. `code` defaults to the kind's generic name.
Status invalid_argument(std::string message, std::string code = "invalid_argument");
Status unauthenticated(std::string message, std::string code = "unauthenticated");
Status permission_denied(std::string message, std::string code = "permission_denied");
Status not_found(std::string message, std::string code = "not_found");
Status already_exists(std::string message, std::string code = "already_exists");
Status failed_precondition(std::string message, std::string code = "failed_precondition");
Status aborted(std::string message, std::string code = "aborted");
Status resource_exhausted(std::string message, std::string code = "resource_exhausted");
Status deadline_exceeded(std::string message, std::string code = "deadline_exceeded");
Status unavailable(std::string message, std::string code = "unavailable");
Status unimplemented(std::string message, std::string code = "unimplemented");
Status internal_error(std::string message, std::string code = "internal");

// Result<T>: a value or an error. Accessing value() of an error is a programmer error (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).is_ok() && "Result constructed from OK status");
  }

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }

  const T& value() const& {
    assert(is_ok());
    return std::get<T>(data_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The error; OK if this holds a value.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(data_); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return is_ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Status> data_;
};

}  // namespace vontres

// Propagates a non-OK Status from an expression returning Status.
#define VONTRES_RETURN_IF_ERROR(expr)                     \
  do {                                                    \
    ::vontres::Status vontres_status_ = (expr);           \
    if (!vontres_status_.is_ok()) return vontres_status_; \
  } while (0)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration and `tmp` an identifier.
#define VONTRES_CONCAT_INNER(a, b) a##b
#define VONTRES_CONCAT(a, b) VONTRES_CONCAT_INNER(a, b)
#define VONTRES_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

// `VONTRES_ASSIGN_OR_RETURN(auto x, make_x());` assigns the value or returns the error.
#define VONTRES_ASSIGN_OR_RETURN(lhs, expr) \
  VONTRES_ASSIGN_OR_RETURN_IMPL(VONTRES_CONCAT(vontres_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
