// The container process's own settings, applied by the init (or an exec'd process) in its
// namespaces: names, sysctl, rlimits, oom_score_adj, credentials, capabilities, no_new_privs,
// seccomp, the working directory, and the exec itself.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <set>

#include "runtime/oci/launch/steps.h"
#include "runtime/oci/spec/capabilities.h"

namespace gantry::runtime::oci::launch {
namespace {

int last_cap() {
  static int last = [] {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int v = CAP_LAST_CAP;
    if (!(in >> v)) v = CAP_LAST_CAP;
    return v;
  }();
  return last;
}

// What this process holds: a capability we do not have (root here may lack some) cannot be
// given, so the sets are cut to it, as runc does for its own missing capabilities.
uint64_t own_permitted() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) < 0) return ~uint64_t{0};
  return uint64_t{data[0].permitted} | (uint64_t{data[1].permitted} << 32);
}

const std::set<std::string> kIpcSysctls = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};

}  // namespace

Result<void> set_hostname(Syscalls& sys, const spec::Spec& spec, const NamespacePlan& ns) {
  bool uts = ns.has(spec::NamespaceType::uts);
  if (!spec.hostname.empty()) {
    if (!uts) return Error(ErrorKind::invalid_argument, "hostname: needs a uts namespace");
    GANTRY_TRY_CTX(sys.sethostname(spec.hostname), "hostname");
  }
  if (!spec.domainname.empty()) {
    if (!uts) return Error(ErrorKind::invalid_argument, "domainname: needs a uts namespace");
    GANTRY_TRY_CTX(sys.setdomainname(spec.domainname), "domainname");
  }
  return ok();
}

Result<void> validate_sysctl(const spec::Spec& spec, const NamespacePlan& ns) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string field = "linux.sysctl['" + key + "']";
    if (key.rfind("net.", 0) == 0) {
      if (!ns.has(spec::NamespaceType::network))
        return Error(ErrorKind::invalid_argument, field + ": needs a network namespace");
      continue;
    }
    if (kIpcSysctls.count(key) || key.rfind("fs.mqueue.", 0) == 0) {
      if (!ns.has(spec::NamespaceType::ipc))
        return Error(ErrorKind::invalid_argument, field + ": needs an ipc namespace");
      continue;
    }
    if (key == "kernel.hostname" || key == "kernel.domainname") {
      if (!ns.has(spec::NamespaceType::uts))
        return Error(ErrorKind::invalid_argument, field + ": needs a uts namespace");
      continue;
    }
    return Error(ErrorKind::invalid_argument,
                 field + ": not in a namespace of the container (it would change the host)");
  }
  return ok();
}

Result<void> apply_sysctl(Syscalls& sys, const spec::Spec& spec) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    if (key.find("..") != std::string::npos || key.find('/') != std::string::npos)
      return Error(ErrorKind::invalid_argument, "linux.sysctl['" + key + "']: bad key");
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    GANTRY_TRY_CTX(sys.write_file(path, value), "linux.sysctl['" + key + "']");
  }
  return ok();
}

Result<void> apply_rlimits(const spec::Process& process) {
  for (size_t i = 0; i < process.rlimits.size(); ++i) {
    const auto& r = process.rlimits[i];
    struct rlimit lim {
      static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)
    };
    if (::setrlimit(r.resource, &lim) < 0)
      return errno_error(errno, "process.rlimits[" + std::to_string(i) + "] (" + r.type + ")");
  }
  return ok();
}

Result<void> apply_oom_score_adj(const spec::Process& process) {
  if (!process.oom_score_adj) return ok();
  std::string value = std::to_string(*process.oom_score_adj);
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "process.oomScoreAdj: open /proc/self/oom_score_adj");
  ssize_t n = ::write(fd, value.data(), value.size());
  int saved = errno;
  ::close(fd);
  if (n < 0) return errno_error(saved, "process.oomScoreAdj: write " + value);
  return ok();
}

Result<void> apply_bounding_set(const spec::Process& process) {
  GANTRY_ASSIGN_OR_RETURN(spec::CapabilityPlan plan, spec::capability_plan(process.capabilities));
  for (int c : plan.bounding_drop) {
    if (c > last_cap() || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
      return errno_error(
          errno, "drop " + std::string(spec::capability_name(c)) + " from the bounding set");
  }
  return ok();
}

Result<void> apply_user(const spec::Process& process, bool setgroups_allowed) {
  const auto& u = process.user;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return errno_error(errno, "PR_SET_KEEPCAPS");
  if (setgroups_allowed) {
    std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0)
      return errno_error(errno, "process.user.additionalGids: setgroups");
  }
  if (::setresgid(u.gid, u.gid, u.gid) < 0)
    return errno_error(errno, "process.user.gid: setgid " + std::to_string(u.gid));
  if (::setresuid(u.uid, u.uid, u.uid) < 0)
    return errno_error(errno, "process.user.uid: setuid " + std::to_string(u.uid));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return errno_error(errno, "PR_SET_KEEPCAPS");
  return ok();
}

