// create: the parent side (P) of launch.h's sequence and the init's (C) steps, in order.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "runtime/oci/launch/child.h"
#include "runtime/oci/launch/hooks.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/launch/steps.h"
#include "runtime/oci/launch/sync.h"
#include "runtime/sys/resolve.h"

namespace gantry::runtime::oci::launch {
namespace {

struct InitPlan {
  const CreateRequest& request;
  const spec::Spec& spec;
  NamespacePlan ns;
  std::filesystem::path rootfs;
  std::optional<spec::SeccompProgram> seccomp;
  bool setgroups_allowed = true;
  int fifo_fd = -1;  // O_PATH of the exec fifo, inherited from the parent
};

Result<void> become_root_in_user_ns() {
  if (::setresgid(0, 0, 0) < 0) return errno_error(errno, "setgid 0 in the user namespace");
  if (::setresuid(0, 0, 0) < 0) return errno_error(errno, "setuid 0 in the user namespace");
  return ok();
}

Result<void> make_cwd(int root_fd, const std::string& cwd) {
  if (cwd.empty() || cwd == "/") return ok();
  auto fd = sys::open_in_root(root_fd, cwd, O_PATH, 0);
  if (fd) return ok();
  GANTRY_ASSIGN_OR_RETURN(sys::ParentAndName parent, sys::open_parent_in_root(root_fd, cwd, true));
  if (::mkdirat(parent.dir.get(), parent.name.c_str(), 0755) < 0 && errno != EEXIST)
    return errno_error(errno, "process.cwd: mkdir '" + cwd + "'");
  return ok();
}

std::string state_json(const CreateRequest& request, pid_t pid) {
  return request.callbacks.state_json ? request.callbacks.state_json(pid) : std::string("{}");
}

// After "ready" the parent has returned; failures can only be told on stderr.
[[noreturn]] void die_after_ready(const std::string& step, const Error& error) {
  std::string line = "gantry-oci init: " + step + ": " + error.to_string() + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(127);
}

Result<void> init_body(InitPlan& p, SyncChannel& channel, std::string& step) {
  const spec::Spec& spec = p.spec;
  const spec::Process& process = *spec.process;
  auto sys = real_syscalls();

  step = "wait for the id maps and the cgroup";
  GANTRY_TRY(channel.expect(MsgType::ids_mapped));
  if (p.ns.new_user) {
    step = "user namespace";
    GANTRY_TRY(become_root_in_user_ns());
  }
  if (p.ns.new_cgroup) {
    step = "cgroup namespace";
    GANTRY_TRY(sys->unshare(CLONE_NEWCGROUP));
  }
  step = "process.oomScoreAdj";
  GANTRY_TRY(apply_oom_score_adj(process));
  step = "process.rlimits";
  GANTRY_TRY(apply_rlimits(process));
  sys::UniqueFd fifo(p.fifo_fd);  // opened by the parent: the path may not be ours to reach

  step = "prepare the rootfs";
  RootfsContext ctx{*sys, spec, p.rootfs, p.request.bundle, -1, p.ns, p.request.cgroup_dirs};
  sys::UniqueFd root_fd;
  GANTRY_TRY(prepare_rootfs(ctx, root_fd));
  step = "process.cwd";
  GANTRY_TRY(make_cwd(root_fd.get(), process.cwd));
  step = "report mounts done";
  GANTRY_TRY(channel.send(Message::of(MsgType::mounts_done)));
  step = "wait for the prestart and createRuntime hooks";
  GANTRY_ASSIGN_OR_RETURN(Message go, channel.expect(MsgType::hooks_done));
  pid_t host_pid = static_cast<pid_t>(go.pid);
  step = "createContainer hooks";
  GANTRY_TRY(
      run_hooks(spec.hooks.create_container, state_json(p.request, host_pid), "createContainer"));

  step = "pivot_root";
  GANTRY_TRY(pivot_into(*sys, root_fd.get()));
  root_fd.reset();
  if (process.terminal) {
    step = "console";
    GANTRY_TRY(setup_console(p.request.console_socket_fd, process));
  }
  step = "hostname";
  GANTRY_TRY(set_hostname(*sys, spec, p.ns));
  step = "linux.sysctl";
  GANTRY_TRY(apply_sysctl(*sys, spec));
  step = "linux.readonlyPaths";
  GANTRY_TRY(apply_readonly_paths(*sys, "/", spec.linux.readonly_paths));
  step = "linux.maskedPaths";
  GANTRY_TRY(apply_masked_paths(*sys, "/", spec.linux.masked_paths));
  if (spec.root.readonly) {
    step = "root.readonly";
    GANTRY_TRY(remount_root_readonly(*sys));
  }
  if (!process.no_new_privileges) {
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: before the drop.
    step = "linux.seccomp";
    GANTRY_TRY(apply_seccomp(p.seccomp));
  }
  step = "linux.personality";
  GANTRY_TRY(apply_personality(spec));
  step = "process.capabilities.bounding";
  GANTRY_TRY(apply_bounding_set(process));
  step = "process.user";
  GANTRY_TRY(apply_user(process, p.setgroups_allowed));
  step = "process.capabilities";
  GANTRY_TRY(apply_capabilities(process));
  step = "process.noNewPrivileges";
  GANTRY_TRY(apply_no_new_privs(process));
  step = "process.cwd";
  GANTRY_TRY(enter_cwd(process));
  step = "process.args";
  GANTRY_ASSIGN_OR_RETURN(std::string path, find_executable(process));

  step = "ready";
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);  // the init outlives `gantry-oci create`
  GANTRY_TRY(channel.send(Message::of(MsgType::ready)));
  channel.close();

