#include "runtime/oci/launch/syscalls.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "runtime/sys/fs.h"
#include "runtime/sys/resolve.h"

namespace gantry::runtime::oci::launch {
namespace {

Result<void> check(int rc, const std::string& what) {
  if (rc < 0) return errno_error(errno, what);
  return ok();
}

class RealSyscalls final : public Syscalls {
 public:
  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override {
    int rc = ::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                     fstype.empty() ? nullptr : fstype.c_str(), flags,
                     data.empty() ? nullptr : data.c_str());
    return check(rc, "mount '" + source + "' on '" + target + "' (type '" + fstype + "', " +
                         mount_flags_string(flags) + (data.empty() ? "" : ", " + data) + ")");
  }
  Result<void> mount_setattr(const std::string& path, uint64_t attr_set,
                             uint64_t attr_clear) override {
    struct mount_attr attr {};
    attr.attr_set = attr_set;
    attr.attr_clr = attr_clear;
    int rc = ::mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr);
    return check(rc, "mount_setattr '" + path + "'");
  }
  Result<void> umount2(const std::string& target, int flags) override {
    return check(::umount2(target.c_str(), flags), "umount '" + target + "'");
  }
  Result<void> pivot_root(const std::string& new_root, const std::string& put_old) override {
    return check(static_cast<int>(::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str())),
                 "pivot_root '" + new_root + "'");
  }
  Result<void> chdir(const std::string& path) override {
    return check(::chdir(path.c_str()), "chdir '" + path + "'");
  }
  Result<void> fchdir(int fd) override { return check(::fchdir(fd), "fchdir"); }
  Result<void> mkdirat(int dir_fd, const std::string& name, mode_t mode) override {
    return check(::mkdirat(dir_fd, name.c_str(), mode), "mkdir '" + name + "'");
  }
  Result<void> mknodat(int dir_fd, const std::string& name, mode_t mode, dev_t dev) override {
    return check(::mknodat(dir_fd, name.c_str(), mode, dev), "mknod '" + name + "'");
  }
  Result<void> symlinkat(const std::string& target, int dir_fd, const std::string& name) override {
    return check(::symlinkat(target.c_str(), dir_fd, name.c_str()),
                 "symlink '" + name + "' -> '" + target + "'");
  }
  Result<void> fchownat(int dir_fd, const std::string& name, uid_t uid, gid_t gid) override {
    return check(::fchownat(dir_fd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW),
                 "chown '" + name + "'");
  }
  Result<void> sethostname(const std::string& name) override {
    return check(::sethostname(name.data(), name.size()), "sethostname '" + name + "'");
  }
  Result<void> setdomainname(const std::string& name) override {
    return check(::setdomainname(name.data(), name.size()), "setdomainname '" + name + "'");
  }
  Result<void> unshare(int flags) override { return check(::unshare(flags), "unshare"); }
  Result<void> setns(int fd, int nstype) override { return check(::setns(fd, nstype), "setns"); }
  Result<void> write_file(const std::string& path, std::string_view content) override {
    sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno_error(errno, "open '" + path + "'");
    GANTRY_TRY_CTX(sys::write_all(fd.get(), content), "write '" + path + "'");
    return ok();
  }
  Result<sys::UniqueFd> open_in_root(int root_fd, const std::string& relpath, int flags,
                                     mode_t mode) override {
    return sys::open_in_root(root_fd, relpath, flags, mode);
  }
  Result<sys::UniqueFd> open(const std::string& path, int flags, mode_t mode) override {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error(errno, "open '" + path + "'");
    return sys::UniqueFd(fd);
  }
  bool exists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  unsigned long mount_flags_of(int fd) override {
    struct statvfs sv;
    if (::fstatvfs(fd, &sv) < 0) return 0;
    unsigned long out = 0;
    if (sv.f_flag & ST_RDONLY) out |= MS_RDONLY;
    if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) out |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) out |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) out |= MS_RELATIME;
    return out;
  }
};

}  // namespace

std::unique_ptr<Syscalls> real_syscalls() {
  return std::make_unique<RealSyscalls>();
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

std::string mount_flags_string(unsigned long flags) {
  static const std::pair<unsigned long, const char*> kNames[] = {
      {MS_RDONLY, "MS_RDONLY"},
      {MS_NOSUID, "MS_NOSUID"},
      {MS_NODEV, "MS_NODEV"},
      {MS_NOEXEC, "MS_NOEXEC"},
      {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"},
      {MS_REMOUNT, "MS_REMOUNT"},
      {MS_MANDLOCK, "MS_MANDLOCK"},
      {MS_DIRSYNC, "MS_DIRSYNC"},
      {MS_NOATIME, "MS_NOATIME"},
      {MS_NODIRATIME, "MS_NODIRATIME"},
      {MS_BIND, "MS_BIND"},
      {MS_MOVE, "MS_MOVE"},
      {MS_REC, "MS_REC"},
      {MS_SILENT, "MS_SILENT"},
      {MS_UNBINDABLE, "MS_UNBINDABLE"},
      {MS_PRIVATE, "MS_PRIVATE"},
      {MS_SLAVE, "MS_SLAVE"},
      {MS_SHARED, "MS_SHARED"},
      {MS_RELATIME, "MS_RELATIME"},
      {MS_STRICTATIME, "MS_STRICTATIME"},
      {MS_LAZYTIME, "MS_LAZYTIME"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += '|';
    out += name;
    flags &= ~bit;
  }
  if (flags != 0) {
    if (!out.empty()) out += '|';
    out += std::to_string(flags);
  }
  return out.empty() ? "0" : out;
}

}  // namespace gantry::runtime::oci::launch
