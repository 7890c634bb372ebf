// parse_spec: config.json (runtime-spec 1.1) into a Spec, with the spec's MUSTs checked and
// every error naming its JSON path. Choices where runc 1.1.5 is more lenient than the letter
// of the spec follow runc, so that bundles runc runs also run here:
// - process.user may be absent (uid 0, gid 0), as runc reads it;
// - a relative mount destination is taken relative to "/" (runtime-spec 1.1 allows this);
// - ambient capabilities that are not inheritable are skipped later (see capabilities.h).
#include "runtime/oci/spec/spec.h"

#include <sys/resource.h>

#include <fstream>
#include <set>
#include <sstream>

#include "runtime/oci/spec/capabilities.h"
#include "runtime/oci/spec/json_fields.h"
#include "runtime/oci/spec/mount_options.h"
#include "runtime/oci/spec/seccomp.h"

namespace gantry::runtime::oci::spec {

using namespace detail;  // NOLINT: the json field readers

namespace {

struct RlimitName {
  std::string_view name;
  int resource;
};
constexpr RlimitName kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

struct NamespaceName {
  std::string_view name;
  NamespaceType type;
};
constexpr NamespaceName kNamespaces[] = {
    {"pid", NamespaceType::pid},       {"network", NamespaceType::network},
    {"mount", NamespaceType::mount},   {"ipc", NamespaceType::ipc},
    {"uts", NamespaceType::uts},       {"user", NamespaceType::user},
    {"cgroup", NamespaceType::cgroup}, {"time", NamespaceType::time},
};

bool is_absolute(const std::string& p) {
  return !p.empty() && p[0] == '/';
}

// A member that we do not implement: present and not empty is not_implemented.
Result<void> refuse_if_present(const json& object, std::string_view key, const std::string& path) {
  const json* v = find(object, key);
  if (!v) return ok();
  if ((v->is_object() || v->is_array()) && v->empty()) return ok();
  return unsupported(child(path, key), "not supported");
}

Result<std::map<std::string, std::string>> as_string_map(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  std::map<std::string, std::string> out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    GANTRY_ASSIGN_OR_RETURN(auto s, as_string(it.value(), child(path, it.key())));
    out.emplace(it.key(), std::move(s));
  }
  return out;
}

template <class T, class Read>
Result<std::vector<T>> as_list(const json& v, const std::string& path, Read read) {
  GANTRY_TRY(expect_array(v, path));
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(T t, read(v[i], item(path, i)));
    out.push_back(std::move(t));
  }
  return out;
}

// Reads an optional member into `out` (left as is when absent).
template <class T, class Read>
Result<void> read_into(const json& object, std::string_view key, const std::string& path, T& out,
                       Read read) {
  const json* v = find(object, key);
  if (!v) return ok();
  GANTRY_ASSIGN_OR_RETURN(out, read(*v, child(path, key)));
  return ok();
}

template <class T, class Read>
Result<void> read_opt(const json& object, std::string_view key, const std::string& path,
                      std::optional<T>& out, Read read) {
  const json* v = find(object, key);
  if (!v) return ok();
  GANTRY_ASSIGN_OR_RETURN(T t, read(*v, child(path, key)));
  out = std::move(t);
  return ok();
}

// ---- process -------------------------------------------------------------------------------

Result<User> parse_user(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  User u;
  GANTRY_TRY(read_into(v, "uid", path, u.uid, as_u32));
  GANTRY_TRY(read_into(v, "gid", path, u.gid, as_u32));
  GANTRY_TRY(read_opt(v, "umask", path, u.umask, as_u32));
  if (const json* g = find(v, "additionalGids")) {
    GANTRY_ASSIGN_OR_RETURN(u.additional_gids,
                            as_list<uint32_t>(*g, child(path, "additionalGids"), as_u32));
  }
  return u;
}

Result<Rlimit> parse_rlimit(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Rlimit r;
  GANTRY_ASSIGN_OR_RETURN(r.type, required_member(v, "type", path, as_string));
  bool known = false;
  for (const auto& k : kRlimits) {
    if (k.name == r.type) {
      r.resource = k.resource;
      known = true;
    }
  }
  if (!known) return invalid(child(path, "type"), "unknown rlimit '" + r.type + "'");
  GANTRY_ASSIGN_OR_RETURN(r.soft, required_member(v, "soft", path, as_u64));
  GANTRY_ASSIGN_OR_RETURN(r.hard, required_member(v, "hard", path, as_u64));
  if (r.soft > r.hard) return invalid(child(path, "soft"), "greater than the hard limit");
  return r;
}

