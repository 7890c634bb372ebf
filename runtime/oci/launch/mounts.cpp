// One config mount: its target resolved inside the rootfs (never following a symlink out),
// created when missing, then the mount by type (bind, proc, sysfs, tmpfs, devpts, mqueue,
// cgroup, any other file system) onto /proc/self/fd/N of that target.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "runtime/oci/launch/steps.h"
#include "runtime/oci/spec/mount_options.h"
#include "runtime/sys/resolve.h"

namespace gantry::runtime::oci::launch {
namespace {

// The translated options (runtime/oci/spec/mount_options.h) in the form the steps below use.
struct MountFlags {
  unsigned long flags = 0;  // for mount(2); MS_REC for an rbind
  std::vector<unsigned long> propagation;
  std::string data;
  bool bind = false;
  uint64_t attr_set = 0;  // recursive attributes ("rro", ...): mount_setattr(AT_RECURSIVE)
  uint64_t attr_clear = 0;
};

Result<MountFlags> translate(const std::vector<std::string>& options) {
  GANTRY_ASSIGN_OR_RETURN(spec::MountOptions o, spec::parse_mount_options(options, "options"));
  MountFlags f;
  f.flags = o.mount_flags() & ~MS_BIND;
  f.propagation = o.propagation;
  f.data = o.data;
  f.bind = o.bind;
  f.attr_set = o.attr_set;
  f.attr_clear = o.attr_clear;
  return f;
}

Result<void> set_recursive_attrs(RootfsContext& ctx, const std::string& dest, const MountFlags& f) {
  if (f.attr_set == 0 && f.attr_clear == 0) return ok();
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, ctx.sys.open_in_root(ctx.root_fd, dest, O_PATH, 0));
  return ctx.sys.mount_setattr(fd_path(fd.get()), f.attr_set, f.attr_clear);
}

constexpr unsigned long kReadonlyLike = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                        MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME;

Result<sys::UniqueFd> reopen(Syscalls& sys, int root_fd, const std::string& dest) {
  return sys.open_in_root(root_fd, dest, O_PATH, 0);
}

// After a bind, flags other than MS_REC/MS_BIND need a remount of the new mount (a bind
// ignores them). The fd opened before the mount names the covered directory: reopen.
Result<void> remount_bind(RootfsContext& ctx, const std::string& dest, unsigned long flags) {
  unsigned long extra = flags & kReadonlyLike;
  if (extra == 0) return ok();
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, reopen(ctx.sys, ctx.root_fd, dest));
  // In a user namespace the kernel locks the flags the mount came with: keep them.
  if (ctx.ns.new_user || ctx.ns.has(spec::NamespaceType::user))
    extra |= ctx.sys.mount_flags_of(fd.get()) & ~MS_RDONLY;
  return ctx.sys.mount("", fd_path(fd.get()), "", MS_BIND | MS_REMOUNT | extra, "");
}

Result<void> set_propagation(RootfsContext& ctx, const std::string& dest,
                             const std::vector<unsigned long>& propagation) {
  if (propagation.empty()) return ok();
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, reopen(ctx.sys, ctx.root_fd, dest));
  for (unsigned long p : propagation) GANTRY_TRY(ctx.sys.mount("", fd_path(fd.get()), "", p, ""));
  return ok();
}

std::string bind_source(const RootfsContext& ctx, const std::string& source) {
  if (source.empty() || source[0] == '/') return source;
  return (ctx.bundle / source).string();
}

Result<void> mount_bind(RootfsContext& ctx, const spec::Mount& m, const MountFlags& f) {
  std::string source = bind_source(ctx, m.source);
  struct stat st;
  if (::stat(source.c_str(), &st) < 0) return errno_error(errno, "bind source '" + source + "'");
  GANTRY_ASSIGN_OR_RETURN(MountTarget target,
                          make_target(ctx.sys, ctx.root_fd, m.destination, !S_ISDIR(st.st_mode)));
  GANTRY_TRY(ctx.sys.mount(source, fd_path(target.fd.get()), "", MS_BIND | (f.flags & MS_REC), ""));
  GANTRY_TRY(remount_bind(ctx, m.destination, f.flags));
  GANTRY_TRY(set_recursive_attrs(ctx, m.destination, f));
  return set_propagation(ctx, m.destination, f.propagation);
}

