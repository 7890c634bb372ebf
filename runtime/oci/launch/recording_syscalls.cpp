#include "runtime/oci/launch/recording_syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>

#include "runtime/sys/resolve.h"

namespace gantry::runtime::oci::launch {
namespace {

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return path;
  return std::string(buf, static_cast<size_t>(n));
}

std::string hex(unsigned long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lo", v);
  return buf;
}

}  // namespace

std::string RecordingSyscalls::show(const std::string& path) const {
  if (path.empty()) return "-";
  std::string p = path;
  if (p.rfind("/proc/self/fd/", 0) == 0) p = read_link(p);
  const std::string root = root_.string();
  if (p == root) return "<root>";
  if (p.rfind(root + "/", 0) == 0) return "<root>" + p.substr(root.size());
  return p;
}

std::string RecordingSyscalls::show_at(int dir_fd, const std::string& name) const {
  if (dir_fd == AT_FDCWD) return show(name);
  return show(read_link(fd_path(dir_fd)) + "/" + name);
}

Result<void> RecordingSyscalls::record(std::string line) {
  log_.push_back(line);
  if (!fail_prefix_.empty() && line.rfind(fail_prefix_, 0) == 0) {
    fail_prefix_.clear();
    return errno_error(fail_errno_, line);
  }
  return ok();
}

Result<void> RecordingSyscalls::mount(const std::string& source, const std::string& target,
                                      const std::string& fstype, unsigned long flags,
                                      const std::string& data) {
  return record("mount " + show(source) + " " + show(target) + " " +
                (fstype.empty() ? "-" : fstype) + " " + mount_flags_string(flags) +
                (data.empty() ? "" : " " + data));
}
Result<void> RecordingSyscalls::mount_setattr(const std::string& path, uint64_t attr_set,
                                              uint64_t attr_clear) {
  return record("mount_setattr " + show(path) + " set=" + hex(attr_set) +
                " clear=" + hex(attr_clear));
}
Result<void> RecordingSyscalls::umount2(const std::string& target, int flags) {
  return record("umount2 " + show(target) + " " + std::to_string(flags));
}
Result<void> RecordingSyscalls::pivot_root(const std::string& new_root,
                                           const std::string& put_old) {
  return record("pivot_root " + new_root + " " + put_old);
}
Result<void> RecordingSyscalls::chdir(const std::string& path) {
  return record("chdir " + show(path));
}
Result<void> RecordingSyscalls::fchdir(int fd) {
  return record("fchdir " + show(fd_path(fd)));
}
Result<void> RecordingSyscalls::mkdirat(int dir_fd, const std::string& name, mode_t mode) {
  GANTRY_TRY(record("mkdir " + show_at(dir_fd, name) + " " + hex(mode)));
  if (::mkdirat(dir_fd, name.c_str(), mode) < 0) return errno_error(errno, "mkdir " + name);
  return ok();
}
Result<void> RecordingSyscalls::mknodat(int dir_fd, const std::string& name, mode_t mode,
                                        dev_t dev) {
  GANTRY_TRY(record("mknod " + show_at(dir_fd, name) + " " + hex(mode) + " " +
                    std::to_string(major(dev)) + ":" + std::to_string(minor(dev))));
  // A plain file stands in for the node, so later steps find something there.
  int fd = ::openat(dir_fd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "mknod " + name);
  ::close(fd);
  return ok();
}
Result<void> RecordingSyscalls::symlinkat(const std::string& target, int dir_fd,
                                          const std::string& name) {
  GANTRY_TRY(record("symlink " + show_at(dir_fd, name) + " -> " + target));
  if (::symlinkat(target.c_str(), dir_fd, name.c_str()) < 0)
    return errno_error(errno, "symlink " + name);
  return ok();
}
Result<void> RecordingSyscalls::fchownat(int dir_fd, const std::string& name, uid_t uid,
                                         gid_t gid) {
  return record("chown " + show_at(dir_fd, name) + " " + std::to_string(uid) + ":" +
                std::to_string(gid));
}
Result<void> RecordingSyscalls::sethostname(const std::string& name) {
  return record("sethostname " + name);
}
Result<void> RecordingSyscalls::setdomainname(const std::string& name) {
  return record("setdomainname " + name);
}
Result<void> RecordingSyscalls::unshare(int flags) {
  return record("unshare " + hex(static_cast<unsigned long>(flags)));
}
Result<void> RecordingSyscalls::setns(int fd, int nstype) {
  return record("setns " + show(fd_path(fd)) + " " + hex(static_cast<unsigned long>(nstype)));
}
Result<void> RecordingSyscalls::write_file(const std::string& path, std::string_view content) {
  return record("write " + path + " " + std::string(content));
}
Result<sys::UniqueFd> RecordingSyscalls::open_in_root(int root_fd, const std::string& relpath,
                                                      int flags, mode_t mode) {
  return sys::open_in_root(root_fd, relpath, flags, mode);
}
Result<sys::UniqueFd> RecordingSyscalls::open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error(errno, "open '" + path + "'");
  return sys::UniqueFd(fd);
}
bool RecordingSyscalls::exists(const std::string& path) {
  for (const auto& p : host_paths_)
    if (p == path) return true;
  struct stat st;
  const std::string root = root_.string();
  if (path.rfind(root, 0) == 0) return ::lstat(path.c_str(), &st) == 0;
  return false;
}

}  // namespace gantry::runtime::oci::launch