Result<std::vector<std::string>> parse_cap_set(const json& v, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(auto names, as_strings(v, path));
  GANTRY_TRY(capability_mask(names, path));
  return names;
}

Result<Capabilities> parse_capabilities(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Capabilities c;
  GANTRY_TRY(read_into(v, "bounding", path, c.bounding, parse_cap_set));
  GANTRY_TRY(read_into(v, "effective", path, c.effective, parse_cap_set));
  GANTRY_TRY(read_into(v, "inheritable", path, c.inheritable, parse_cap_set));
  GANTRY_TRY(read_into(v, "permitted", path, c.permitted, parse_cap_set));
  GANTRY_TRY(read_into(v, "ambient", path, c.ambient, parse_cap_set));
  return c;
}

Result<std::vector<std::string>> parse_env(const json& v, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(auto env, as_strings(v, path));
  for (size_t i = 0; i < env.size(); ++i) {
    auto eq = env[i].find('=');
    if (eq == std::string::npos) return invalid(item(path, i), "missing '=' in '" + env[i] + "'");
    if (eq == 0) return invalid(item(path, i), "empty variable name");
  }
  return env;
}

Result<Process> parse_process_object(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Process p;
  GANTRY_TRY(read_into(v, "terminal", path, p.terminal, as_bool));
  GANTRY_TRY(read_opt(v, "consoleSize", path, p.console_size,
                      [](const json& c, const std::string& cp) -> Result<ConsoleSize> {
                        GANTRY_TRY(expect_object(c, cp));
                        ConsoleSize s;
                        GANTRY_ASSIGN_OR_RETURN(s.height, required_member(c, "height", cp, as_u32));
                        GANTRY_ASSIGN_OR_RETURN(s.width, required_member(c, "width", cp, as_u32));
                        return s;
                      }));
  GANTRY_TRY(read_into(v, "user", path, p.user, parse_user));
  GANTRY_TRY(read_into(v, "args", path, p.args, as_strings));
  if (p.args.empty()) return invalid(child(path, "args"), "at least one entry is required");
  GANTRY_TRY(read_into(v, "env", path, p.env, parse_env));
  GANTRY_ASSIGN_OR_RETURN(p.cwd, required_member(v, "cwd", path, as_string));
  if (!is_absolute(p.cwd)) return invalid(child(path, "cwd"), "must be an absolute path");
  GANTRY_TRY(read_opt(v, "capabilities", path, p.capabilities, parse_capabilities));
  if (const json* r = find(v, "rlimits")) {
    std::string rpath = child(path, "rlimits");
    GANTRY_ASSIGN_OR_RETURN(p.rlimits, as_list<Rlimit>(*r, rpath, parse_rlimit));
    std::set<int> seen;
    for (size_t i = 0; i < p.rlimits.size(); ++i) {
      if (!seen.insert(p.rlimits[i].resource).second)
        return invalid(item(rpath, i) + ".type", "duplicate rlimit '" + p.rlimits[i].type + "'");
    }
  }
  GANTRY_TRY(read_into(v, "noNewPrivileges", path, p.no_new_privileges, as_bool));
  GANTRY_TRY(read_into(v, "apparmorProfile", path, p.apparmor_profile, as_string));
  GANTRY_TRY(read_opt(v, "oomScoreAdj", path, p.oom_score_adj, as_int));
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
    return invalid(child(path, "oomScoreAdj"), "must be between -1000 and 1000");
  GANTRY_TRY(read_into(v, "selinuxLabel", path, p.selinux_label, as_string));
  for (std::string_view key : {"scheduler", "ioPriority", "execCPUAffinity"})
    GANTRY_TRY(refuse_if_present(v, key, path));
  return p;
}

// ---- root, mounts, hooks -------------------------------------------------------------------

