#include "model/base/error.h"

#include <cerrno>
#include <cstring>
#include <ostream>

namespace gantry {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::already_exists: return "already_exists";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::failed_precondition: return "failed_precondition";
    case ErrorKind::permission_denied: return "permission_denied";
    case ErrorKind::unavailable: return "unavailable";
    case ErrorKind::not_implemented: return "not_implemented";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

std::ostream& operator<<(std::ostream& os, ErrorKind kind) { return os << to_string(kind); }

ErrorKind kind_from_errno(int e) {
  switch (e) {
    case ENOENT:
    case ESRCH:
    case ENXIO:
      return ErrorKind::not_found;
    case EEXIST:
      return ErrorKind::already_exists;
    case EBUSY:
    case ENOTEMPTY:
    case ETXTBSY:
      return ErrorKind::conflict;
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
    case EXDEV:
    case ENOTDIR:
    case EISDIR:
      return ErrorKind::invalid_argument;
    case EACCES:
    case EPERM:
    case EROFS:
      return ErrorKind::permission_denied;
    case EAGAIN:
    case EINTR:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ETIMEDOUT:
    case ECONNREFUSED:
      return ErrorKind::unavailable;
    case ENOSYS:
    case EOPNOTSUPP:
      return ErrorKind::not_implemented;
    default:
      return ErrorKind::internal;
  }
}

std::string errno_name(int e) {
  const char* name = strerrorname_np(e);
  if (name == nullptr) return "errno " + std::to_string(e);
  return name;
}

Error Error::with_context(std::string_view context) const& {
  Error copy = *this;
  return std::move(copy).with_context(context);
}

Error Error::with_context(std::string_view context) && {
  std::string m;
  m.reserve(context.size() + 2 + message_.size());
  m.append(context).append(": ").append(message_);
  message_ = std::move(m);
  return std::move(*this);
}

std::string Error::to_string() const {
  if (errno_ == 0) return message_;
  return message_ + ": " + errno_name(errno_) + " (" + strerrordesc_np(errno_) + ")";
}

Error errno_error(int errno_value, std::string message) {
  return Error(kind_from_errno(errno_value), std::move(message), errno_value);
}

}  // namespace gantry
