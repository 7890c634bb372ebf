// Syscalls: the system calls that shape a container's view (mounts, pivot_root, device nodes,
// names, namespaces), behind an interface, so that the order and arguments of the mount and
// namespace sequence can be checked without root (the youki way).
//
//   RealSyscalls       calls the kernel.
//   RecordingSyscalls  (recording_syscalls.h) writes each privileged call to a log as one line
//                      and performs only the harmless file-system ones (mkdirat, symlinkat,
//                      open_in_root) on a scratch directory, so path resolution stays real.
//
// A mount target is usually "/proc/self/fd/N" (the target opened inside the root with
// openat2); the recording fake logs the path that fd names, so a log reads like a mount table.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci::launch {

class Syscalls {
 public:
  virtual ~Syscalls() = default;

  virtual Result<void> mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  // mount_setattr(2) with AT_RECURSIVE on path: MOUNT_ATTR_* to set and to clear.
  virtual Result<void> mount_setattr(const std::string& path, uint64_t attr_set,
                                     uint64_t attr_clear) = 0;
  virtual Result<void> umount2(const std::string& target, int flags) = 0;
  virtual Result<void> pivot_root(const std::string& new_root, const std::string& put_old) = 0;
  virtual Result<void> chdir(const std::string& path) = 0;
  virtual Result<void> fchdir(int fd) = 0;
  virtual Result<void> mkdirat(int dir_fd, const std::string& name, mode_t mode) = 0;
  virtual Result<void> mknodat(int dir_fd, const std::string& name, mode_t mode, dev_t dev) = 0;
  virtual Result<void> symlinkat(const std::string& target, int dir_fd,
                                 const std::string& name) = 0;
  virtual Result<void> fchownat(int dir_fd, const std::string& name, uid_t uid, gid_t gid) = 0;
  virtual Result<void> sethostname(const std::string& name) = 0;
  virtual Result<void> setdomainname(const std::string& name) = 0;
  virtual Result<void> unshare(int flags) = 0;
  virtual Result<void> setns(int fd, int nstype) = 0;
  // Writes a whole small file that exists (a /proc/sys entry).
  virtual Result<void> write_file(const std::string& path, std::string_view content) = 0;
  // Opens relpath inside the root (sys::open_in_root: symlinks never lead out).
  virtual Result<sys::UniqueFd> open_in_root(int root_fd, const std::string& relpath, int flags,
                                             mode_t mode) = 0;
  // Opens an absolute path on the current view (O_CLOEXEC added).
  virtual Result<sys::UniqueFd> open(const std::string& path, int flags, mode_t mode) = 0;
  virtual bool exists(const std::string& path) = 0;
  // MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_RDONLY|atime flags of the mount holding fd: a remount in
  // a user namespace must keep them (the kernel locks them).
  virtual unsigned long mount_flags_of(int fd) = 0;
};

// The kernel's.
std::unique_ptr<Syscalls> real_syscalls();

// "/proc/self/fd/N": the path that makes a syscall act on an fd already opened safely.
std::string fd_path(int fd);

// Mount flags as text for logs and errors: "MS_BIND|MS_REC", "0" when none.
std::string mount_flags_string(unsigned long flags);

}  // namespace gantry::runtime::oci::launch
