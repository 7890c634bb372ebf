#include "runtime/sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

#include "runtime/sys/fd.h"

namespace gantry::runtime::sys {

namespace {

// An l*xattr path for dir_fd/name: the kernel follows the /proc magic link to the directory
// (which is where dir_fd already is) and then does not follow name.
std::string proc_path(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

}  // namespace

Result<void> write_all(int fd, std::span<const uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "write");
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return ok();
}

Result<void> write_all(int fd, std::string_view data) {
  return write_all(fd, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

Result<void> pwrite_all(int fd, std::span<const uint8_t> data, uint64_t offset) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "pwrite");
    }
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok();
}

Result<std::string> read_all(int fd) {
  return read_all(fd, INT64_MAX);
}

Result<std::string> read_all(int fd, int64_t max_size_bytes) {
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= max_size_bytes) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read");
    }
    if (n == 0) return out;
    if (static_cast<int64_t>(out.size()) + n > max_size_bytes) {
      return Error(ErrorKind::invalid_argument,
                   "larger than " + std::to_string(max_size_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view bytes, int mode) {
  std::filesystem::path target = dir / std::string(name);
  std::string tmpl = (dir / ("." + std::string(name) + ".tmp-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  UniqueFd fd(::mkostemp(buf.data(), O_CLOEXEC));
  if (!fd) return errno_error(errno, "create temp file for '" + target.string() + "'");
  std::string tmp = buf.data();
  auto fail = [&](Error e) -> Result<void> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    return fail(errno_error(errno, "chmod '" + tmp + "'"));
  }
  if (auto r = write_all(fd.get(), bytes); !r) {
    return fail(std::move(r).error().with_context("'" + tmp + "'"));
  }
  if (::fsync(fd.get()) != 0) return fail(errno_error(errno, "fsync '" + tmp + "'"));
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return fail(errno_error(errno, "rename '" + tmp + "' to '" + target.string() + "'"));
  }
  return fsync_dir(dir);
}

Result<void> fsync_dir(int dir_fd) {
  if (::fsync(dir_fd) != 0) return errno_error(errno, "fsync directory");
  return ok();
}

Result<void> fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open directory '" + dir.string() + "'");
  GANTRY_TRY_CTX(fsync_dir(fd.get()), "'" + dir.string() + "'");
  return ok();
}

Result<std::vector<std::string>> list_dir(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "open directory");
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return errno_error(e, "fdopendir");
  }
  std::vector<std::string> out;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string_view n(de->d_name);
    if (n != "." && n != "..") out.emplace_back(n);
    errno = 0;
  }
  int e = errno;
  ::closedir(d);
  if (e != 0) return errno_error(e, "readdir");
  return out;
}

Result<void> remove_tree_at(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0) return ok();
  if (errno == ENOENT) return ok();
  if (errno != EISDIR && errno != EPERM) return errno_error(errno, "remove '" + name + "'");
  // A directory (EISDIR on Linux; EPERM elsewhere): empty it, then remove it.
  UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) {
    if (errno == ENOENT) return ok();
    return errno_error(errno, "open directory '" + name + "' to remove it");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(auto children, list_dir(sub.get()), "list '" + name + "'");
  for (const auto& child : children) {
    GANTRY_TRY_CTX(remove_tree_at(sub.get(), child), "'" + name + "'");
  }
  sub.reset();
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return errno_error(errno, "remove directory '" + name + "'");
  }
  return ok();
}

Result<void> copy_data(int from_fd, int to_fd) {
  for (;;) {
    ssize_t n = ::copy_file_range(from_fd, nullptr, to_fd, nullptr, 1 << 30, 0);
    if (n == 0) return ok();
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
    return errno_error(errno, "copy_file_range");
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "read");
    }
    if (n == 0) return ok();
    GANTRY_TRY(write_all(to_fd, std::string_view(buf, static_cast<size_t>(n))));
  }
}

Result<void> set_xattr_at(int dir_fd, const std::string& name, const std::string& key,
                          std::string_view value) {
  std::string p = proc_path(dir_fd, name);
  if (::lsetxattr(p.c_str(), key.c_str(), value.data(), value.size(), 0) != 0) {
    return errno_error(errno, "set xattr '" + key + "' on '" + name + "'");
  }
  return ok();
}

Result<std::optional<std::string>> get_xattr_at(int dir_fd, const std::string& name,
                                                const std::string& key) {
  std::string p = proc_path(dir_fd, name);
  for (;;) {
    ssize_t n = ::lgetxattr(p.c_str(), key.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA || errno == ENOTSUP) return std::optional<std::string>();
      return errno_error(errno, "get xattr '" + key + "' of '" + name + "'");
    }
    std::string value(static_cast<size_t>(n), '\0');
    n = ::lgetxattr(p.c_str(), key.c_str(), value.data(), value.size());
    if (n < 0 && errno == ERANGE) continue;  // grew in between
    if (n < 0) return errno_error(errno, "get xattr '" + key + "' of '" + name + "'");
    value.resize(static_cast<size_t>(n));
    return std::optional<std::string>(std::move(value));
  }
}

Result<std::vector<std::pair<std::string, std::string>>> list_xattrs_at(int dir_fd,
                                                                        const std::string& name) {
  std::string p = proc_path(dir_fd, name);
  std::string names;
  for (;;) {
    ssize_t n = ::llistxattr(p.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return std::vector<std::pair<std::string, std::string>>();
      return errno_error(errno, "list xattrs of '" + name + "'");
    }
    names.assign(static_cast<size_t>(n), '\0');
    n = ::llistxattr(p.c_str(), names.data(), names.size());
    if (n < 0 && errno == ERANGE) continue;
    if (n < 0) return errno_error(errno, "list xattrs of '" + name + "'");
    names.resize(static_cast<size_t>(n));
    break;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < names.size();) {
    std::string key(names.c_str() + i);
    i += key.size() + 1;
    if (key.empty()) continue;
    GANTRY_ASSIGN_OR_RETURN(auto value, get_xattr_at(dir_fd, name, key));
    if (value) out.emplace_back(std::move(key), std::move(*value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gantry::runtime::sys
