// Manager: resolving, creating, joining, listing, signalling and removing a container's cgroup.
// Limits are in apply_v1.cpp / apply_v2.cpp, the freezer in freezer.cpp, stats in stats.cpp.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/files.h"
#include "runtime/cgroup/hierarchy.h"

namespace gantry::runtime::cgroup {

namespace fs = std::filesystem;

namespace {

// The controllers a container gets on v2 (enabled in the ancestors' subtree_control).
constexpr const char* kV2Controllers[] = {"cpuset", "cpu", "io", "memory", "pids", "hugetlb"};

Result<void> mkdir_p(const fs::path& mountpoint, const fs::path& dir) {
  fs::path at = mountpoint;
  for (const auto& part : dir.lexically_relative(mountpoint)) {
    if (part == ".") continue;
    at /= part;
    if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) {
      return errno_error(errno, "mkdir '" + at.string() + "'");
    }
  }
  return ok();
}

// v1 cpuset: a cgroup with empty cpuset.cpus or cpuset.mems accepts no process, and new
// cgroups start empty; copy the parent's values down every level that is still empty.
Result<void> fill_cpuset(const fs::path& mountpoint, const fs::path& dir) {
  fs::path parent = mountpoint;
  for (const auto& part : dir.lexically_relative(mountpoint)) {
    if (part == ".") continue;
    fs::path at = parent / part;
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
      GANTRY_ASSIGN_OR_RETURN(std::string mine, read_trimmed(at / file));
      if (!mine.empty()) continue;
      GANTRY_ASSIGN_OR_RETURN(std::string theirs, read_trimmed(parent / file));
      GANTRY_TRY(write_control(at / file, theirs));
    }
    parent = at;
  }
  return ok();
}

// v2: enable each available controller in every ancestor's subtree_control, one by one;
// a controller the parent cannot pass down (not available, or the no-internal-process rule)
// is left out, and the limit that needs it fails later naming its field.
void enable_v2_controllers(const fs::path& mountpoint, const fs::path& dir) {
  fs::path at = mountpoint;
  for (const auto& part : dir.lexically_relative(mountpoint)) {
    if (part == ".") continue;
    auto available = read_trimmed(at / "cgroup.controllers");
    auto enabled = read_trimmed(at / "cgroup.subtree_control");
    if (available) {
      std::set<std::string> have, on;
      std::istringstream a(*available), b(enabled ? *enabled : "");
      for (std::string w; a >> w;) have.insert(w);
      for (std::string w; b >> w;) on.insert(w);
      for (const char* c : kV2Controllers) {
        if (have.count(c) && !on.count(c)) {
          (void)write_control(at / "cgroup.subtree_control", std::string("+") + c);
        }
      }
    }
    at /= part;
  }
}

Result<std::vector<pid_t>> read_procs(const fs::path& dir) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, read_text(dir / "cgroup.procs"));
  std::vector<pid_t> out;
  std::istringstream in(text);
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

// The pids of dir and every cgroup below it (a container may make its own sub-cgroups).
Result<void> collect_pids(const fs::path& dir, std::vector<pid_t>& out) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<pid_t> mine, read_procs(dir));
  out.insert(out.end(), mine.begin(), mine.end());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) GANTRY_TRY(collect_pids(e.path(), out));
  }
  return ok();
}

// rmdir of dir and its sub-cgroups, deepest first. ENOENT is success.
int remove_cgroup_dir(const fs::path& dir) {
  // Most cgroups have no child cgroups: try the rmdir first, list the directory only when the
  // kernel refuses it (EBUSY: children or processes).
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
  if (errno != EBUSY && errno != ENOTEMPTY) return errno;
  std::error_code ec;
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) children.push_back(e.path());
  }
  for (const auto& c : children) {
    int e = remove_cgroup_dir(c);
    if (e != 0) return e;
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return errno;
  return 0;
}

}  // namespace

Result<Layout> detect_layout(const fs::path& root) {
  HostPaths host;
  host.root = root;
  return detect_layout(host);
}

Result<Layout> detect_layout(const HostPaths& host) {
  GANTRY_ASSIGN_OR_RETURN(std::string text, read_text(host.mountinfo));
  GANTRY_ASSIGN_OR_RETURN(std::vector<Hierarchy> hs, parse_mountinfo(text, host.root));
  return layout_of(hs, host.root);
}

Result<Manager> Manager::open(const std::string& cgroups_path, const std::string& container_id,
                              const fs::path& root) {
  HostPaths host;
  host.root = root;
  return open(cgroups_path, container_id, host);
}