Result<IdMapping> parse_id_mapping(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  IdMapping m;
  GANTRY_ASSIGN_OR_RETURN(m.container_id, required_member(v, "containerID", path, as_u32));
  GANTRY_ASSIGN_OR_RETURN(m.host_id, required_member(v, "hostID", path, as_u32));
  GANTRY_ASSIGN_OR_RETURN(m.size, required_member(v, "size", path, as_u32));
  if (m.size == 0) return invalid(child(path, "size"), "must be at least 1");
  return m;
}

Result<Mount> parse_mount(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Mount m;
  GANTRY_ASSIGN_OR_RETURN(m.destination, required_member(v, "destination", path, as_string));
  if (m.destination.empty()) return invalid(child(path, "destination"), "must not be empty");
  // runtime-spec 1.1: a relative destination is relative to "/" (kept for old configs).
  if (m.destination[0] != '/') m.destination = "/" + m.destination;
  GANTRY_TRY(read_into(v, "type", path, m.type, as_string));
  GANTRY_TRY(read_into(v, "source", path, m.source, as_string));
  GANTRY_TRY(read_into(v, "options", path, m.options, as_strings));
  GANTRY_TRY(parse_mount_options(m.options, child(path, "options")));
  // Idmapped mounts (uidMappings/gidMappings on a mount) need mount_setattr with a user
  // namespace fd; gantry-oci does not do that yet.
  GANTRY_TRY(refuse_if_present(v, "uidMappings", path));
  GANTRY_TRY(refuse_if_present(v, "gidMappings", path));
  return m;
}

Result<Hook> parse_hook(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Hook h;
  GANTRY_ASSIGN_OR_RETURN(h.path, required_member(v, "path", path, as_string));
  if (!is_absolute(h.path)) return invalid(child(path, "path"), "must be an absolute path");
  GANTRY_TRY(read_into(v, "args", path, h.args, as_strings));
  GANTRY_TRY(read_into(v, "env", path, h.env, parse_env));
  GANTRY_TRY(read_opt(v, "timeout", path, h.timeout_seconds, as_int));
  if (h.timeout_seconds && *h.timeout_seconds <= 0)
    return invalid(child(path, "timeout"), "must be greater than zero");
  return h;
}

Result<Hooks> parse_hooks(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Hooks h;
  auto list = [&](std::string_view key, std::vector<Hook>& out) -> Result<void> {
    const json* l = find(v, key);
    if (!l) return ok();
    GANTRY_ASSIGN_OR_RETURN(out, as_list<Hook>(*l, child(path, key), parse_hook));
    return ok();
  };
  GANTRY_TRY(list("prestart", h.prestart));
  GANTRY_TRY(list("createRuntime", h.create_runtime));
  GANTRY_TRY(list("createContainer", h.create_container));
  GANTRY_TRY(list("startContainer", h.start_container));
  GANTRY_TRY(list("poststart", h.poststart));
  GANTRY_TRY(list("poststop", h.poststop));
  return h;
}

// ---- linux ---------------------------------------------------------------------------------

Result<Namespace> parse_namespace(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  GANTRY_ASSIGN_OR_RETURN(std::string type, required_member(v, "type", path, as_string));
  Namespace ns;
  bool known = false;
  for (const auto& k : kNamespaces) {
    if (k.name == type) {
      ns.type = k.type;
      known = true;
    }
  }
  if (!known) return invalid(child(path, "type"), "unknown namespace type '" + type + "'");
  GANTRY_TRY(read_into(v, "path", path, ns.path, as_string));
  if (!ns.path.empty() && !is_absolute(ns.path))
    return invalid(child(path, "path"), "must be an absolute path");
  return ns;
}

