// RecordingSyscalls: the fake of Syscalls for unit tests (see syscalls.h). Every call is one
// line in log(), in order; paths under the scratch root are written relative to it as
// "<root>/x" so that a test's expected log does not depend on where its temp dir is.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runtime/oci/launch/syscalls.h"

namespace gantry::runtime::oci::launch {

class RecordingSyscalls final : public Syscalls {
 public:
  // root: the scratch directory that plays the rootfs (file-system calls really happen there).
  explicit RecordingSyscalls(std::filesystem::path root) : root_(std::move(root)) {}

  const std::vector<std::string>& log() const { return log_; }
  // Makes the next call whose log line starts with prefix fail with errno_value.
  void fail_on(std::string prefix, int errno_value) {
    fail_prefix_ = std::move(prefix);
    fail_errno_ = errno_value;
  }
  // What exists() answers for paths outside the root (e.g. "/proc/kcore").
  void set_host_paths(std::vector<std::string> paths) { host_paths_ = std::move(paths); }

  Result<void> mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override;
  Result<void> mount_setattr(const std::string& path, uint64_t attr_set,
                             uint64_t attr_clear) override;
  Result<void> umount2(const std::string& target, int flags) override;
  Result<void> pivot_root(const std::string& new_root, const std::string& put_old) override;
  Result<void> chdir(const std::string& path) override;
  Result<void> fchdir(int fd) override;
  Result<void> mkdirat(int dir_fd, const std::string& name, mode_t mode) override;
  Result<void> mknodat(int dir_fd, const std::string& name, mode_t mode, dev_t dev) override;
  Result<void> symlinkat(const std::string& target, int dir_fd, const std::string& name) override;
  Result<void> fchownat(int dir_fd, const std::string& name, uid_t uid, gid_t gid) override;
  Result<void> sethostname(const std::string& name) override;
  Result<void> setdomainname(const std::string& name) override;
  Result<void> unshare(int flags) override;
  Result<void> setns(int fd, int nstype) override;
  Result<void> write_file(const std::string& path, std::string_view content) override;
  Result<sys::UniqueFd> open_in_root(int root_fd, const std::string& relpath, int flags,
                                     mode_t mode) override;
  Result<sys::UniqueFd> open(const std::string& path, int flags, mode_t mode) override;
  bool exists(const std::string& path) override;
  unsigned long mount_flags_of(int) override { return 0; }

 private:
  Result<void> record(std::string line);
  std::string show(const std::string& path) const;  // /proc/self/fd/N -> real path, root -> <root>
  std::string show_at(int dir_fd, const std::string& name) const;

  std::filesystem::path root_;
  std::vector<std::string> log_;
  std::vector<std::string> host_paths_;
  std::string fail_prefix_;
  int fail_errno_ = 0;
};

}  // namespace gantry::runtime::oci::launch
