// The rootfs before pivot_root: propagation of the new mount namespace, the rootfs bound to
// itself (pivot_root needs a mount point), every config mount, devices and /dev symlinks.
#include <fcntl.h>
#include <sys/mount.h>

#include "runtime/oci/launch/steps.h"
#include "runtime/oci/spec/mount_options.h"

namespace gantry::runtime::oci::launch {

Result<void> set_root_propagation(Syscalls& sys, const std::string& rootfs_propagation) {
  GANTRY_ASSIGN_OR_RETURN(unsigned long flags, spec::rootfs_propagation_flags(rootfs_propagation));
  // runc's default: a slave, so the host's later mounts still reach us, ours never reach it.
  if (flags == 0) flags = MS_SLAVE | MS_REC;
  return sys.mount("", "/", "", flags, "");
}

Result<void> bind_rootfs(Syscalls& sys, const std::filesystem::path& rootfs) {
  return sys.mount(rootfs.string(), rootfs.string(), "bind", MS_BIND | MS_REC, "");
}

Result<void> prepare_rootfs(RootfsContext& ctx, sys::UniqueFd& root_fd_holder) {
  GANTRY_TRY_CTX(set_root_propagation(ctx.sys, ctx.spec.linux.rootfs_propagation),
                 "rootfs propagation");
  GANTRY_TRY_CTX(bind_rootfs(ctx.sys, ctx.rootfs), "bind the rootfs");
  GANTRY_ASSIGN_OR_RETURN_CTX(root_fd_holder,
                              ctx.sys.open(ctx.rootfs.string(), O_RDONLY | O_DIRECTORY, 0),
                              "open the rootfs");
  ctx.root_fd = root_fd_holder.get();
  for (size_t i = 0; i < ctx.spec.mounts.size(); ++i) {
    const auto& m = ctx.spec.mounts[i];
    GANTRY_TRY_CTX(mount_config_entry(ctx, m),
                   "mounts[" + std::to_string(i) + "] ('" + m.destination + "')");
  }
  GANTRY_TRY_CTX(create_devices(ctx), "devices");
  GANTRY_TRY_CTX(create_dev_symlinks(ctx.sys, ctx.root_fd), "/dev symlinks");
  return ok();
}

Result<void> remount_root_readonly(Syscalls& sys) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, sys.open("/", O_PATH | O_DIRECTORY, 0));
  unsigned long keep = sys.mount_flags_of(fd.get());
  return sys.mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | keep, "");
}

}  // namespace gantry::runtime::oci::launch
