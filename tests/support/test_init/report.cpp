#include "tests/support/test_init/report.h"

#include <dirent.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace gantry::test_init {
namespace {

using nlohmann::json;

// Capability names in bit order, as the OCI config spells them.
constexpr const char* kCapNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

struct RlimitName {
  int resource;
  const char* name;
};
constexpr RlimitName kRlimits[] = {
    {RLIMIT_AS, "RLIMIT_AS"},
    {RLIMIT_CORE, "RLIMIT_CORE"},
    {RLIMIT_CPU, "RLIMIT_CPU"},
    {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
    {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"},
    {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},
    {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},
    {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
    {RLIMIT_STACK, "RLIMIT_STACK"},
};

bool read_text(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// "Key:\tvalue" lines of /proc/self/status.
std::map<std::string, std::string> proc_status() {
  std::map<std::string, std::string> out;
  std::string text;
  if (!read_text("/proc/self/status", text)) return out;
  for (const auto& line : split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = trim(line.substr(colon + 1));
  }
  return out;
}

json capability_set(const std::string& hex) {
  uint64_t mask = std::strtoull(hex.c_str(), nullptr, 16);
  json names = json::array();
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(mask & (uint64_t{1} << bit))) continue;
    if (bit < sizeof(kCapNames) / sizeof(kCapNames[0])) {
      names.push_back(kCapNames[bit]);
    } else {
      names.push_back("CAP_" + std::to_string(bit));
    }
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(mask));
  return {{"mask", buf}, {"names", names}};
}

json capabilities(const std::map<std::string, std::string>& status) {
  json out = json::object();
  const std::pair<const char*, const char*> sets[] = {{"CapInh", "inheritable"},
                                                      {"CapPrm", "permitted"},
                                                      {"CapEff", "effective"},
                                                      {"CapBnd", "bounding"},
                                                      {"CapAmb", "ambient"}};
  for (const auto& [key, name] : sets) {
    auto it = status.find(key);
    out[name] = capability_set(it == status.end() ? "0" : it->second);
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out += char((a - '0') * 64 + (b - '0') * 8 + (c - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

json sorted_options(const std::string& text) {
  auto parts = split(text, ',');
  std::sort(parts.begin(), parts.end());
  json out = json::array();
  for (auto& p : parts) {
    if (!p.empty()) out.push_back(p);
  }
  return out;
}

json mounts() {
  struct Mount {
    std::string point;
    json value;
  };
  std::vector<Mount> list;
  std::string text;
  if (!read_text("/proc/self/mountinfo", text)) return json::array();
  for (const auto& line : split(text, '\n')) {
    if (line.empty()) continue;
    auto f = split(line, ' ');
    // id parent major:minor root point options [optional...] - fstype source super_options
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 3) {
      continue;
    }
    json propagation = json::array();
    for (auto it = f.begin() + 6; it != dash; ++it) propagation.push_back(*it);
    Mount m;
    m.point = unescape_octal(f[4]);
    m.value = {{"mount_point", m.point},
               {"root", unescape_octal(f[3])},
               {"fstype", *(dash + 1)},
               {"source", unescape_octal(*(dash + 2))},
               {"options", sorted_options(f[5])},
               {"super_options", dash + 3 < f.end() ? sorted_options(*(dash + 3)) : json::array()},
               {"propagation", propagation}};
    list.push_back(std::move(m));
  }
  // Sorted by mount point; mounts stacked on one point keep their order (the last is visible).
  std::stable_sort(list.begin(), list.end(),
                   [](const Mount& a, const Mount& b) { return a.point < b.point; });
  json out = json::array();
  for (auto& m : list) out.push_back(std::move(m.value));
  return out;
}

// The first readable file of `paths`, trimmed; null when none is.
json first_of(std::initializer_list<const char*> paths, std::string* from = nullptr) {
  for (const char* p : paths) {
    std::string text;
    if (read_text(p, text)) {
      if (from) *from = p;
      return trim(text);
    }
  }
  return nullptr;
}

// A limit as a number, or "max" when it means no limit (v2 "max", v1 -1 or the huge v1
// memory default at or above 2^62).
json limit_value(const json& raw) {
  if (raw.is_null()) return nullptr;
  std::string s = raw.get<std::string>();
  if (s == "max" || s == "-1") return "max";
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return s;
  if (v >= (1ULL << 62)) return "max";
  return v;
}

json cgroup_limits() {
  json out = json::object();
  std::string from;
  out["memory_limit_bytes"] = limit_value(first_of(
      {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}, &from));
  out["pids_max"] =
      limit_value(first_of({"/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"}));
  // cpu: v2 "QUOTA PERIOD" in cpu.max; v1 two files.
  json cpu_max = first_of({"/sys/fs/cgroup/cpu.max"});
  if (cpu_max.is_string()) {
    auto parts = split(cpu_max.get<std::string>(), ' ');
    out["cpu_quota_us"] = limit_value(parts[0]);
    out["cpu_period_us"] = parts.size() > 1 ? limit_value(parts[1]) : json(nullptr);
  } else {
    out["cpu_quota_us"] = limit_value(first_of(
        {"/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"}));
    out["cpu_period_us"] = limit_value(first_of(
        {"/sys/fs/cgroup/cpu/cpu.cfs_period_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us"}));
  }
  out["cpu_shares"] = limit_value(first_of({"/sys/fs/cgroup/cpu/cpu.shares"}));
  out["cpu_weight"] = limit_value(first_of({"/sys/fs/cgroup/cpu.weight"}));
  out["cpuset_cpus"] = first_of({"/sys/fs/cgroup/cpuset.cpus.effective",
                                 "/sys/fs/cgroup/cpuset/cpuset.effective_cpus",
                                 "/sys/fs/cgroup/cpuset/cpuset.cpus"});
  out["cpuset_mems"] = first_of({"/sys/fs/cgroup/cpuset.mems.effective",
                                 "/sys/fs/cgroup/cpuset/cpuset.effective_mems",
                                 "/sys/fs/cgroup/cpuset/cpuset.mems"});
  out["version"] = from.empty()                          ? json(nullptr)
                   : from == "/sys/fs/cgroup/memory.max" ? json("v2")
                                                         : json("v1");
  std::string text;
  json membership = json::array();
  if (read_text("/proc/self/cgroup", text)) {
    for (const auto& line : split(text, '\n')) {
      if (!line.empty()) membership.push_back(line);
    }
  }
  out["membership"] = membership;
  return out;
}

json open_fds() {
  json out = json::object();
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return out;
  const int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    char target[4096];
    ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
    out[e->d_name] = n < 0 ? std::string("?") : std::string(target, size_t(n));
  }
  closedir(dir);
  return out;
}

json rlimits() {
  json out = json::object();
  for (const auto& r : kRlimits) {
    rlimit lim{};
    if (getrlimit(r.resource, &lim) != 0) continue;
    auto value = [](rlim_t v) { return v == RLIM_INFINITY ? json(-1) : json(uint64_t(v)); };
    out[r.name] = {{"soft", value(lim.rlim_cur)}, {"hard", value(lim.rlim_max)}};
  }
  return out;
}

}  // namespace

json build_report() {
  json r = json::object();
  r["pid"] = getpid();
  r["ppid"] = getppid();
  utsname u{};
  uname(&u);
  r["hostname"] = u.nodename;
  r["domainname"] = u.domainname;
  r["uid"] = getuid();
  r["gid"] = getgid();
  r["euid"] = geteuid();
  r["egid"] = getegid();
  std::vector<gid_t> groups(size_t(std::max(0, getgroups(0, nullptr))));
  const int ngroups = getgroups(int(groups.size()), groups.data());
  groups.resize(size_t(std::max(0, ngroups)));
  std::sort(groups.begin(), groups.end());
  r["groups"] = groups;
  char cwd[4096];
  r["cwd"] = getcwd(cwd, sizeof cwd) ? json(cwd) : json(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  std::sort(env.begin(), env.end());
  r["env"] = env;
  const mode_t mask = umask(0);
  umask(mask);
  r["umask"] = mask;
  auto status = proc_status();
  r["capabilities"] = capabilities(status);
  r["no_new_privs"] = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  const std::string seccomp = status.count("Seccomp") ? status["Seccomp"] : "";
  r["seccomp"] = seccomp == "0"   ? "disabled"
                 : seccomp == "1" ? "strict"
                 : seccomp == "2" ? "filter"
                                  : "unknown";
  std::string oom;
  r["oom_score_adj"] =
      read_text("/proc/self/oom_score_adj", oom) ? json(std::atoi(oom.c_str())) : json(nullptr);
  r["rlimits"] = rlimits();
  r["mounts"] = mounts();
  r["cgroup"] = cgroup_limits();
  r["fds"] = open_fds();
  return r;
}

}  // namespace gantry::test_init
