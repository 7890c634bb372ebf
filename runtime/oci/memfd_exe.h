// Protection against CVE-2019-5736: a container process must never be able to open the runtime's
// binary for writing through /proc/<pid>/exe while the runtime runs inside or next to the
// container (the attack: the container's /bin/sh is replaced by `#!/proc/self/exe`, so an exec
// by the runtime's process in the container runs the runtime binary again, as a process the
// container owns; it keeps /proc/self/exe open and writes it once the runtime has exited).
// gantry-oci therefore never runs create, run or exec from the file on the host: at their start
// it re-executes itself from a protected view of the binary, and every process it makes for a
// container is a clone of that one, so /proc/<pid>/exe of each names the protected view:
//
//   1. a private read-only overlayfs (zero copy, tried first): a new overlay superblock made
//      with fsopen/fsconfig/fsmount whose only layers are the binary's directory and an empty
//      directory (overlayfs needs two lower layers to run without an upper one), mounted
//      read-only and never attached to any mount namespace. The file is reached through that
//      detached mount only. Opening it for writing fails with EROFS at the superblock: an
//      overlay without an upper layer has nowhere to write, whatever the mount flags say, so a
//      clone of the mount or a cleared MOUNT_ATTR_RDONLY still cannot write (unlike a
//      read-only bind mount, which a privileged process holding it could clone and make
//      writable). The mount is in no namespace, so nothing in the container can reconfigure it;
//      it disappears when the last process using it exits. Needs CAP_SYS_ADMIN (fsopen of
//      overlay) and a kernel with the new mount API (5.2+); the page cache of the binary is
//      shared, so the exec costs what an exec of the file costs.
//   2. otherwise a sealed memfd copy: /proc/self/exe copied into a memfd, sealed with
//      F_SEAL_SEAL, SHRINK, GROW and WRITE; writes through /proc/self/exe fail with EPERM. Only
//      the bytes the kernel's loader maps are copied (the ELF program segments; section headers
//      and debug info at the end of the file are left out and the section header table is
//      cleared), so the copy is a few MB of page cache to tmpfs.
//
// Both are made per invocation (nothing survives it that another run could reuse). There is
// deliberately no switch to turn this off: a program already running from a protected view (a
// sealed memfd, or a read-only overlay that is not mounted in our mount namespace) goes on,
// anything else re-executes.
#pragma once

#include <filesystem>
#include <functional>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci {

// True when /proc/self/exe is a memfd carrying all four seals (F_SEAL_SEAL, F_SEAL_SHRINK,
// F_SEAL_GROW, F_SEAL_WRITE).
bool running_from_sealed_memfd();

// A sealed memfd holding the loadable part of /proc/self/exe (close-on-exec).
Result<sys::UniqueFd> sealed_copy_of_self();

// True when /proc/self/exe is a file on a read-only overlayfs whose mount is not in our mount
// namespace (as readonly_view_of_self makes it).
bool running_from_private_readonly_view();

// An O_PATH descriptor (close-on-exec) of /proc/self/exe's file as seen through a private,
// detached, read-only overlayfs (1. above). Its second lower layer is a new empty directory
// empty_dir.XXXXXX (neither inside nor above the binary's directory), removed again before
// this returns. With mount, the detached mount's descriptor (close-on-exec) is left there
// instead of being closed: the last close of it dissolves the mount, which waits for an
// (expedited) RCU grace period, ~0.5 ms, that a caller may rather pay elsewhere.
Result<sys::UniqueFd> readonly_view_of_self(const std::filesystem::path& empty_dir,
                                            sys::UniqueFd* mount = nullptr);

// Unless running_from_sealed_memfd() or running_from_private_readonly_view(), re-executes this
// program with argv and envp from readonly_view_of_self(empty_dir), or, when that cannot be
// made, from sealed_copy_of_self(); returns only when both fail. Returns ok() when already
// protected. A null envp means the environment as it is at the exec (environ, with whatever
// before_exec set). before_exec, when given, runs once just before the first exec is tried, while
// the view's mount descriptor is still open (a child it forks holds a copy, so the last close, and
// the wait it costs, happens in that child instead of in the exec).
Result<void> ensure_running_from_sealed_copy(char* const* argv, char* const* envp,
                                             const std::filesystem::path& empty_dir,
                                             const std::function<void()>& before_exec = {});

}  // namespace gantry::runtime::oci
