// Reading the cgroup mounts of a machine: which hierarchies exist (from mountinfo), which cgroup
// the caller is in (from /proc/self/cgroup), and where a container's cgroups path lands in each.
// Pure functions on text, so tests feed them fake files.
//
// Vocabulary: a hierarchy is one mounted cgroup tree: v1 with its controllers ("cpu,cpuacct",
// or a named one "name=systemd"), or the v2 unified tree. Its mount root is the cgroup shown at
// its mount point (the 4th mountinfo field; "/" unless inside a cgroup namespace or a bind).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/cgroup/cgroup.h"

namespace gantry::runtime::cgroup {

struct Hierarchy {
  bool v2 = false;
  // v1: controllers from the mount options ("cpu", "cpuacct", "name=systemd"); v2: empty.
  std::vector<std::string> controllers;
  std::filesystem::path mountpoint;
  std::string mount_root = "/";
};

// The cgroup and cgroup2 mounts at or below root, one per mount point (the last mount on a
// point wins, as it hides the others). Malformed lines are invalid_argument naming the line.
Result<std::vector<Hierarchy>> parse_mountinfo(std::string_view text,
                                               const std::filesystem::path& root);

// /proc/<pid>/cgroup: key -> cgroup path. Keys are each v1 controller of a line ("cpu",
// "cpuacct", "name=systemd") and "" for the v2 line ("0::/path").
Result<std::map<std::string, std::string>> parse_self_cgroup(std::string_view text);

// v2: a cgroup2 mount at root itself; hybrid: v1 mounts plus a cgroup2 mount below root;
// v1: v1 mounts only. No cgroup mount: not_found.
Result<Layout> layout_of(const std::vector<Hierarchy>& hierarchies,
                         const std::filesystem::path& root);

// The key a hierarchy has in Manager::directories(): each controller, or "unified".
std::vector<std::string> directory_keys(const Hierarchy& h);

// Checks a linux.cgroupsPath: no "..", no systemd "slice:prefix:name" form.
Result<void> validate_cgroups_path(const std::string& cgroups_path);

// The directory of cgroups_path in one hierarchy. Absolute: below the mount point. Relative:
// below the caller's cgroup in that hierarchy (self_cgroup, a /proc/self/cgroup path), made
// relative to the mount root.
std::filesystem::path resolve_in(const Hierarchy& h, const std::string& cgroups_path,
                                 const std::string& self_cgroup);

// Reads a whole (small) file; errors name the path.
Result<std::string> read_text(const std::filesystem::path& path);

}  // namespace gantry::runtime::cgroup
