// exec: a new process in a running container. An intermediate child joins the init's
// namespaces through /proc/<pid>/ns/* (user first, mount last) and clones the process as our
// child; the caller places it in the cgroup; it then applies the process's own settings and
// execs. Success is the sync socket closing on exec (it is O_CLOEXEC); a failure before or at
// exec comes back as an error message.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/oci/launch/child.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/launch/steps.h"

namespace gantry::runtime::oci::launch {
namespace {

bool same_namespace(pid_t pid, std::string_view name) {
  struct stat a, b;
  std::string mine = "/proc/self/ns/" + std::string(name);
  std::string theirs = "/proc/" + std::to_string(pid) + "/ns/" + std::string(name);
  if (::stat(mine.c_str(), &a) < 0 || ::stat(theirs.c_str(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Result<NamespacePlan> exec_plan(pid_t pid, const spec::Spec& spec) {
  // The order of setns: user (gives the capabilities for the rest), ..., mount last (it
  // changes our root and cwd).
  static const std::pair<spec::NamespaceType, std::pair<const char*, int>> kOrder[] = {
      {spec::NamespaceType::user, {"user", CLONE_NEWUSER}},
      {spec::NamespaceType::ipc, {"ipc", CLONE_NEWIPC}},
      {spec::NamespaceType::uts, {"uts", CLONE_NEWUTS}},
      {spec::NamespaceType::network, {"net", CLONE_NEWNET}},
      {spec::NamespaceType::pid, {"pid", CLONE_NEWPID}},
      {spec::NamespaceType::cgroup, {"cgroup", CLONE_NEWCGROUP}},
      {spec::NamespaceType::time, {"time", CLONE_NEWTIME}},
      {spec::NamespaceType::mount, {"mnt", CLONE_NEWNS}},
  };
  NamespacePlan plan;
  for (const auto& [type, entry] : kOrder) {
    bool listed = false;
    for (const auto& ns : spec.linux.namespaces) listed |= ns.type == type;
    if (!listed) continue;
    plan.present.push_back(type);
    if (same_namespace(pid, entry.first)) continue;
    plan.join.emplace_back("/proc/" + std::to_string(pid) + "/ns/" + entry.first, entry.second);
  }
  return plan;
}

Result<void> exec_body(const ExecRequest& request, const NamespacePlan& ns,
                       const std::optional<spec::SeccompProgram>& seccomp, SyncChannel& channel,
                       std::string& step) {
  const spec::Process& process = request.process;
  step = "wait for the cgroup";
  GANTRY_TRY(channel.expect(MsgType::ids_mapped));
  bool user_ns = false;
  for (const auto& [path, flag] : ns.join) user_ns |= flag == CLONE_NEWUSER;
  step = "process.oomScoreAdj";
  GANTRY_TRY(apply_oom_score_adj(process));
  step = "process.rlimits";
  GANTRY_TRY(apply_rlimits(process));
  if (process.terminal) {
    step = "console";
    GANTRY_TRY(setup_console(request.console_socket_fd, process));
  }
  if (!process.no_new_privileges) {
    step = "linux.seccomp";
    GANTRY_TRY(apply_seccomp(seccomp));
  }
  step = "linux.personality";
  GANTRY_TRY(apply_personality(*request.spec));
  step = "process.capabilities.bounding";
  GANTRY_TRY(apply_bounding_set(process));
  step = "process.user";
  GANTRY_TRY(apply_user(process, !user_ns || ::geteuid() == 0));
  step = "process.capabilities";
  GANTRY_TRY(apply_capabilities(process));
  step = "process.noNewPrivileges";
  GANTRY_TRY(apply_no_new_privs(process));
  step = "process.cwd";
  GANTRY_TRY(enter_cwd(process));
  step = "process.args";
  GANTRY_ASSIGN_OR_RETURN(std::string path, find_executable(process));
  step = "ready";
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  GANTRY_TRY(channel.send(Message::of(MsgType::ready)));
  if (process.no_new_privileges) {
    step = "linux.seccomp";
    GANTRY_TRY(apply_seccomp(seccomp));
  }
  step = "exec";
  return exec_process(process, path, request.preserve_fds);
}

}  // namespace

Result<pid_t> exec(const ExecRequest& request) {
  assert(request.spec != nullptr);
  if (request.process.args.empty())
    return Error(ErrorKind::invalid_argument, "process.args: empty");
  if (request.process.terminal && request.console_socket_fd < 0)
    return Error(ErrorKind::invalid_argument,
                 "process.terminal: true, but no console socket was given");
  char state = process_state(request.init_pid);
  if (state == 0 || state == 'Z')
    return Error(
        ErrorKind::failed_precondition,
        "the container's init (pid " + std::to_string(request.init_pid) + ") is not running",
        ESRCH);
  GANTRY_ASSIGN_OR_RETURN(NamespacePlan ns, exec_plan(request.init_pid, *request.spec));
  GANTRY_ASSIGN_OR_RETURN(auto seccomp, compile_seccomp_of(*request.spec));
  GANTRY_ASSIGN_OR_RETURN(auto channels, SyncChannel::pair());
  auto& [parent_end, child_end] = channels;
  GANTRY_ASSIGN_OR_RETURN(pid_t pid,
                          spawn(ns, parent_end, child_end, [&](std::string& step) -> Result<void> {
                            return exec_body(request, ns, seccomp, child_end, step);
                          }));
  auto fail = [&](Error e) -> Error {
    kill_and_reap(pid);
    return e;
  };
  if (request.on_child_started)
    if (auto r = request.on_child_started(pid); !r)
      return fail(std::move(r).error().with_context("place the process in the cgroup"));
  if (auto r = parent_end.send(Message::of(MsgType::ids_mapped)); !r)
    return fail(std::move(r).error());
  if (auto r = parent_end.expect(MsgType::ready); !r) return fail(std::move(r).error());
  // The socket closes when exec succeeds (O_CLOEXEC); an error message means it failed.
  auto after = parent_end.receive();
  if (after && after->type == MsgType::error) return fail(after->to_error());
  if (after)
    return fail(Error(ErrorKind::internal,
                      "sync: expected end of stream, got " + std::string(to_string(after->type))));
  return pid;
}

}  // namespace gantry::runtime::oci::launch