Result<Device> parse_device(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Device d;
  GANTRY_ASSIGN_OR_RETURN(std::string type, required_member(v, "type", path, as_string));
  if (type != "c" && type != "b" && type != "u" && type != "p")
    return invalid(child(path, "type"), "unknown device type '" + type + "'");
  d.type = type[0];
  GANTRY_ASSIGN_OR_RETURN(d.path, required_member(v, "path", path, as_string));
  if (!is_absolute(d.path)) return invalid(child(path, "path"), "must be an absolute path");
  if (d.type != 'p') {
    GANTRY_ASSIGN_OR_RETURN(d.major, required_member(v, "major", path, as_i64));
    GANTRY_ASSIGN_OR_RETURN(d.minor, required_member(v, "minor", path, as_i64));
  } else {
    GANTRY_TRY(read_into(v, "major", path, d.major, as_i64));
    GANTRY_TRY(read_into(v, "minor", path, d.minor, as_i64));
  }
  if (d.major < 0) return invalid(child(path, "major"), "must not be negative");
  if (d.minor < 0) return invalid(child(path, "minor"), "must not be negative");
  GANTRY_TRY(read_opt(v, "fileMode", path, d.file_mode, as_u32));
  GANTRY_TRY(read_opt(v, "uid", path, d.uid, as_u32));
  GANTRY_TRY(read_opt(v, "gid", path, d.gid, as_u32));
  return d;
}

Result<DeviceCgroupRule> parse_device_rule(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  DeviceCgroupRule r;
  GANTRY_ASSIGN_OR_RETURN(r.allow, required_member(v, "allow", path, as_bool));
  GANTRY_TRY(read_into(v, "type", path, r.type, as_string));
  if (!r.type.empty() && r.type != "a" && r.type != "b" && r.type != "c")
    return invalid(child(path, "type"), "unknown device type '" + r.type + "'");
  GANTRY_TRY(read_opt(v, "major", path, r.major, as_i64));
  GANTRY_TRY(read_opt(v, "minor", path, r.minor, as_i64));
  GANTRY_TRY(read_into(v, "access", path, r.access, as_string));
  for (char c : r.access) {
    if (c != 'r' && c != 'w' && c != 'm')
      return invalid(child(path, "access"), "'" + r.access + "' is not a subset of \"rwm\"");
  }
  return r;
}

Result<MemoryResources> parse_memory(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  MemoryResources m;
  GANTRY_TRY(read_opt(v, "limit", path, m.limit, as_i64));
  GANTRY_TRY(read_opt(v, "reservation", path, m.reservation, as_i64));
  GANTRY_TRY(read_opt(v, "swap", path, m.swap, as_i64));
  GANTRY_TRY(read_opt(v, "kernel", path, m.kernel, as_i64));
  GANTRY_TRY(read_opt(v, "kernelTCP", path, m.kernel_tcp, as_i64));
  GANTRY_TRY(read_opt(v, "swappiness", path, m.swappiness, as_u64));
  if (m.swappiness && *m.swappiness > 100)
    return invalid(child(path, "swappiness"), "must be between 0 and 100");
  GANTRY_TRY(read_opt(v, "disableOOMKiller", path, m.disable_oom_killer, as_bool));
  GANTRY_TRY(read_opt(v, "useHierarchy", path, m.use_hierarchy, as_bool));
  bool check_before_update = false;  // honoured trivially: updates never lower below usage
  GANTRY_TRY(read_into(v, "checkBeforeUpdate", path, check_before_update, as_bool));
  return m;
}

Result<CpuResources> parse_cpu(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  CpuResources c;
  GANTRY_TRY(read_opt(v, "shares", path, c.shares, as_u64));
  GANTRY_TRY(read_opt(v, "quota", path, c.quota, as_i64));
  GANTRY_TRY(read_opt(v, "period", path, c.period, as_u64));
  GANTRY_TRY(read_opt(v, "realtimeRuntime", path, c.realtime_runtime, as_i64));
  GANTRY_TRY(read_opt(v, "realtimePeriod", path, c.realtime_period, as_u64));
  GANTRY_TRY(read_into(v, "cpus", path, c.cpus, as_string));
  GANTRY_TRY(read_into(v, "mems", path, c.mems, as_string));
  GANTRY_TRY(read_opt(v, "idle", path, c.idle, as_i64));
  return c;
}

