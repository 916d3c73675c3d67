// Status and Expected<T>: the error channel for everything that touches outside input.
#pragma once
#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace qs {

// What kind of failure; the command line maps these to exit codes.
enum class ErrorKind {
  kInvalidInput,  // malformed model, input, cache, plan: exit 3
  kUnsupported,   // well-formed but outside what qscope implements: exit 3
  kUsage,         // bad command-line usage: exit 2
  kIo,            // file cannot be read or written: exit 3
  kInternal,      // a broken invariant
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  Status(ErrorKind kind, std::string message) : ok_(false), kind_(kind), message_(std::move(message)) {}

  bool ok() const { return ok_; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }

  // Adds context in front of the message: "cannot load 'm.onnx': " + message.
  Status WithPrefix(const std::string& prefix) const {
    if (ok_) return *this;
    return Status(kind_, prefix + message_);
  }

 private:
  bool ok_ = true;
  ErrorKind kind_ = ErrorKind::kInternal;
  std::string message_;
};

template <typename... Args>
Status InvalidInput(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorKind::kInvalidInput, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status Unsupported(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorKind::kUnsupported, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status IoError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorKind::kIo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status UsageError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorKind::kUsage, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status InternalError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(ErrorKind::kInternal, fmt::format(f, std::forward<Args>(args)...));
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Expected(Status status) : v_(std::move(status)) {}   // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace qs

#define QS_CONCAT_INNER(a, b) a##b
#define QS_CONCAT(a, b) QS_CONCAT_INNER(a, b)

#define QS_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::qs::Status qs_status_ = (expr);     \
    if (!qs_status_.ok()) return qs_status_; \
  } while (0)

#define QS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// QS_ASSIGN_OR_RETURN(auto x, MakeX()); returns the Status when MakeX fails.
#define QS_ASSIGN_OR_RETURN(lhs, expr) QS_ASSIGN_OR_RETURN_IMPL(QS_CONCAT(qs_expected_, __LINE__), lhs, expr)
