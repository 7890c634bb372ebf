#include "runtime/snapshot/copy_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/sys/fd.h"

namespace gantry::runtime::snapshot {

namespace {

namespace fs = std::filesystem;
using sys::UniqueFd;

// xattrs of one entry, read through an fd or, for symlinks and special files, a path.
struct XattrAccess {
  int fd = -1;       // when >= 0
  std::string path;  // else, never following a final symlink

  ssize_t list(char* buf, size_t size) const {
    return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path.c_str(), buf, size);
  }
  ssize_t get(const char* name, void* buf, size_t size) const {
    return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(path.c_str(), name, buf, size);
  }
  int set(const char* name, const void* value, size_t size) const {
    return fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                   : lsetxattr(path.c_str(), name, value, size, 0);
  }
};

Result<std::vector<char>> read_list(const XattrAccess& a) {
  for (;;) {
    ssize_t size = a.list(nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return std::vector<char>{};
      return errno_error(errno, "list xattrs");
    }
    std::vector<char> names(static_cast<size_t>(size));
    ssize_t got = a.list(names.data(), names.size());
    if (got >= 0) {
      names.resize(static_cast<size_t>(got));
      return names;
    }
    if (errno != ERANGE) return errno_error(errno, "list xattrs");
  }
}

Result<void> copy_xattrs(const XattrAccess& from, const XattrAccess& to) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<char> names, read_list(from));
  std::vector<char> value;
  for (size_t i = 0; i < names.size();) {
    const char* name = names.data() + i;
    std::string_view name_view(name);
    i += name_view.size() + 1;
    ssize_t size;
    for (;;) {
      size = from.get(name, nullptr, 0);
      if (size < 0) return errno_error(errno, "get xattr " + std::string(name_view));
      value.resize(static_cast<size_t>(size));
      size = from.get(name, value.data(), value.size());
      if (size >= 0) break;
      if (errno != ERANGE) return errno_error(errno, "get xattr " + std::string(name_view));
    }
    if (to.set(name, value.data(), static_cast<size_t>(size)) != 0) {
      // Labels of a security module the destination does not take are not ours to insist on.
      bool optional = name_view.starts_with("security.") &&
                      (errno == EPERM || errno == ENOTSUP || errno == EACCES);
      if (!optional) return errno_error(errno, "set xattr " + std::string(name_view));
    }
  }
  return ok();
}

class Copier {
 public:
  Copier(fs::path src_root, fs::path dst_root)
      : src_root_(std::move(src_root)), dst_root_(std::move(dst_root)) {}

  Result<void> copy_root() {
    UniqueFd src(open(src_root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src) return errno_error(errno, "open '" + src_root_.string() + "'");
    struct stat st {};
    if (fstat(src.get(), &st) != 0) return errno_error(errno, "stat '" + src_root_.string() + "'");
    if (mkdir(dst_root_.c_str(), 0700) != 0) {
      return errno_error(errno, "create '" + dst_root_.string() + "'");
    }
    created_dst_ = true;
    UniqueFd dst(open(dst_root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst) return errno_error(errno, "open '" + dst_root_.string() + "'");
    dst_root_fd_ = dst.get();
    GANTRY_TRY(copy_children(src.get(), dst.get(), ""));
    return finish_with_fd(src.get(), dst.get(), st);
  }

  bool created_dst() const { return created_dst_; }

 private:
  static std::string join(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
  }

  Result<void> copy_children(int src_dir, int dst_dir, const std::string& rel) {
    UniqueFd dup_fd(fcntl(src_dir, F_DUPFD_CLOEXEC, 0));
    if (!dup_fd) return errno_error(errno, "dup");
    DIR* d = fdopendir(dup_fd.get());
    if (d == nullptr) return errno_error(errno, "opendir '" + rel + "'");
    dup_fd.release();
    std::unique_ptr<DIR, int (*)(DIR*)> dir(d, closedir);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(dir.get())) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    if (errno != 0) return errno_error(errno, "read directory '" + rel + "'");
    for (const auto& name : names) {
      std::string child = join(rel, name);
      GANTRY_TRY_CTX(copy_entry(src_dir, dst_dir, name, child), "copy '" + child + "'");
    }
    return ok();
  }

  Result<void> copy_entry(int src_dir, int dst_dir, const std::string& name,
                          const std::string& rel) {
    struct stat st {};
    if (fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error(errno, "stat");
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!first) {
        if (linkat(dst_root_fd_, it->second.c_str(), dst_dir, name.c_str(), 0) != 0) {
          return errno_error(errno, "link to '" + it->second + "'");
        }
        return ok();
      }
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        return copy_dir(src_dir, dst_dir, name, rel, st);
      case S_IFREG:
        return copy_file(src_dir, dst_dir, name, st);
      case S_IFLNK:
        return copy_symlink(src_dir, dst_dir, name, rel, st);
      default:
        return copy_special(dst_dir, name, rel, st);
    }
  }