Result<Resources> parse_resources(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Resources r;
  if (const json* d = find(v, "devices")) {
    GANTRY_ASSIGN_OR_RETURN(
        r.devices, as_list<DeviceCgroupRule>(*d, child(path, "devices"), parse_device_rule));
  }
  GANTRY_TRY(read_opt(v, "memory", path, r.memory, parse_memory));
  GANTRY_TRY(read_opt(v, "cpu", path, r.cpu, parse_cpu));
  GANTRY_TRY(read_opt(v, "pids", path, r.pids,
                      [](const json& p, const std::string& pp) -> Result<PidsResources> {
                        GANTRY_TRY(expect_object(p, pp));
                        PidsResources out;
                        GANTRY_ASSIGN_OR_RETURN(out.limit, required_member(p, "limit", pp, as_i64));
                        return out;
                      }));
  GANTRY_TRY(read_into(v, "unified", path, r.unified, as_string_map));
  for (std::string_view key : {"blockIO", "hugepageLimits", "network", "rdma"})
    GANTRY_TRY(refuse_if_present(v, key, path));
  return r;
}

Result<SeccompArg> parse_seccomp_arg(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  SeccompArg a;
  GANTRY_ASSIGN_OR_RETURN(a.index, required_member(v, "index", path, as_u32));
  if (a.index > 5) return invalid(child(path, "index"), "must be below 6");
  GANTRY_ASSIGN_OR_RETURN(a.value, required_member(v, "value", path, as_u64));
  GANTRY_TRY(read_into(v, "valueTwo", path, a.value_two, as_u64));
  GANTRY_ASSIGN_OR_RETURN(a.op, required_member(v, "op", path, as_string));
  if (!is_seccomp_operator(a.op))
    return invalid(child(path, "op"), "unknown operator '" + a.op + "'");
  return a;
}

Result<void> check_action(const std::string& action, const std::string& path) {
  if (action == "SCMP_ACT_NOTIFY") return unsupported(path, "SCMP_ACT_NOTIFY is not supported");
  if (!is_seccomp_action(action)) return invalid(path, "unknown action '" + action + "'");
  return ok();
}

Result<SeccompSyscall> parse_seccomp_syscall(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  SeccompSyscall s;
  GANTRY_ASSIGN_OR_RETURN(s.names, required_member(v, "names", path, as_strings));
  if (s.names.empty()) return invalid(child(path, "names"), "at least one name is required");
  GANTRY_ASSIGN_OR_RETURN(s.action, required_member(v, "action", path, as_string));
  GANTRY_TRY(check_action(s.action, child(path, "action")));
  GANTRY_TRY(read_opt(v, "errnoRet", path, s.errno_ret, as_u32));
  if (const json* a = find(v, "args")) {
    GANTRY_ASSIGN_OR_RETURN(s.args,
                            as_list<SeccompArg>(*a, child(path, "args"), parse_seccomp_arg));
  }
  return s;
}

Result<Seccomp> parse_seccomp(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Seccomp s;
  GANTRY_ASSIGN_OR_RETURN(s.default_action, required_member(v, "defaultAction", path, as_string));
  GANTRY_TRY(check_action(s.default_action, child(path, "defaultAction")));
  GANTRY_TRY(read_opt(v, "defaultErrnoRet", path, s.default_errno_ret, as_u32));
  GANTRY_TRY(read_into(v, "architectures", path, s.architectures, as_strings));
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    if (!is_seccomp_arch(s.architectures[i])) {
      return invalid(item(child(path, "architectures"), i),
                     "unknown architecture '" + s.architectures[i] + "'");
    }
  }
  GANTRY_TRY(read_into(v, "flags", path, s.flags, as_strings));
  for (size_t i = 0; i < s.flags.size(); ++i) {
    if (!is_seccomp_flag(s.flags[i])) {
      std::string fpath = item(child(path, "flags"), i);
      if (s.flags[i].rfind("SECCOMP_FILTER_FLAG_", 0) == 0)
        return unsupported(fpath, "'" + s.flags[i] + "' is not supported");
      return invalid(fpath, "unknown flag '" + s.flags[i] + "'");
    }
  }
  GANTRY_TRY(read_into(v, "listenerPath", path, s.listener_path, as_string));
  if (!s.listener_path.empty()) return unsupported(child(path, "listenerPath"), "not supported");
  GANTRY_TRY(read_into(v, "listenerMetadata", path, s.listener_metadata, as_string));
  if (const json* l = find(v, "syscalls")) {
    GANTRY_ASSIGN_OR_RETURN(
        s.syscalls, as_list<SeccompSyscall>(*l, child(path, "syscalls"), parse_seccomp_syscall));
  }
  return s;
}