// /proc/self/mountinfo: (mount point, fs type, super options) of the cgroup hierarchies.
struct CgroupMount {
  std::string mount_point;
  std::string root;  // the cgroup the mount shows at its top
  std::string fstype;
  std::string controllers;  // v1: "cpu,cpuacct" or "name=systemd" as in /proc/self/cgroup
};

std::vector<CgroupMount> host_cgroup_mounts() {
  std::vector<CgroupMount> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string id, parent, dev, root, mount_point, opts, field;
    ss >> id >> parent >> dev >> root >> mount_point >> opts;
    while (ss >> field && field != "-") {
    }
    std::string fstype, source, super;
    ss >> fstype >> source >> super;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    if (mount_point.rfind("/sys/fs/cgroup", 0) != 0) continue;
    CgroupMount cm{mount_point, root, fstype, ""};
    if (fstype == "cgroup") {
      std::istringstream so(super);
      std::string opt;
      while (std::getline(so, opt, ',')) {
        if (opt == "rw" || opt == "ro" || opt == "clone_children" || opt == "noprefix" ||
            opt.rfind("release_agent", 0) == 0 || opt == "xattr" || opt == "cpuset_v2_mode")
          continue;
        if (!cm.controllers.empty()) cm.controllers += ',';
        cm.controllers += opt;
      }
    }
    out.push_back(cm);
  }
  return out;
}

// /proc/self/cgroup: controllers ("" for v2) -> path.
std::map<std::string, std::string> own_cgroups() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    out[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  return out;
}

// The container's cgroup directory (of dirs) in the hierarchy mounted at mount_point; "" if none.
std::string container_cgroup_in(const std::vector<std::filesystem::path>& dirs,
                                const std::string& mount_point) {
  for (const auto& d : dirs) {
    const std::string& s = d.native();
    if (s == mount_point || (s.size() > mount_point.size() && s.rfind(mount_point, 0) == 0 &&
                             s[mount_point.size()] == '/'))
      return s;
  }
  return "";
}