Result<Manager> Manager::open(const std::string& cgroups_path, const std::string& container_id,
                              const HostPaths& host) {
  std::string path = cgroups_path;
  if (path.empty()) {
    if (container_id.empty() || container_id.find('/') != std::string::npos ||
        container_id == "." || container_id == "..") {
      return Error(ErrorKind::invalid_argument,
                   "container id '" + container_id + "' cannot name a cgroup");
    }
    path = "/gantry/" + container_id;
  }
  GANTRY_TRY(validate_cgroups_path(path));
  GANTRY_ASSIGN_OR_RETURN(std::string mountinfo, read_text(host.mountinfo));
  GANTRY_ASSIGN_OR_RETURN(std::vector<Hierarchy> hs, parse_mountinfo(mountinfo, host.root));
  GANTRY_ASSIGN_OR_RETURN(Layout layout, layout_of(hs, host.root));
  std::map<std::string, std::string> self;
  bool relative = path.front() != '/';
  if (relative) {
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_text(host.self_cgroup));
    GANTRY_ASSIGN_OR_RETURN(self, parse_self_cgroup(text));
  }

  Manager m;
  m.layout_ = layout;
  std::set<std::string> callers;  // the caller's cgroup in each hierarchy, below its mount
  for (const Hierarchy& h : hs) {
    std::string key = h.v2 ? "" : h.controllers.front();
    std::string own = self.count(key) ? self[key] : "/";
    fs::path dir = resolve_in(h, path, own);
    if (relative) callers.insert(resolve_in(h, ".", own).lexically_relative(h.mountpoint));
    for (const std::string& k : directory_keys(h)) {
      m.directories_.emplace_back(k, dir);
      m.mountpoints_.push_back(h.mountpoint);
    }
  }
  if (!relative) {
    m.cgroups_path_ = fs::path(path).lexically_normal().string();
  } else if (callers.size() == 1) {
    fs::path base = fs::path("/") / *callers.begin();
    m.cgroups_path_ = (base / path).lexically_normal().string();
  } else {
    m.cgroups_path_ = path;
  }
  while (m.cgroups_path_.size() > 1 && m.cgroups_path_.back() == '/') m.cgroups_path_.pop_back();
  return m;
}

std::optional<fs::path> Manager::directory(const std::string& controller) const {
  for (const auto& [k, dir] : directories_) {
    if (k == controller) return dir;
  }
  return std::nullopt;
}

Result<void> Manager::create() {
  std::set<fs::path> done;
  for (size_t i = 0; i < directories_.size(); ++i) {
    const auto& [key, dir] = directories_[i];
    const fs::path& mountpoint = mountpoints_[i];
    if (!done.insert(dir).second) continue;
    GANTRY_TRY_CTX(mkdir_p(mountpoint, dir), "create cgroup " + key);
    if (key == "unified" && layout_ == Layout::v2) enable_v2_controllers(mountpoint, dir);
  }
  if (auto cpuset = directory("cpuset"); cpuset && layout_ != Layout::v2) {
    for (size_t i = 0; i < directories_.size(); ++i) {
      if (directories_[i].first == "cpuset") {
        GANTRY_TRY_CTX(fill_cpuset(mountpoints_[i], *cpuset), "create cgroup cpuset");
      }
    }
  }
  return ok();
}

Result<void> Manager::add_process(pid_t pid) {
  std::set<fs::path> done;
  for (const auto& [key, dir] : directories_) {
    if (!done.insert(dir).second) continue;
    GANTRY_TRY_CTX(write_control(dir / "cgroup.procs", std::to_string(pid)),
                   "add pid " + std::to_string(pid) + " to cgroup " + key);
  }
  return ok();
}

// The hierarchy whose cgroup.procs answers "which processes": the unified one on v2, else a v1
// one every container has.
static std::optional<fs::path> procs_dir(const Manager& m) {
  if (m.layout() == Layout::v2) return m.directory("unified");
  for (const char* c : {"pids", "freezer", "memory", "cpu", "devices"}) {
    if (auto d = m.directory(c)) return d;
  }
  if (!m.directories().empty()) return m.directories().front().second;
  return std::nullopt;
}

Result<std::vector<pid_t>> Manager::pids() const {
  auto dir = procs_dir(*this);
  if (!dir) return Error(ErrorKind::not_found, "cgroup '" + cgroups_path_ + "': no hierarchy");
  std::vector<pid_t> out;
  GANTRY_TRY_CTX(collect_pids(*dir, out), "list processes of cgroup '" + cgroups_path_ + "'");
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<void> Manager::signal_all(int signal) {
  // A process may fork while we signal: for SIGKILL, go round again until no new pid shows up.
  std::set<pid_t> signalled;
  for (int round = 0; round < (signal == SIGKILL ? 10 : 1); ++round) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<pid_t> all, pids());
    bool any_new = false;
    for (pid_t p : all) {
      if (!signalled.insert(p).second) continue;
      any_new = true;
      if (::kill(p, signal) != 0 && errno != ESRCH) {
        return errno_error(errno, "kill " + std::to_string(p) + " in cgroup '" + cgroups_path_ +
                                      "' with signal " + std::to_string(signal));
      }
    }
    if (!any_new) break;
  }
  // A frozen task keeps its pending SIGKILL until thawed: thaw so the processes can die.
  if (signal == SIGKILL) {
    auto state = freezer_state();
    if (state && *state != FreezerState::thawed) GANTRY_TRY(thaw());
  }
  return ok();
}

Result<void> Manager::destroy() {
  std::set<fs::path> done;
  for (const auto& [key, dir] : directories_) {
    if (!done.insert(dir).second) continue;
    // Dying processes leave the cgroup a little after their exit is visible: retry EBUSY.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (true) {
      int e = remove_cgroup_dir(dir);
      if (e == 0) break;
      if (e != EBUSY || std::chrono::steady_clock::now() > deadline) {
        return errno_error(e, "remove cgroup " + key + " '" + dir.string() + "'" +
                                  (e == EBUSY ? " (processes remain)" : ""));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return ok();
}

}  // namespace gantry::runtime::cgroup
