// linux.maskedPaths (hidden: /dev/null over a file, an empty read-only tmpfs over a directory)
// and linux.readonlyPaths (bound onto themselves, then remounted read-only). A path that does
// not exist is skipped, as runc does.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/oci/launch/steps.h"

namespace gantry::runtime::oci::launch {

Result<void> apply_masked_paths(Syscalls& sys, const std::filesystem::path& root,
                                const std::vector<std::string>& paths) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd root_fd,
                          sys.open(root.string(), O_RDONLY | O_DIRECTORY, 0));
  for (const auto& p : paths) {
    auto fd = sys.open_in_root(root_fd.get(), p, O_PATH, 0);
    if (!fd) {
      if (fd.error().errno_value() == ENOENT) continue;
      return std::move(fd).error().with_context("linux.maskedPaths '" + p + "'");
    }
    struct stat st;
    if (::fstat(fd->get(), &st) < 0) return errno_error(errno, "stat '" + p + "'");
    if (S_ISDIR(st.st_mode))
      GANTRY_TRY_CTX(sys.mount("tmpfs", fd_path(fd->get()), "tmpfs", MS_RDONLY, ""),
                     "linux.maskedPaths '" + p + "'");
    else
      GANTRY_TRY_CTX(sys.mount("/dev/null", fd_path(fd->get()), "", MS_BIND, ""),
                     "linux.maskedPaths '" + p + "'");
  }
  return ok();
}

Result<void> apply_readonly_paths(Syscalls& sys, const std::filesystem::path& root,
                                  const std::vector<std::string>& paths) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd root_fd,
                          sys.open(root.string(), O_RDONLY | O_DIRECTORY, 0));
  for (const auto& p : paths) {
    auto fd = sys.open_in_root(root_fd.get(), p, O_PATH, 0);
    if (!fd) {
      if (fd.error().errno_value() == ENOENT) continue;
      return std::move(fd).error().with_context("linux.readonlyPaths '" + p + "'");
    }
    std::string at = fd_path(fd->get());
    GANTRY_TRY_CTX(sys.mount(at, at, "", MS_BIND | MS_REC, ""), "linux.readonlyPaths '" + p + "'");
    GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd bound, sys.open_in_root(root_fd.get(), p, O_PATH, 0));
    unsigned long keep = sys.mount_flags_of(bound.get());
    GANTRY_TRY_CTX(sys.mount("", fd_path(bound.get()), "",
                             MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, ""),
                   "linux.readonlyPaths '" + p + "'");
  }
  return ok();
}

}  // namespace gantry::runtime::oci::launch
