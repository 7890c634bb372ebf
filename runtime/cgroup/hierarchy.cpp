#include "runtime/cgroup/hierarchy.h"

#include <fcntl.h>

#include <algorithm>
#include <sstream>

#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::cgroup {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_at_or_below(const fs::path& p, const fs::path& root) {
  fs::path np = p.lexically_normal(), nr = root.lexically_normal();
  if (np == nr) return true;
  auto rel = np.lexically_relative(nr);
  return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
}

}  // namespace

Result<std::vector<Hierarchy>> parse_mountinfo(std::string_view text, const fs::path& root) {
  std::vector<Hierarchy> out;
  size_t line_no = 0;
  for (const std::string& line : split(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string w; in >> w;) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 10 || dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 4) {
      return Error(ErrorKind::invalid_argument,
                   "mountinfo line " + std::to_string(line_no) + ": malformed: '" + line + "'");
    }
    const std::string& fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    Hierarchy h;
    h.v2 = fstype == "cgroup2";
    h.mount_root = unescape(f[3]);
    h.mountpoint = unescape(f[4]);
    if (!is_at_or_below(h.mountpoint, root)) continue;
    if (!h.v2) {
      for (const std::string& opt : split(*(dash + 3), ',')) {
        if (opt == "rw" || opt == "ro" || opt.empty() || opt == "noprefix" ||
            opt == "clone_children" || opt == "xattr" || opt == "cpuset_v2_mode" ||
            opt.rfind("release_agent=", 0) == 0) {
          continue;
        }
        h.controllers.push_back(opt);
      }
      if (h.controllers.empty()) continue;  // "none" hierarchy without a name: unusable
    }
    // A later mount on the same point hides the earlier one.
    std::erase_if(out, [&](const Hierarchy& o) { return o.mountpoint == h.mountpoint; });
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_self_cgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t line_no = 0;
  for (const std::string& line : split(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos || line.size() == b + 1 || line[b + 1] != '/') {
      return Error(ErrorKind::invalid_argument,
                   "cgroup file line " + std::to_string(line_no) + ": malformed: '" + line + "'");
    }
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (controllers.empty()) {
      out[""] = path;
    } else {
      for (const std::string& c : split(controllers, ',')) out[c] = path;
    }
  }
  return out;
}

Result<Layout> layout_of(const std::vector<Hierarchy>& hierarchies, const fs::path& root) {
  bool v1 = false, v2_at_root = false, v2_below = false;
  for (const Hierarchy& h : hierarchies) {
    if (!h.v2) {
      v1 = true;
    } else if (h.mountpoint.lexically_normal() == root.lexically_normal()) {
      v2_at_root = true;
    } else {
      v2_below = true;
    }
  }
  if (v2_at_root) return Layout::v2;
  if (v1 && v2_below) return Layout::hybrid;
  if (v1) return Layout::v1;
  return Error(ErrorKind::not_found,
               "no cgroup file system mounted at or below '" + root.string() + "' (mountinfo)");
}

std::vector<std::string> directory_keys(const Hierarchy& h) {
  if (h.v2) return {"unified"};
  return h.controllers;
}

Result<void> validate_cgroups_path(const std::string& p) {
  if (p.find(':') != std::string::npos && p.front() != '/') {
    return Error(ErrorKind::not_implemented,
                 "linux.cgroupsPath '" + p +
                     "': systemd cgroup paths (slice:prefix:name) are not supported (no systemd "
                     "cgroup driver)");
  }
  for (const auto& part : fs::path(p)) {
    if (part == "..") {
      return Error(ErrorKind::invalid_argument,
                   "linux.cgroupsPath '" + p + "': '..' is not allowed");
    }
  }
  if (p.find('\0') != std::string::npos || p.find('\n') != std::string::npos) {
    return Error(ErrorKind::invalid_argument,
                 "linux.cgroupsPath: contains a NUL or newline character");
  }
  return ok();
}

fs::path resolve_in(const Hierarchy& h, const std::string& cgroups_path,
                    const std::string& self_cgroup) {
  fs::path rel(cgroups_path);
  if (rel.is_absolute()) return (h.mountpoint / rel.relative_path()).lexically_normal();
  // The caller's cgroup as seen below this mount: strip the mount root.
  fs::path self(self_cgroup.empty() ? "/" : self_cgroup);
  fs::path under = self.lexically_relative(fs::path(h.mount_root));
  if (under.empty() || *under.begin() == "..") under = "";  // outside the mount: use its top
  if (under == ".") under = "";
  fs::path dir = h.mountpoint;
  if (!under.empty()) dir /= under;
  return (dir / rel).lexically_normal();
}

Result<std::string> read_text(const fs::path& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string s, sys::read_all(fd.get(), 16 << 20),
                              "read '" + path.string() + "'");
  return s;
}

}  // namespace gantry::runtime::cgroup