// cgroup v1 (and hybrid): a tmpfs at the destination and, for each hierarchy, the container's
// own cgroup bound read-only under its name (runc's layout).
Result<void> mount_cgroup_v1(RootfsContext& ctx, const spec::Mount& m, const MountFlags& f) {
  GANTRY_ASSIGN_OR_RETURN(MountTarget target,
                          make_target(ctx.sys, ctx.root_fd, m.destination, false));
  GANTRY_TRY(ctx.sys.mount("tmpfs", fd_path(target.fd.get()), "tmpfs",
                           MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755"));
  std::map<std::string, std::string> own;
  if (ctx.cgroup_dirs.empty()) own = own_cgroups();
  unsigned long ro = (f.flags & MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  for (const auto& cm : host_cgroup_mounts()) {
    if (cm.fstype == "cgroup2") continue;
    std::string name = cm.mount_point.substr(cm.mount_point.rfind('/') + 1);
    std::string source;
    if (!ctx.cgroup_dirs.empty()) {
      source = container_cgroup_in(ctx.cgroup_dirs, cm.mount_point);
      if (source.empty()) continue;
    } else {
      auto it = own.find(cm.controllers);
      if (it == own.end()) continue;
      std::string rel = it->second;
      if (cm.root != "/" && rel.rfind(cm.root, 0) == 0) rel = rel.substr(cm.root.size());
      source = cm.mount_point + (rel == "/" ? "" : rel);
    }
    std::string dest = m.destination + "/" + name;
    GANTRY_ASSIGN_OR_RETURN(MountTarget sub, make_target(ctx.sys, ctx.root_fd, dest, false));
    if (ctx.ns.new_cgroup) {
      // In its own cgroup namespace the container mounts the hierarchy: it shows its root.
      bool v2 = cm.fstype == "cgroup2";
      GANTRY_TRY(ctx.sys.mount(v2 ? "cgroup2" : "cgroup", fd_path(sub.fd.get()), cm.fstype, ro,
                               v2 ? "" : cm.controllers));
      continue;
    }
    GANTRY_TRY(ctx.sys.mount(source, fd_path(sub.fd.get()), "", MS_BIND | MS_REC, ""));
    GANTRY_TRY(remount_bind(ctx, dest, ro));
  }
  // The tmpfs itself stays writable and the cgroup2 of a hybrid host is not shown: as runc.
  return ok();
}

bool host_is_cgroup2_only() {
  auto mounts = host_cgroup_mounts();
  return mounts.size() == 1 && mounts[0].fstype == "cgroup2";
}

Result<void> mount_fs(RootfsContext& ctx, const spec::Mount& m, const MountFlags& f,
                      const std::string& fstype) {
  GANTRY_ASSIGN_OR_RETURN(MountTarget target,
                          make_target(ctx.sys, ctx.root_fd, m.destination, false));
  std::string source = m.source.empty() ? fstype : m.source;
  GANTRY_TRY(ctx.sys.mount(source, fd_path(target.fd.get()), fstype, f.flags, f.data));
  GANTRY_TRY(set_recursive_attrs(ctx, m.destination, f));
  return set_propagation(ctx, m.destination, f.propagation);
}

Result<void> mount_sysfs(RootfsContext& ctx, const spec::Mount& m, const MountFlags& f) {
  auto r = mount_fs(ctx, m, f, "sysfs");
  if (r || (r.error().errno_value() != EPERM && r.error().errno_value() != EACCES)) return r;
  // Not allowed to mount a sysfs (user namespace without its own net namespace): the host's.
  GANTRY_ASSIGN_OR_RETURN(MountTarget target,
                          make_target(ctx.sys, ctx.root_fd, m.destination, false));
  GANTRY_TRY(ctx.sys.mount("/sys", fd_path(target.fd.get()), "", MS_BIND | MS_REC, ""));
  return remount_bind(ctx, m.destination, f.flags | MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

}  // namespace

Result<MountTarget> make_target(Syscalls& sys, int root_fd, const std::string& dest,
                                bool source_is_file) {
  auto fd = sys.open_in_root(root_fd, dest, O_PATH, 0);
  if (!fd && fd.error().errno_value() == ENOENT) {
    GANTRY_ASSIGN_OR_RETURN(sys::ParentAndName parent,
                            sys::open_parent_in_root(root_fd, dest, true));
    if (source_is_file) {
      auto made = sys.mknodat(parent.dir.get(), parent.name, S_IFREG | 0644, 0);
      if (!made && made.error().errno_value() != EEXIST) return std::move(made).error();
    } else {
      auto made = sys.mkdirat(parent.dir.get(), parent.name, 0755);
      if (!made && made.error().errno_value() != EEXIST) return std::move(made).error();
    }
    fd = sys.open_in_root(root_fd, dest, O_PATH, 0);
  }
  if (!fd) return std::move(fd).error().with_context("mount destination '" + dest + "'");
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return errno_error(errno, "stat '" + dest + "'");
  return MountTarget{std::move(fd).value(), S_ISDIR(st.st_mode)};
}

Result<void> mount_config_entry(RootfsContext& ctx, const spec::Mount& m) {
  GANTRY_ASSIGN_OR_RETURN(MountFlags f, translate(m.options));
  if (m.destination.empty() || m.destination[0] != '/')
    return Error(ErrorKind::invalid_argument,
                 "destination '" + m.destination + "' is not absolute");
  if (m.type == "bind" || f.bind) return mount_bind(ctx, m, f);
  if (m.type == "sysfs") return mount_sysfs(ctx, m, f);
  if (m.type == "cgroup" || m.type == "cgroup2") {
    if (m.type == "cgroup2" || host_is_cgroup2_only()) return mount_fs(ctx, m, f, "cgroup2");
    return mount_cgroup_v1(ctx, m, f);
  }
  if (m.type.empty()) return Error(ErrorKind::invalid_argument, "type: empty and not a bind mount");
  return mount_fs(ctx, m, f, m.type);
}

}  // namespace gantry::runtime::oci::launch