Result<Personality> parse_personality(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Personality p;
  GANTRY_ASSIGN_OR_RETURN(p.domain, required_member(v, "domain", path, as_string));
  if (p.domain != "LINUX" && p.domain != "LINUX32")
    return unsupported(child(path, "domain"), "unsupported domain '" + p.domain + "'");
  GANTRY_TRY(read_into(v, "flags", path, p.flags, as_strings));
  if (!p.flags.empty())
    return unsupported(child(path, "flags"), "personality flags are not supported");
  return p;
}

Result<std::vector<std::string>> absolute_paths(const json& v, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(auto paths, as_strings(v, path));
  for (size_t i = 0; i < paths.size(); ++i)
    if (!is_absolute(paths[i])) return invalid(item(path, i), "must be an absolute path");
  return paths;
}

Result<Linux> parse_linux(const json& v, const std::string& path) {
  GANTRY_TRY(expect_object(v, path));
  Linux l;
  if (const json* n = find(v, "namespaces")) {
    std::string npath = child(path, "namespaces");
    GANTRY_ASSIGN_OR_RETURN(l.namespaces, as_list<Namespace>(*n, npath, parse_namespace));
    for (size_t i = 0; i < l.namespaces.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (l.namespaces[j].type == l.namespaces[i].type) {
          return invalid(
              item(npath, i) + ".type",
              "duplicate namespace type '" + std::string(to_string(l.namespaces[i].type)) + "'");
        }
      }
    }
  }
  if (const json* m = find(v, "uidMappings")) {
    GANTRY_ASSIGN_OR_RETURN(l.uid_mappings,
                            as_list<IdMapping>(*m, child(path, "uidMappings"), parse_id_mapping));
  }
  if (const json* m = find(v, "gidMappings")) {
    GANTRY_ASSIGN_OR_RETURN(l.gid_mappings,
                            as_list<IdMapping>(*m, child(path, "gidMappings"), parse_id_mapping));
  }
  GANTRY_TRY(read_into(v, "sysctl", path, l.sysctl, as_string_map));
  GANTRY_TRY(read_opt(v, "resources", path, l.resources, parse_resources));
  GANTRY_TRY(read_into(v, "cgroupsPath", path, l.cgroups_path, as_string));
  if (const json* d = find(v, "devices")) {
    GANTRY_ASSIGN_OR_RETURN(l.devices, as_list<Device>(*d, child(path, "devices"), parse_device));
  }
  GANTRY_TRY(read_opt(v, "seccomp", path, l.seccomp, parse_seccomp));
  GANTRY_TRY(read_into(v, "rootfsPropagation", path, l.rootfs_propagation, as_string));
  GANTRY_TRY(rootfs_propagation_flags(l.rootfs_propagation));
  GANTRY_TRY(read_into(v, "maskedPaths", path, l.masked_paths, absolute_paths));
  GANTRY_TRY(read_into(v, "readonlyPaths", path, l.readonly_paths, absolute_paths));
  GANTRY_TRY(read_into(v, "mountLabel", path, l.mount_label, as_string));
  GANTRY_TRY(read_opt(v, "personality", path, l.personality, parse_personality));
  for (std::string_view key : {"intelRdt", "timeOffsets", "memoryPolicy", "netDevices"})
    GANTRY_TRY(refuse_if_present(v, key, path));
  return l;
}

// ---- rules across fields -------------------------------------------------------------------

// Which namespace a sysctl belongs to (runc's rule set); nullopt: not namespaced, refused.
std::optional<NamespaceType> sysctl_namespace(const std::string& key) {
  static const std::set<std::string> ipc = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  if (ipc.count(key) || key.rfind("fs.mqueue.", 0) == 0) return NamespaceType::ipc;
  if (key.rfind("net.", 0) == 0) return NamespaceType::network;
  if (key == "kernel.hostname" || key == "kernel.domainname") return NamespaceType::uts;
  return std::nullopt;
}

