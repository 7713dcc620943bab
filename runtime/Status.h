//===- Status.h - Error values carried up to the tool's main ----*- C++ -*-===//
//
// The runtime reports every failure as a value: a Status that is either OK or
// carries one line naming the file, tensor or argument at fault and what was
// expected. Tools print it once, in main, and exit non-zero.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_STATUS_H
#define INFINI_RUNTIME_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace infini::rt {

/// The outcome of a runtime call: OK, or an error with a one-line message.
class [[nodiscard]] Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status status;
    status.errorMessage = std::move(message);
    return status;
  }

  bool isOk() const { return !errorMessage.has_value(); }
  explicit operator bool() const { return isOk(); }
  const std::string &message() const {
    static const std::string empty;
    return errorMessage ? *errorMessage : empty;
  }

private:
  std::optional<std::string> errorMessage;
};

/// A value or the error that prevented computing it.
template <typename T> class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : storedValue(std::move(value)) {}
  StatusOr(Status status) : storedStatus(std::move(status)) {
    assert(!storedStatus.isOk() && "StatusOr built from an OK status");
  }

  bool isOk() const { return storedValue.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status &status() const { return storedStatus; }
  T &value() { return *storedValue; }
  const T &value() const { return *storedValue; }
  T &operator*() { return *storedValue; }
  T *operator->() { return &*storedValue; }

private:
  std::optional<T> storedValue;
  Status storedStatus;
};

} // namespace infini::rt

/// Returns early from the enclosing function when `expr` yields an error.
#define INFINI_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    ::infini::rt::Status infiniStatus = (expr);                                \
    if (!infiniStatus.isOk())                                                  \
      return infiniStatus;                                                     \
  } while (false)

#endif // INFINI_RUNTIME_STATUS_H