  step = "exec fifo";
  if (auto r = wait_exec_fifo(fifo.get()); !r) die_after_ready(step, r.error());
  fifo.reset();
  step = "startContainer hooks";
  if (auto r =
          run_hooks(spec.hooks.start_container, state_json(p.request, host_pid), "startContainer");
      !r)
    die_after_ready(step, r.error());
  if (process.no_new_privileges) {
    step = "linux.seccomp";
    if (auto r = apply_seccomp(p.seccomp); !r) die_after_ready(step, r.error());
  }
  die_after_ready("exec", exec_process(process, path, p.request.preserve_fds));
}

// Undoes a half-made container: the init killed and reaped (its mount namespace, and every
// mount made in it, goes with it), the fifo removed.
class CreateGuard {
 public:
  explicit CreateGuard(std::filesystem::path fifo) : fifo_(std::move(fifo)) {}
  ~CreateGuard() {
    if (done_) return;
    kill_and_reap(pid_);
    ::unlink(fifo_.c_str());
  }
  void set_pid(pid_t pid) { pid_ = pid; }
  void dismiss() { done_ = true; }

 private:
  std::filesystem::path fifo_;
  pid_t pid_ = -1;
  bool done_ = false;
};

std::filesystem::path rootfs_of(const spec::Spec& spec, const std::filesystem::path& bundle) {
  std::filesystem::path root(spec.root.path);
  return root.is_absolute() ? root : bundle / root;
}

}  // namespace