Result<void> check_linux_rules(const Spec& s) {
  const Linux& l = s.linux;
  const Namespace* user = l.find_namespace(NamespaceType::user);
  bool new_user = user && user->path.empty();
  if (new_user) {
    if (l.uid_mappings.empty())
      return invalid("linux.uidMappings", "required when a new user namespace is created");
    if (l.gid_mappings.empty())
      return invalid("linux.gidMappings", "required when a new user namespace is created");
  } else if (!user && (!l.uid_mappings.empty() || !l.gid_mappings.empty())) {
    return invalid(l.uid_mappings.empty() ? "linux.gidMappings" : "linux.uidMappings",
                   "mappings need a user namespace in linux.namespaces");
  }
  if (!s.hostname.empty() && !l.find_namespace(NamespaceType::uts))
    return invalid("hostname", "setting the hostname needs a uts namespace");
  if (!s.domainname.empty() && !l.find_namespace(NamespaceType::uts))
    return invalid("domainname", "setting the domainname needs a uts namespace");
  for (const auto& [key, value] : l.sysctl) {
    auto ns = sysctl_namespace(key);
    if (!ns) return invalid("linux.sysctl." + key, "not a namespaced sysctl");
    if (!l.find_namespace(*ns)) {
      return invalid("linux.sysctl." + key,
                     "needs a " + std::string(to_string(*ns)) + " namespace");
    }
  }
  if (l.find_namespace(NamespaceType::time))
    return unsupported("linux.namespaces", "time namespaces are not supported");
  return ok();
}

Result<Spec> parse_spec_object(const json& doc) {
  GANTRY_TRY(expect_object(doc, "config"));
  Spec s;
  GANTRY_ASSIGN_OR_RETURN(s.oci_version, required_member(doc, "ociVersion", "", as_string));
  if (s.oci_version.rfind("1.", 0) != 0)
    return unsupported("ociVersion", "unsupported version '" + s.oci_version + "' (want 1.x)");
  GANTRY_TRY(read_opt(doc, "process", "", s.process, parse_process_object));
  const json* root = find(doc, "root");
  if (!root) return invalid("root", "required");
  GANTRY_TRY(expect_object(*root, "root"));
  GANTRY_ASSIGN_OR_RETURN(s.root.path, required_member(*root, "path", "root", as_string));
  if (s.root.path.empty()) return invalid("root.path", "must not be empty");
  GANTRY_TRY(read_into(*root, "readonly", "root", s.root.readonly, as_bool));
  GANTRY_TRY(read_into(doc, "hostname", "", s.hostname, as_string));
  GANTRY_TRY(read_into(doc, "domainname", "", s.domainname, as_string));
  if (const json* m = find(doc, "mounts")) {
    GANTRY_ASSIGN_OR_RETURN(s.mounts, as_list<Mount>(*m, "mounts", parse_mount));
  }
  GANTRY_TRY(read_into(doc, "hooks", "", s.hooks, parse_hooks));
  GANTRY_TRY(read_into(doc, "annotations", "", s.annotations, as_string_map));
  GANTRY_TRY(read_into(doc, "linux", "", s.linux, parse_linux));
  GANTRY_TRY(refuse_if_present(doc, "vm", ""));
  GANTRY_TRY(check_linux_rules(s));
  return s;
}

Result<json> parse_json(std::string_view text, std::string_view what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Error(ErrorKind::invalid_argument, std::string(what) + ": invalid JSON: " + e.what());
  }
}

}  // namespace

Result<Spec> parse_spec(std::string_view json_text) {
  GANTRY_ASSIGN_OR_RETURN(json doc, parse_json(json_text, "config.json"));
  return parse_spec_object(doc);
}

Result<Process> parse_process(std::string_view json_text) {
  GANTRY_ASSIGN_OR_RETURN(json doc, parse_json(json_text, "process.json"));
  return parse_process_object(doc, "process");
}

Result<Spec> load_bundle_spec(const std::filesystem::path& bundle) {
  auto path = bundle / "config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    return errno_error(e ? e : ENOENT, "read '" + path.string() + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return errno_error(EIO, "read '" + path.string() + "'");
  auto spec = parse_spec(text.str());
  if (!spec) return std::move(spec).error().with_context("'" + path.string() + "'");
  return spec;
}

std::filesystem::path rootfs_path(const Spec& spec, const std::filesystem::path& bundle) {
  std::filesystem::path root(spec.root.path);
  if (root.is_absolute()) return root.lexically_normal();
  return (std::filesystem::absolute(bundle) / root).lexically_normal();
}

}  // namespace gantry::runtime::oci::spec
