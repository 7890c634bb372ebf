// Errors: a closed set of kinds (compare these, never the text), an errno, and a message
// that gains context on the way up: "unpack 'img:1': apply layer 2: open 'etc/x': ELOOP".
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace gantry {

enum class ErrorKind {
  not_found,
  already_exists,
  conflict,
  invalid_argument,
  failed_precondition,
  permission_denied,
  unavailable,
  not_implemented,
  internal,
};

std::string_view to_string(ErrorKind kind);
std::ostream& operator<<(std::ostream& os, ErrorKind kind);

// The kind that an errno value means for a caller (ENOENT -> not_found, EEXIST ->
// already_exists, EACCES/EPERM -> permission_denied, EINVAL -> invalid_argument, ...).
ErrorKind kind_from_errno(int errno_value);

class Error {
 public:
  Error(ErrorKind kind, std::string message, int errno_value = 0)
      : kind_(kind), errno_(errno_value), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  int errno_value() const { return errno_; }
  const std::string& message() const { return message_; }

  // Returns this error with "context: " in front of the message; kind and errno stay.
  Error with_context(std::string_view context) const&;
  Error with_context(std::string_view context) &&;

  // "message: ENOENT (No such file or directory)" when errno is set, else the message.
  std::string to_string() const;

 private:
  ErrorKind kind_;
  int errno_;
  std::string message_;
};

// An error from a failed system call: the kind follows the errno.
Error errno_error(int errno_value, std::string message);

// Name of an errno value, "ENOENT"; "errno 1234" when unknown.
std::string errno_name(int errno_value);

}  // namespace gantry
