// Status and StatusOr: rotor's error currency. No exceptions cross a layer.
//
// An OK Status holds nothing but its code. Thread-compatible (a value type).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace rotor {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input: a config value, a flag, a malformed record
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,  // e.g. data dir locked by another daemon, wrong format version
  kUnavailable,         // transient: retry may succeed
  kDataLoss,            // corruption detected: a broken hash chain, a truncated journal
  kPermissionDenied,    // a rejection that retrying the same input cannot fix
  kResourceExhausted,
  kAborted,  // simulated crash, lost lease
  kInternal,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // ToString returns "OK" or "<code name>: <message>".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status DataLoss(std::string m) {
  return {StatusCode::kDataLoss, std::move(m)};
}
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Internal(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status Aborted(std::string m) {
  return {StatusCode::kAborted, std::move(m)};
}

// IsTransient reports whether retrying the same operation may succeed.
inline bool IsTransient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kResourceExhausted;
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Internal("StatusOr constructed from OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define ROTOR_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::rotor::Status rotor_status_ = (expr);        \
    if (!rotor_status_.ok()) return rotor_status_; \
  } while (0)

#define ROTOR_CONCAT_INNER(a, b) a##b
#define ROTOR_CONCAT(a, b) ROTOR_CONCAT_INNER(a, b)
#define ROTOR_ASSIGN_OR_RETURN(lhs, expr) \
  ROTOR_ASSIGN_OR_RETURN_IMPL(ROTOR_CONCAT(rotor_statusor_, __LINE__), lhs, expr)
#define ROTOR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

}  // namespace rotor
