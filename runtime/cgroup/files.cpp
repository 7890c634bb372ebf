#include "runtime/cgroup/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <sstream>

#include "runtime/cgroup/hierarchy.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;

Result<void> write_control(const fs::path& path, std::string_view value) {
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return errno_error(errno, "write '" + std::string(value) + "' to '" + path.string() + "'");
  }
  if (static_cast<size_t>(n) != value.size()) {
    return Error(ErrorKind::internal, "short write to '" + path.string() + "'");
  }
  return ok();
}

Result<void> write_limit(const fs::path& dir, const std::string& file, const std::string& value,
                         const std::string& field) {
  auto r = write_control(dir / file, value);
  if (r) return ok();
  int e = r.error().errno_value();
  ErrorKind kind = ErrorKind::invalid_argument;
  std::string why;
  if (e == ENOENT) {
    kind = ErrorKind::not_implemented;
    why = " (this kernel or cgroup layout has no such file)";
  } else if (e == EOPNOTSUPP) {
    kind = ErrorKind::not_implemented;
  } else if (e == EACCES || e == EROFS) {
    kind = ErrorKind::permission_denied;
  }
  return Error(kind, field + ": " + r.error().message() + why, e);
}

Result<std::string> read_trimmed(const fs::path& path) {
  GANTRY_ASSIGN_OR_RETURN(std::string s, read_text(path));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<uint64_t> read_u64(const fs::path& path) {
  auto s = read_trimmed(path);
  if (!s) return std::nullopt;
  if (*s == "max") return UINT64_MAX;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size()) return std::nullopt;
  return v;
}

std::map<std::string, uint64_t> read_keyed(const fs::path& path) {
  std::map<std::string, uint64_t> out;
  auto s = read_text(path);
  if (!s) return out;
  std::istringstream in(*s);
  std::string key, value;
  while (in >> key >> value) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && p == value.data() + value.size()) out[key] = v;
  }
  return out;
}

}  // namespace gantry::runtime::cgroup
