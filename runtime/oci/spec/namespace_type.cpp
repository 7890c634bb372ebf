// NamespaceType: the spec's names, clone(2) flags and /proc/<pid>/ns entries.
#include <sched.h>

#include "runtime/oci/spec/spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace gantry::runtime::oci::spec {

std::string_view to_string(NamespaceType type) {
  switch (type) {
    case NamespaceType::pid:
      return "pid";
    case NamespaceType::network:
      return "network";
    case NamespaceType::mount:
      return "mount";
    case NamespaceType::ipc:
      return "ipc";
    case NamespaceType::uts:
      return "uts";
    case NamespaceType::user:
      return "user";
    case NamespaceType::cgroup:
      return "cgroup";
    case NamespaceType::time:
      return "time";
  }
  return "?";
}

int clone_flag(NamespaceType type) {
  switch (type) {
    case NamespaceType::pid:
      return CLONE_NEWPID;
    case NamespaceType::network:
      return CLONE_NEWNET;
    case NamespaceType::mount:
      return CLONE_NEWNS;
    case NamespaceType::ipc:
      return CLONE_NEWIPC;
    case NamespaceType::uts:
      return CLONE_NEWUTS;
    case NamespaceType::user:
      return CLONE_NEWUSER;
    case NamespaceType::cgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::time:
      return CLONE_NEWTIME;
  }
  return 0;
}

std::string_view proc_ns_name(NamespaceType type) {
  switch (type) {
    case NamespaceType::pid:
      return "pid";
    case NamespaceType::network:
      return "net";
    case NamespaceType::mount:
      return "mnt";
    case NamespaceType::ipc:
      return "ipc";
    case NamespaceType::uts:
      return "uts";
    case NamespaceType::user:
      return "user";
    case NamespaceType::cgroup:
      return "cgroup";
    case NamespaceType::time:
      return "time";
  }
  return "?";
}

const Namespace* Linux::find_namespace(NamespaceType type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

}  // namespace gantry::runtime::oci::spec