  Result<void> copy_dir(int src_dir, int dst_dir, const std::string& name, const std::string& rel,
                        const struct stat& st) {
    UniqueFd src(openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src) return errno_error(errno, "open");
    if (mkdirat(dst_dir, name.c_str(), 0700) != 0) return errno_error(errno, "mkdir");
    UniqueFd dst(openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst) return errno_error(errno, "open copy");
    GANTRY_TRY(copy_children(src.get(), dst.get(), rel));
    return finish_with_fd(src.get(), dst.get(), st);
  }

  Result<void> copy_file(int src_dir, int dst_dir, const std::string& name, const struct stat& st) {
    UniqueFd src(openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!src) return errno_error(errno, "open");
    UniqueFd dst(
        openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!dst) return errno_error(errno, "create");
    GANTRY_TRY(copy_data(src.get(), dst.get(), st.st_size));
    return finish_with_fd(src.get(), dst.get(), st);
  }

  Result<void> copy_data(int src, int dst, off_t size_bytes) {
    if (size_bytes == 0) return ok();
    if (try_clone_) {
      if (ioctl(dst, FICLONE, src) == 0) return ok();
      if (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL || errno == ENOTTY) {
        try_clone_ = false;  // this file system shares no extents: do not ask again
      } else {
        return errno_error(errno, "clone data");
      }
    }
    off_t left = size_bytes;
    while (left > 0) {
      ssize_t n = copy_file_range(src, nullptr, dst, nullptr, static_cast<size_t>(left), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL) {
          return copy_by_read(src, dst);
        }
        return errno_error(errno, "copy data");
      }
      if (n == 0) break;  // the file shrank under us
      left -= n;
    }
    return ok();
  }

  static Result<void> copy_by_read(int src, int dst) {
    char buf[1 << 16];
    for (;;) {
      ssize_t n = read(src, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(errno, "read");
      if (n == 0) return ok();
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(dst, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno_error(errno, "write");
        off += w;
      }
    }
  }

  Result<void> copy_symlink(int src_dir, int dst_dir, const std::string& name,
                            const std::string& rel, const struct stat& st) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n;
    for (;;) {
      n = readlinkat(src_dir, name.c_str(), target.data(), target.size());
      if (n < 0) return errno_error(errno, "readlink");
      if (static_cast<size_t>(n) < target.size()) break;
      target.resize(target.size() * 2);  // it grew since the stat
    }
    target.resize(static_cast<size_t>(n));
    if (symlinkat(target.c_str(), dst_dir, name.c_str()) != 0) return errno_error(errno, "symlink");
    return finish_at(dst_dir, name, rel, st, /*chmod=*/false);
  }

  Result<void> copy_special(int dst_dir, const std::string& name, const std::string& rel,
                            const struct stat& st) {
    if (mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
      return errno_error(errno, "mknod");
    }
    return finish_at(dst_dir, name, rel, st, /*chmod=*/true);
  }

  // Owner first (a chown clears setuid bits and file capabilities), then mode, xattrs, times.
  static Result<void> finish_with_fd(int src, int dst, const struct stat& st) {
    if (fchown(dst, st.st_uid, st.st_gid) != 0) return errno_error(errno, "chown");
    if (fchmod(dst, st.st_mode & 07777) != 0) return errno_error(errno, "chmod");
    GANTRY_TRY(copy_xattrs({.fd = src}, {.fd = dst}));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (futimens(dst, times) != 0) return errno_error(errno, "set times");
    return ok();
  }

  Result<void> finish_at(int dst_dir, const std::string& name, const std::string& rel,
                         const struct stat& st, bool chmod) {
    if (fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error(errno, "chown");
    }
    if (chmod && fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) != 0) {
      return errno_error(errno, "chmod");
    }
    GANTRY_TRY(
        copy_xattrs({.path = (src_root_ / rel).string()}, {.path = (dst_root_ / rel).string()}));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error(errno, "set times");
    }
    return ok();
  }

  fs::path src_root_;
  fs::path dst_root_;
  int dst_root_fd_ = -1;
  bool try_clone_ = true;
  bool created_dst_ = false;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first copy of each linked inode
};

}  // namespace

Result<void> copy_tree(const fs::path& src, const fs::path& dst) {
  Copier copier(src, dst);
  auto r = copier.copy_root();
  if (!r) {
    std::error_code ec;
    if (copier.created_dst()) fs::remove_all(dst, ec);
    return std::move(r).error().with_context("copy '" + src.string() + "' to '" + dst.string() +
                                             "'");
  }
  return ok();
}

}  // namespace gantry::runtime::snapshot
