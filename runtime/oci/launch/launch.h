// Making a container's processes: the init of a new container (create, then start) and extra
// processes in an existing one (exec). This is the only place that forks into namespaces; the
// operations in runtime/oci (create.cpp, start.cpp, exec.cpp, ...) persist state, drive cgroups
// and hooks around it through the callbacks below.
//
// The sequence of create, parent (P) and container init (C), over typed sync messages:
//   P clones C with the new namespaces of the spec (the user namespace first when asked);
//   C joins the namespaces given by path; P writes uid/gid maps, lets C go on, and calls
//   on_child_started (the caller puts C in its cgroup) while C prepares the rootfs (mounts,
//   devices, /dev symlinks; with a new cgroup namespace C waits for its cgroup first), then
//   P calls on_runtime_hooks (prestart, createRuntime); C runs createContainer hooks, pivots
//   into the rootfs, applies masked and readonly paths, hostname, sysctl, rlimits, user and
//   groups, capabilities, no_new_privs, seccomp, cwd; C reports "ready" and blocks opening the
//   exec fifo; create returns. start opens the fifo: C runs startContainer hooks and execs the
//   process. A failure in C travels to P as data (kind, errno, message, the step's name) and P
//   returns it; nothing C made survives (its namespaces die with it, P kills and reaps it).
//
// Design note (how the implementation follows this sequence; files in this folder):
//   - Namespaces joined by path are joined by an intermediate child (user first, all paths
//     opened before the first setns), which then clones C with CLONE_PARENT, so C is still P's
//     child; without paths P clones C directly (child.cpp). A new cgroup namespace is unshared
//     by C after on_child_started; a new time namespace is not_implemented.
//   - P creates the exec fifo and opens it O_PATH before the clone; C inherits that fd and
//     reopens it for writing through /proc/self/fd (a user-namespaced C may not reach the path).
//   - Seccomp is compiled by P (spec/seccomp.h); C installs it before dropping capabilities
//     when no_new_privileges is false, else last before exec.
//   - C is not dumpable and dies with P (PR_SET_PDEATHSIG) until "ready"; every fd from
//     3 + preserve_fds on is made close-on-exec right before exec.
//   - exec: the same intermediate scheme with /proc/<init>/ns/* (mount namespace last); success
//     is the sync socket closing on exec, a failure before or at exec an error message.
//   - Mounts, pivot_root, devices, names and sysctl go through Syscalls (syscalls.h); the unit
//     tests record them with RecordingSyscalls.
//
// The container never sees a file descriptor of the runtime other than its stdio (and the
// console), and it runs the user process from a path resolved inside its root, never through
// the runtime's /proc/self/exe (the runtime re-executes itself from a sealed memfd copy when
// it must run code in the container, see memfd_exe.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci::launch {

struct Callbacks {
  // Parent side: the child's host pid is known, id maps are written; the child may be preparing
  // its rootfs meanwhile (it waits for this only with a new cgroup namespace) but runs no hook
  // and nothing of the container before this returns. The caller places the pid in the
  // container's cgroup here.
  std::function<Result<void>(pid_t pid)> on_child_started;
  // Parent side: the child's mounts are done and pivot_root is next. The caller runs the
  // prestart and createRuntime hooks here.
  std::function<Result<void>(pid_t pid)> on_runtime_hooks;
  // The state JSON given on stdin to the hooks that run in the container (createContainer,
  // startContainer).
  std::function<std::string(pid_t pid)> state_json;
};

struct CreateRequest {
  std::string container_id;
  const spec::Spec* spec = nullptr;
  std::filesystem::path bundle;
  // Created by create (mode 0622); the init blocks opening it for writing until start reads.
  std::filesystem::path exec_fifo;
  // When spec->process->terminal: a unix socket the pty master is sent over (SCM_RIGHTS), as
  // runc's --console-socket. -1 when there is none (then terminal is an error).
  int console_socket_fd = -1;
  // runc's --preserve-fds: fds 3 .. 3+preserve_fds-1 of the caller reach the container.
  int preserve_fds = 0;
  // The container's cgroup directories on the host, one per hierarchy (cgroup::Manager's
  // directories()). A "cgroup" mount binds these, so the init can prepare its rootfs while it is
  // being placed in its cgroup. Empty: the mount binds the init's own cgroups as
  // /proc/self/cgroup shows them, and the init is placed first.
  std::vector<std::filesystem::path> cgroup_dirs;
  Callbacks callbacks;
};

struct Created {
  pid_t pid = -1;           // the init, in the caller's pid namespace
  uint64_t start_time = 0;  // field 22 of /proc/<pid>/stat: (pid, start_time) names the process
};

// Creates the container up to "created". The init is a child of the calling process.
Result<Created> create(const CreateRequest& request);

// Releases the init blocked on the exec fifo; returns once it has been released (it then runs
// startContainer hooks and execs). not_found when the fifo is gone (already started). With
// init_pid, a dead init is failed_precondition instead of a wait forever.
Result<void> start(const std::filesystem::path& exec_fifo, pid_t init_pid = -1);

struct ExecRequest {
  pid_t init_pid = -1;               // the container to join
  const spec::Spec* spec = nullptr;  // the container's config (namespaces, root)
  spec::Process process;             // what to run (args, env, cwd, user, caps, ...)
  int console_socket_fd = -1;        // when process.terminal
  int preserve_fds = 0;              // as CreateRequest::preserve_fds
  // Parent side, child waiting: the caller puts pid in the container's cgroup.
  std::function<Result<void>(pid_t pid)> on_child_started;
};

// Starts a process inside the container's namespaces, cgroup and root. The returned pid is a
// child of the calling process (so the caller can wait for it).
Result<pid_t> exec(const ExecRequest& request);

// (pid, start time) of a live process; not_found when it is gone.
Result<uint64_t> process_start_time(pid_t pid);

}  // namespace gantry::runtime::oci::launch
