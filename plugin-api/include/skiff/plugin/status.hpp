// Status and Result<T>: how every call across the plugin boundary reports failure.
// No exception ever crosses the boundary; a plugin catches its own and returns a Status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace skiff::plugin {

// Codes mirror the Kubernetes Status reasons the API layer maps them to.
enum class Code : std::uint8_t {
  kOk = 0,
  kInvalid,          // 422: the object or request is malformed
  kBadRequest,       // 400
  kNotFound,         // 404
  kAlreadyExists,    // 409
  kConflict,         // 409: stale resourceVersion / precondition failed
  kExpired,          // 410: resourceVersion too old
  kUnavailable,      // 503: backend not reachable, try again
  kInternal,         // 500
  kUnschedulable,    // a normal "does not fit" answer from a scheduler filter
  kUnsupportedMediaType,  // 415: a request body in a format the server does not read
};

std::string_view code_name(Code code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const noexcept { return code_ == Code::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // Prefixes the message with where the failure happened ("plugin sqlite: ...").
  Status with_context(std::string_view where) const {
    if (is_ok()) return *this;
    return {code_, std::string(where) + ": " + message_};
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
inline Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status already_exists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
inline Status expired(std::string m) { return {Code::kExpired, std::move(m)}; }
inline Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status bad_request(std::string m) { return {Code::kBadRequest, std::move(m)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return is_ok(); }
  const Status& status() const noexcept { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

inline std::string_view code_name(Code code) noexcept {
  switch (code) {
    case Code::kOk: return "Ok";
    case Code::kInvalid: return "Invalid";
    case Code::kBadRequest: return "BadRequest";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kConflict: return "Conflict";
    case Code::kExpired: return "Expired";
    case Code::kUnavailable: return "Unavailable";
    case Code::kInternal: return "Internal";
    case Code::kUnschedulable: return "Unschedulable";
    case Code::kUnsupportedMediaType: return "UnsupportedMediaType";
  }
  return "Unknown";
}

}  // namespace skiff::plugin
