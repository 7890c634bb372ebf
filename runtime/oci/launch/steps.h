// The steps of create and exec, one file per concern, named as launch.h's sequence names them.
// Each step acts through Syscalls where it shapes the container's view (so the unit tests can
// record the sequence); the others (credentials, capabilities, seccomp) call the kernel.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/launch/syscalls.h"
#include "runtime/oci/spec/seccomp.h"
#include "runtime/oci/spec/spec.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::oci::launch {

// ---- namespaces.cpp
struct NamespacePlan {
  int clone_flags = 0;  // CLONE_NEW* created at clone time (never CLONE_NEWCGROUP)
  bool new_user = false;
  bool new_cgroup = false;  // unshared by the init after it joined its cgroup
  bool new_net = false;
  bool new_uts = false;
  bool new_ipc = false;
  bool new_mount = false;
  bool new_pid = false;
  // Namespaces to join, user first: (path, CLONE_NEW* type).
  std::vector<std::pair<std::string, int>> join;
  bool has(spec::NamespaceType type) const;
  std::vector<spec::NamespaceType> present;
};
Result<NamespacePlan> plan_namespaces(const spec::Spec& spec);
// Opens every path first (they may live in a namespace we are about to leave), then setns in
// order (user first).
Result<void> join_namespaces(Syscalls& sys, const NamespacePlan& plan);
// Parent side: /proc/<pid>/{setgroups,uid_map,gid_map}.
Result<void> write_id_maps(pid_t pid, const spec::Linux& linux);

// ---- rootfs.cpp
struct RootfsContext {
  Syscalls& sys;
  const spec::Spec& spec;
  std::filesystem::path rootfs;  // absolute, on the host view
  std::filesystem::path bundle;  // relative bind sources are relative to it
  int root_fd = -1;              // rootfs opened as a directory (after the self bind)
  NamespacePlan ns;
  // CreateRequest::cgroup_dirs: what a "cgroup" mount binds (empty: the init's own cgroups).
  std::vector<std::filesystem::path> cgroup_dirs = {};
};
Result<void> set_root_propagation(Syscalls& sys, const std::string& rootfs_propagation);
Result<void> bind_rootfs(Syscalls& sys, const std::filesystem::path& rootfs);
// Propagation, self bind, config mounts, devices, /dev symlinks: everything before pivot_root.
// On return ctx.root_fd is open on the (bound) rootfs.
Result<void> prepare_rootfs(RootfsContext& ctx, sys::UniqueFd& root_fd_holder);
// After pivot_root: the root read-only when spec.root.readonly.
Result<void> remount_root_readonly(Syscalls& sys);

// ---- mounts.cpp
struct MountTarget {
  sys::UniqueFd fd;  // O_PATH of the target inside the root
  bool is_dir = false;
};
// Resolves dest inside the root (never leaving it), creating it as a directory (or an empty
// file when source_is_file) with missing parents when it does not exist.
Result<MountTarget> make_target(Syscalls& sys, int root_fd, const std::string& dest,
                                bool source_is_file);
Result<void> mount_config_entry(RootfsContext& ctx, const spec::Mount& m);

// ---- devices.cpp
// The default devices (null, zero, full, random, urandom, tty) and linux.devices; mknod, or a
// bind of the host's node in a user namespace.
Result<void> create_devices(RootfsContext& ctx);
// fd, stdin, stdout, stderr, ptmx, core (when the host has /proc/kcore).
Result<void> create_dev_symlinks(Syscalls& sys, int root_fd);

// ---- pivot_root.cpp
// pivot_root(".", ".") then umount2(".", MNT_DETACH): the old root goes away without a
// directory to hold it.
Result<void> pivot_into(Syscalls& sys, int root_fd);

// ---- masked_paths.cpp
// root: "/" after pivot_root (a scratch root in tests).
Result<void> apply_masked_paths(Syscalls& sys, const std::filesystem::path& root,
                                const std::vector<std::string>& paths);
Result<void> apply_readonly_paths(Syscalls& sys, const std::filesystem::path& root,
                                  const std::vector<std::string>& paths);

// ---- process_setup.cpp
Result<void> set_hostname(Syscalls& sys, const spec::Spec& spec, const NamespacePlan& ns);
// Checks every key first (net.* needs a net namespace; kernel.* only the ipc/uts ones), then
// writes /proc/sys/<key with . as />.
Result<void> validate_sysctl(const spec::Spec& spec, const NamespacePlan& ns);
Result<void> apply_sysctl(Syscalls& sys, const spec::Spec& spec);
Result<void> apply_rlimits(const spec::Process& process);
Result<void> apply_oom_score_adj(const spec::Process& process);
// setgroups, setgid, setuid keeping the permitted set; then capabilities.
// Drops from the bounding set what process.capabilities.bounding does not list.
Result<void> apply_bounding_set(const spec::Process& process);
// setgroups (when allowed: not after setgroups was denied), setgid, setuid; the permitted set
// is kept across the uid change (PR_SET_KEEPCAPS) for apply_capabilities.
Result<void> apply_user(const spec::Process& process, bool setgroups_allowed);
Result<void> apply_capabilities(const spec::Process& process);
Result<void> apply_no_new_privs(const spec::Process& process);
// linux.personality: LINUX or LINUX32 (the exec domain of the process).
Result<void> apply_personality(const spec::Spec& spec);
// Seccomp: compiled in the parent (no allocation or libseccomp in the child), installed by the
// child with one seccomp(2) call; nullopt when the config has no linux.seccomp.
Result<std::optional<spec::SeccompProgram>> compile_seccomp_of(const spec::Spec& spec);
Result<void> apply_seccomp(const std::optional<spec::SeccompProgram>& program);
// chdir(cwd) then checks that the result is inside the root (CVE-2024-21626).
Result<void> enter_cwd(const spec::Process& process);
// Resolves argv[0] on the process's PATH inside the (already pivoted) root.
Result<std::string> find_executable(const spec::Process& process);
// Marks every fd >= 3 + preserve_fds close-on-exec, except keep_fd (the console), then execs.
// Returns only on failure.
Error exec_process(const spec::Process& process, const std::string& path, int preserve_fds);

// ---- console.cpp
// Opens a new pty from the container's /dev/ptmx (after devpts), makes its slave the
// controlling terminal and stdio, and sends the master over console_socket (SCM_RIGHTS, the
// payload is the pty name).
Result<void> setup_console(int console_socket, const spec::Process& process);

// ---- exec_fifo.cpp
Result<void> make_exec_fifo(const std::filesystem::path& path);
// Init side, before pivot_root: an O_PATH fd of the fifo.
Result<sys::UniqueFd> open_exec_fifo_path(const std::filesystem::path& path);
// Init side, last: blocks until start opens the fifo, then writes one byte.
Result<void> wait_exec_fifo(int fifo_path_fd);

// ---- hooks (hooks.h is public)

// ---- helpers for the child side (child.cpp)
// Closes every fd >= from except those listed, or marks them CLOEXEC.
void cloexec_from(int from);

}  // namespace gantry::runtime::oci::launch
