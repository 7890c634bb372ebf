// Which namespaces a container gets (new or joined by path), joining them, and the id maps.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/oci/launch/steps.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci::launch {
namespace {

int ns_flag(spec::NamespaceType type) {
  switch (type) {
    case spec::NamespaceType::pid:
      return CLONE_NEWPID;
    case spec::NamespaceType::network:
      return CLONE_NEWNET;
    case spec::NamespaceType::mount:
      return CLONE_NEWNS;
    case spec::NamespaceType::ipc:
      return CLONE_NEWIPC;
    case spec::NamespaceType::uts:
      return CLONE_NEWUTS;
    case spec::NamespaceType::user:
      return CLONE_NEWUSER;
    case spec::NamespaceType::cgroup:
      return CLONE_NEWCGROUP;
    case spec::NamespaceType::time:
      return CLONE_NEWTIME;
  }
  return 0;
}

std::string map_text(const std::vector<spec::IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  return out;
}

Result<void> write_proc(pid_t pid, const char* name, const std::string& text) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open " + path);
  // One write: the kernel takes a map in a single write(2).
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0 || static_cast<size_t>(n) != text.size())
    return errno_error(n < 0 ? errno : EIO, "write " + path + " '" + text + "'");
  return ok();
}

}  // namespace

bool NamespacePlan::has(spec::NamespaceType type) const {
  return std::find(present.begin(), present.end(), type) != present.end();
}

Result<NamespacePlan> plan_namespaces(const spec::Spec& spec) {
  NamespacePlan plan;
  std::vector<std::pair<std::string, int>> others;
  for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
    const auto& ns = spec.linux.namespaces[i];
    int flag = ns_flag(ns.type);
    if (plan.has(ns.type))
      return Error(ErrorKind::invalid_argument,
                   "linux.namespaces[" + std::to_string(i) + "]: namespace listed twice");
    plan.present.push_back(ns.type);
    if (!ns.path.empty()) {
      if (ns.type == spec::NamespaceType::user)
        plan.join.insert(plan.join.begin(), {ns.path, flag});
      else
        others.emplace_back(ns.path, flag);
      continue;
    }
    switch (ns.type) {
      case spec::NamespaceType::user:
        plan.new_user = true;
        break;
      case spec::NamespaceType::cgroup:
        plan.new_cgroup = true;
        break;
      case spec::NamespaceType::network:
        plan.new_net = true;
        break;
      case spec::NamespaceType::uts:
        plan.new_uts = true;
        break;
      case spec::NamespaceType::ipc:
        plan.new_ipc = true;
        break;
      case spec::NamespaceType::mount:
        plan.new_mount = true;
        break;
      case spec::NamespaceType::pid:
        plan.new_pid = true;
        break;
      case spec::NamespaceType::time:
        // CLONE_NEWTIME shares its bit with clone(2)'s exit signal; only unshare or clone3 take
        // it, and its offsets would have to be written before the first process runs there.
        return Error(ErrorKind::not_implemented, "linux.namespaces[" + std::to_string(i) +
                                                     "]: a new time namespace is not supported");
    }
    if (ns.type != spec::NamespaceType::cgroup) plan.clone_flags |= flag;
  }
  plan.join.insert(plan.join.end(), others.begin(), others.end());
  if (!plan.has(spec::NamespaceType::mount))
    return Error(ErrorKind::invalid_argument,
                 "linux.namespaces: a mount namespace is required to prepare the rootfs");
  if (plan.new_user && spec.linux.uid_mappings.empty())
    return Error(ErrorKind::invalid_argument,
                 "linux.uidMappings: a new user namespace needs uid mappings");
  if (plan.new_user && spec.linux.gid_mappings.empty())
    return Error(ErrorKind::invalid_argument,
                 "linux.gidMappings: a new user namespace needs gid mappings");
  return plan;
}

Result<void> join_namespaces(Syscalls& sys, const NamespacePlan& plan) {
  std::vector<sys::UniqueFd> fds;
  for (const auto& [path, flag] : plan.join) {
    GANTRY_ASSIGN_OR_RETURN_CTX(sys::UniqueFd fd, sys.open(path, O_RDONLY, 0), "namespace path");
    fds.push_back(std::move(fd));
  }
  for (size_t i = 0; i < fds.size(); ++i)
    GANTRY_TRY_CTX(sys.setns(fds[i].get(), plan.join[i].second),
                   "join namespace '" + plan.join[i].first + "'");
  return ok();
}

Result<void> write_id_maps(pid_t pid, const spec::Linux& linux) {
  // Without CAP_SETGID in the parent user namespace a gid map needs setgroups denied; we write
  // as root, so deny only for a map of a single id (the rootless shape), as runc does.
  bool single =
      linux.gid_mappings.size() == 1 && linux.gid_mappings[0].size == 1 && ::geteuid() != 0;
  if (single) GANTRY_TRY(write_proc(pid, "setgroups", "deny"));
  GANTRY_TRY_CTX(write_proc(pid, "uid_map", map_text(linux.uid_mappings)), "linux.uidMappings");
  GANTRY_TRY_CTX(write_proc(pid, "gid_map", map_text(linux.gid_mappings)), "linux.gidMappings");
  return ok();
}

}  // namespace gantry::runtime::oci::launch