Result<Created> create(const CreateRequest& request) {
  assert(request.spec != nullptr);
  const spec::Spec& spec = *request.spec;
  if (!spec.process)
    return Error(ErrorKind::invalid_argument, "process: required to create a container");
  if (spec.process->args.empty()) return Error(ErrorKind::invalid_argument, "process.args: empty");
  if (spec.process->terminal && request.console_socket_fd < 0)
    return Error(ErrorKind::invalid_argument,
                 "process.terminal: true, but no console socket was given");
  InitPlan plan{request, spec, {}, rootfs_of(spec, request.bundle), {}, true};
  GANTRY_ASSIGN_OR_RETURN(plan.ns, plan_namespaces(spec));
  GANTRY_TRY(validate_sysctl(spec, plan.ns));
  GANTRY_ASSIGN_OR_RETURN(plan.seccomp, compile_seccomp_of(spec));
  plan.setgroups_allowed = !(plan.ns.new_user && ::geteuid() != 0);
  struct stat st;
  if (::stat(plan.rootfs.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return errno_error(errno ? errno : ENOTDIR, "root.path: '" + plan.rootfs.string() + "'");
  plan.rootfs = std::filesystem::canonical(plan.rootfs);

  GANTRY_TRY(make_exec_fifo(request.exec_fifo));
  CreateGuard guard(request.exec_fifo);
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fifo, open_exec_fifo_path(request.exec_fifo));
  plan.fifo_fd = fifo.get();
  GANTRY_ASSIGN_OR_RETURN(auto channels, SyncChannel::pair());
  auto& [parent_end, child_end] = channels;
  GANTRY_ASSIGN_OR_RETURN(
      pid_t pid, spawn(plan.ns, parent_end, child_end, [&](std::string& step) -> Result<void> {
        return init_body(plan, child_end, step);
      }));
  guard.set_pid(pid);
  fifo.reset();

  if (plan.ns.new_user) GANTRY_TRY_CTX(write_id_maps(pid, spec.linux), "user namespace");
  // Placing the init in its cgroup is the slowest step of a start: the kernel's first write to
  // a cgroup.procs waits for an RCU grace period (1-30 ms; cgroup_warmup.h starts it early).
  // Unless the init needs its cgroup for the rootfs (a cgroup mount without cgroup_dirs binds
  // the init's own cgroup, read from /proc/self/cgroup) or must unshare its cgroup namespace
  // from inside it, it goes on preparing the rootfs meanwhile; it is in its cgroup before
  // mounts_done is answered, so before any hook, pivot_root or exec.
  bool place_first = plan.ns.new_cgroup;
  for (const auto& m : spec.mounts)
    place_first = place_first || (m.type == "cgroup" && request.cgroup_dirs.empty());
  if (place_first && request.callbacks.on_child_started)
    GANTRY_TRY_CTX(request.callbacks.on_child_started(pid), "place the init in its cgroup");
  GANTRY_TRY(parent_end.send(Message::of(MsgType::ids_mapped)));
  if (!place_first && request.callbacks.on_child_started)
    GANTRY_TRY_CTX(request.callbacks.on_child_started(pid), "place the init in its cgroup");
  GANTRY_TRY(parent_end.expect(MsgType::mounts_done));
  if (request.callbacks.on_runtime_hooks)
    GANTRY_TRY_CTX(request.callbacks.on_runtime_hooks(pid), "runtime hooks");
  Message go = Message::of(MsgType::hooks_done);
  go.pid = pid;
  GANTRY_TRY(parent_end.send(go));
  GANTRY_TRY(parent_end.expect(MsgType::ready));
  GANTRY_ASSIGN_OR_RETURN(uint64_t start_time, process_start_time(pid));
  guard.dismiss();
  return Created{pid, start_time};
}

Result<uint64_t> process_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!in || !std::getline(in, s))
    return Error(ErrorKind::not_found, "process " + std::to_string(pid) + " is gone", ESRCH);
  auto p = s.rfind(')');
  if (p == std::string::npos)
    return Error(ErrorKind::internal, "/proc/" + std::to_string(pid) + "/stat: unreadable");
  // Fields after ')' start at field 3 (state); start_time is field 22.
  std::istringstream fields(s.substr(p + 2));
  std::string f;
  for (int i = 3; i < 22; ++i) fields >> f;
  uint64_t start = 0;
  if (!(fields >> start))
    return Error(ErrorKind::internal, "/proc/" + std::to_string(pid) + "/stat: no start time");
  return start;
}

}  // namespace gantry::runtime::oci::launch