Result<void> apply_capabilities(const spec::Process& process) {
  GANTRY_ASSIGN_OR_RETURN(spec::CapabilityPlan plan, spec::capability_plan(process.capabilities));
  uint64_t held = own_permitted();
  plan.effective &= held;
  plan.permitted &= held;
  plan.inheritable &= held;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = plan.effective_word(i);
    data[i].permitted = plan.permitted_word(i);
    data[i].inheritable = plan.inheritable_word(i);
  }
  if (::syscall(SYS_capset, &header, data) < 0)
    return errno_error(errno, "process.capabilities: capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return errno_error(errno, "clear ambient capabilities");
  for (int c : plan.ambient_raise) {
    if (((plan.permitted & plan.inheritable) >> c & 1) == 0) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      return errno_error(
          errno, "process.capabilities.ambient: raise " + std::string(spec::capability_name(c)));
  }
  return ok();
}

Result<void> apply_personality(const spec::Spec& spec) {
  if (!spec.linux.personality) return ok();
  const std::string& domain = spec.linux.personality->domain;
  unsigned long persona;
  if (domain == "LINUX")
    persona = PER_LINUX;
  else if (domain == "LINUX32")
    persona = PER_LINUX32;
  else
    return Error(ErrorKind::invalid_argument,
                 "linux.personality.domain: unknown domain '" + domain + "'");
  if (::personality(persona) < 0) return errno_error(errno, "linux.personality");
  return ok();
}

Result<void> apply_no_new_privs(const spec::Process& process) {
  if (!process.no_new_privileges) return ok();
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return errno_error(errno, "process.noNewPrivileges");
  return ok();
}

Result<std::optional<spec::SeccompProgram>> compile_seccomp_of(const spec::Spec& spec) {
  if (!spec.linux.seccomp) return std::optional<spec::SeccompProgram>();
  GANTRY_ASSIGN_OR_RETURN(spec::SeccompProgram program, spec::compile_seccomp(*spec.linux.seccomp));
  return std::optional<spec::SeccompProgram>(std::move(program));
}

Result<void> apply_seccomp(const std::optional<spec::SeccompProgram>& program) {
  if (!program) return ok();
  return spec::install_seccomp_program(*program);
}

Result<void> enter_cwd(const spec::Process& process) {
  std::string cwd = process.cwd.empty() ? "/" : process.cwd;
  if (::chdir(cwd.c_str()) < 0) return errno_error(errno, "process.cwd: chdir '" + cwd + "'");
  // A cwd reached through a leaked fd of the host (CVE-2024-21626) is outside our root:
  // getcwd reports it as unreachable (ENOENT, or a path not starting with '/').
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr)
    return errno_error(errno, "process.cwd: '" + cwd + "' is not inside the container's root");
  if (buf[0] != '/')
    return Error(ErrorKind::permission_denied,
                 "process.cwd: '" + cwd + "' is not inside the container's root");
  return ok();
}

namespace {
std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  return "";
}
bool executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}
}  // namespace

Result<std::string> find_executable(const spec::Process& process) {
  if (process.args.empty()) return Error(ErrorKind::invalid_argument, "process.args: empty");
  const std::string& name = process.args[0];
  if (name.find('/') != std::string::npos) {
    if (!executable_file(name))
      return errno_error(errno ? errno : EACCES, "process.args[0]: '" + name + "'");
    return name;
  }
  std::string path = env_value(process.env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return Error(ErrorKind::not_found,
               "process.args[0]: executable file '" + name + "' not found in $PATH", ENOENT);
}

void cloexec_from(int from) {
  if (::close_range(static_cast<unsigned>(from), ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = from; fd < 65536; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// HOME from the container's /etc/passwd for the process's uid when the config does not set
// it, else "/", as runc does.
std::vector<std::string> env_with_home(const spec::Process& process) {
  std::vector<std::string> env = process.env;
  for (const auto& e : env)
    if (e.rfind("HOME=", 0) == 0) return env;
  std::string home = "/";
  std::ifstream passwd("/etc/passwd");
  std::string line;
  while (std::getline(passwd, line)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> fields;
    size_t start = 0;
    for (;;) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (fields.size() >= 6 && fields[2] == std::to_string(process.user.uid) && !fields[5].empty()) {
      home = fields[5];
      break;
    }
  }
  env.push_back("HOME=" + home);
  return env;
}

Error exec_process(const spec::Process& process, const std::string& path, int preserve_fds) {
  ::umask(process.user.umask.value_or(022));
  cloexec_from(3 + preserve_fds);
  std::vector<char*> argv;
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env = env_with_home(process);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(path.c_str(), argv.data(), envp.data());
  return errno_error(errno, "exec '" + path + "'");
}

}  // namespace gantry::runtime::oci::launch
