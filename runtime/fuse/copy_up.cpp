#include "runtime/fuse/copy_up.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

namespace gantry::runtime::fuse {
namespace {

using sys::UniqueFd;

Result<void> copy_xattrs_fd(int src_fd, int dst_fd);

bool skip_xattr(std::string_view name) {
  return name.rfind(kOverlayXattrPrefix, 0) == 0 || name == "security.selinux";
}

Result<void> copy_data(int src, int dst, off_t size, const std::string& rel) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, size - done, 0);
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      n = ::sendfile(dst, src, nullptr, size - done);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "copy up data of '" + rel + "'");
    }
    if (n == 0) break;  // the file shrank; lowers should not, but do not spin
    done += n;
  }
  return ok();
}

Result<void> copy_regular(const LayerStack& layers, int from, const std::string& rel,
                          const struct stat& st, bool with_data) {
  UniqueFd src(::openat(layers.fd(from), rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!src) return errno_error(errno, "copy up: open lower '" + rel + "'");
  std::string parent = std::filesystem::path(rel).parent_path().string();
  std::string name = std::filesystem::path(rel).filename().string();
  UniqueFd dir(::openat(layers.fd(0), at_path(parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error(errno, "copy up: open upper dir of '" + rel + "'");
  UniqueFd dst(::openat(dir.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, st.st_mode & 07777));
  bool tmpfile = dst.valid();
  if (!tmpfile) {
    dst.reset(::openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
                       st.st_mode & 07777));
    if (!dst) return errno_error(errno, "copy up: create '" + rel + "'");
  }
  if (with_data) GANTRY_TRY(copy_data(src.get(), dst.get(), st.st_size, rel));
  if (::fchown(dst.get(), st.st_uid, st.st_gid) != 0) {
    return errno_error(errno, "copy up: chown '" + rel + "'");
  }
  if (::fchmod(dst.get(), st.st_mode & 07777) != 0) {
    return errno_error(errno, "copy up: chmod '" + rel + "'");
  }
  GANTRY_TRY_CTX(copy_xattrs_fd(src.get(), dst.get()), "copy up '" + rel + "'");
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst.get(), times) != 0) return errno_error(errno, "copy up: times '" + rel + "'");
  if (tmpfile) {
    if (::linkat(dst.get(), "", dir.get(), name.c_str(), AT_EMPTY_PATH) != 0 &&
        ::linkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(dst.get())).c_str(), dir.get(),
                 name.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return errno_error(errno, "copy up: link '" + rel + "'");
    }
  }
  return ok();
}

}  // namespace

namespace {

// The xattr calls of one kind of handle: a path (not following symlinks) or an fd.
struct XattrIo {
  std::function<ssize_t(char*, size_t)> list;
  std::function<ssize_t(const char*, void*, size_t)> get;
  std::function<int(const char*, const void*, size_t)> set;
};

Result<void> copy_xattrs_with(const XattrIo& src, const XattrIo& dst) {
  std::vector<char> names(4096);
  ssize_t n;
  while ((n = src.list(names.data(), names.size())) < 0 && errno == ERANGE) {
    names.resize(names.size() * 4);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return ok();
    return errno_error(errno, "list xattrs");
  }
  std::vector<char> value(4096);
  for (ssize_t off = 0; off < n; off += std::strlen(names.data() + off) + 1) {
    const char* name = names.data() + off;
    if (skip_xattr(name)) continue;
    ssize_t v;
    while ((v = src.get(name, value.data(), value.size())) < 0 && errno == ERANGE) {
      value.resize(value.size() * 4);
    }
    if (v < 0) {
      if (errno == ENODATA) continue;
      return errno_error(errno, std::string("get xattr ") + name);
    }
    if (dst.set(name, value.data(), v) != 0 && errno != ENOTSUP && errno != EPERM) {
      return errno_error(errno, std::string("set xattr ") + name);
    }
  }
  return ok();
}

XattrIo path_io(const std::string& p) {
  return {
      [p](char* b, size_t n) { return ::llistxattr(p.c_str(), b, n); },
      [p](const char* k, void* b, size_t n) { return ::lgetxattr(p.c_str(), k, b, n); },
      [p](const char* k, const void* b, size_t n) { return ::lsetxattr(p.c_str(), k, b, n, 0); }};
}

XattrIo fd_io(int fd) {
  return {[fd](char* b, size_t n) { return ::flistxattr(fd, b, n); },
          [fd](const char* k, void* b, size_t n) { return ::fgetxattr(fd, k, b, n); },
          [fd](const char* k, const void* b, size_t n) { return ::fsetxattr(fd, k, b, n, 0); }};
}

}  // namespace

Result<void> copy_xattrs(const std::string& src, const std::string& dst) {
  return copy_xattrs_with(path_io(src), path_io(dst));
}

namespace {
Result<void> copy_xattrs_fd(int src_fd, int dst_fd) {
  return copy_xattrs_with(fd_io(src_fd), fd_io(dst_fd));
}
}  // namespace

Result<void> restore_times(int dirfd, const std::string& rel, const struct stat& st) {
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dirfd, at_path(rel), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error(errno, "set times of '" + rel + "'");
  }
  return ok();
}

Result<void> copy_up(const LayerStack& layers, int from, const std::string& rel,
                     const struct stat& st, bool with_data) {
  int up = layers.fd(0);
  const char* p = rel.c_str();
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      return copy_regular(layers, from, rel, st, with_data);
    case S_IFDIR:
      if (::mkdirat(up, p, st.st_mode & 07777) != 0) {
        return errno_error(errno, "copy up: mkdir '" + rel + "'");
      }
      if (::fchmodat(up, p, st.st_mode & 07777, 0) != 0) {
        return errno_error(errno, "copy up: chmod '" + rel + "'");
      }
      break;
    case S_IFLNK: {
      std::vector<char> target(st.st_size + 1 > 4096 ? st.st_size + 1 : 4096);
      ssize_t n = ::readlinkat(layers.fd(from), p, target.data(), target.size());
      if (n < 0) return errno_error(errno, "copy up: readlink '" + rel + "'");
      target.resize(n);
      target.push_back('\0');
      if (::symlinkat(target.data(), up, p) != 0) {
        return errno_error(errno, "copy up: symlink '" + rel + "'");
      }
      break;
    }
    default:
      if (::mknodat(up, p, st.st_mode, st.st_rdev) != 0) {
        return errno_error(errno, "copy up: mknod '" + rel + "'");
      }
      break;
  }
  if (::fchownat(up, p, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error(errno, "copy up: chown '" + rel + "'");
  }
  if (!S_ISLNK(st.st_mode) && ::fchmodat(up, p, st.st_mode & 07777, 0) != 0) {
    return errno_error(errno, "copy up: chmod '" + rel + "'");
  }
  GANTRY_TRY_CTX(copy_xattrs(layers.absolute(from, rel), layers.absolute(0, rel)),
                 "copy up '" + rel + "'");
  return restore_times(up, rel, st);
}

}  // namespace gantry::runtime::fuse
