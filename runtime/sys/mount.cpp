#include "runtime/sys/mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <string_view>

#include "model/base/digest.h"
#include "runtime/sys/process.h"

namespace gantry::runtime::sys {

namespace {

namespace fs = std::filesystem;

constexpr int kFuseStartTimeoutMs = 10'000;
constexpr int kFuseExitTimeoutMs = 10'000;
constexpr std::string_view kFusePidDir = "/run/gantry/fuse";

// The options that are mount flags; every other option is filesystem data.
struct Flag {
  std::string_view name;
  unsigned long bits;
};
constexpr Flag kFlags[] = {
    {"ro", MS_RDONLY},           {"rw", 0},
    {"nosuid", MS_NOSUID},       {"nodev", MS_NODEV},
    {"noexec", MS_NOEXEC},       {"noatime", MS_NOATIME},
    {"relatime", MS_RELATIME},   {"bind", MS_BIND},
    {"rbind", MS_BIND | MS_REC},
};

struct Parsed {
  unsigned long flags = 0;
  std::vector<std::string> data;  // key=value options, in order
};

Parsed parse_options(const std::vector<std::string>& options) {
  Parsed p;
  for (const auto& o : options) {
    bool is_flag = false;
    for (const auto& f : kFlags) {
      if (o == f.name) {
        p.flags |= f.bits;
        is_flag = true;
      }
    }
    if (!is_flag) p.data.push_back(o);
  }
  return p;
}

std::string join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (const auto& s : parts) {
    if (!out.empty()) out.push_back(sep);
    out += s;
  }
  return out;
}

std::string describe(const Mount& m, const fs::path& target) {
  return "mount " + m.type + " '" + m.source + "' at '" + target.string() + "'";
}

// The same target always names the same pid file, however the caller spelled it.
fs::path normalized(const fs::path& target) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(target, ec);
  if (ec) p = fs::absolute(target).lexically_normal();
  return p;
}

fs::path fuse_pid_file(const fs::path& target) {
  std::string hex = Digest::of(normalized(target).string()).hex();
  return fs::path(kFusePidDir) / (hex.substr(0, 16) + ".pid");
}

Result<void> mount_bind(const Mount& m, const fs::path& target) {
  Parsed p = parse_options(m.options);
  unsigned long bind_flags = MS_BIND | (p.flags & MS_REC);
  if (::mount(m.source.c_str(), target.c_str(), nullptr, bind_flags, nullptr) != 0) {
    return errno_error(errno, describe(m, target));
  }
  // A bind mount ignores other flags; they take effect on a remount of the new mount.
  unsigned long extra = p.flags & ~(MS_BIND | MS_REC);
  if (extra != 0) {
    if (::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | extra, nullptr) != 0) {
      int e = errno;
      umount2(target.c_str(), MNT_DETACH);
      return errno_error(e, describe(m, target) + ": remount with flags");
    }
  }
  return ok();
}

// The longest directory that holds every path (all absolute).
fs::path common_parent(const std::vector<fs::path>& paths) {
  fs::path common = paths.front().parent_path();
  for (const auto& p : paths) {
    while (!common.empty() && common != common.root_path()) {
      auto [c, _] = std::mismatch(common.begin(), common.end(), p.begin(), p.end());
      if (c == common.end()) break;
      common = common.parent_path();
    }
  }
  return common;
}

// Rewrites lowerdir/upperdir/workdir relative to their common parent, so that a long lowerdir
// list fits in the one page the kernel accepts for mount data.
std::vector<std::string> relative_data(const std::vector<std::string>& data, fs::path* dir) {
  std::vector<fs::path> all;
  auto path_keys = {"lowerdir=", "upperdir=", "workdir="};
  auto each_path = [&](const std::string& option, auto&& fn) {
    for (std::string_view key : path_keys) {
      if (option.rfind(key, 0) != 0) continue;
      std::string_view rest = std::string_view(option).substr(key.size());
      std::vector<std::string> parts;
      while (true) {
        size_t colon = rest.find(':');
        parts.push_back(fn(fs::path(std::string(rest.substr(0, colon)))));
        if (colon == std::string_view::npos) break;
        rest = rest.substr(colon + 1);
      }
      return std::string(key) + join(parts, ':');
    }
    return option;
  };
  for (const auto& o : data) {
    each_path(o, [&](const fs::path& p) {
      all.push_back(p);
      return std::string();
    });
  }
  if (all.empty()) return data;
  *dir = common_parent(all);
  std::vector<std::string> out;
  for (const auto& o : data) {
    out.push_back(each_path(o, [&](const fs::path& p) {
      return p.is_absolute() ? p.lexically_relative(*dir).string() : p.string();
    }));
  }
  return out;
}

// mount(2) from inside dir, in a child process: the daemon's own working directory (shared by
// its threads) never changes.
Result<void> mount_in_dir(const fs::path& dir, const char* source, const fs::path& target,
                          const char* type, unsigned long flags, const std::string& data) {
  fs::path abs_target = fs::absolute(target);
  pid_t pid = fork();
  if (pid < 0) return errno_error(errno, "fork");
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(errno);
    if (::mount(source, abs_target.c_str(), type, flags, data.c_str()) != 0) _exit(errno);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error(errno, "waitpid");
  }
  if (!WIFEXITED(status)) return Error(ErrorKind::internal, "mount helper process died");
  if (WEXITSTATUS(status) != 0) {
    return errno_error(WEXITSTATUS(status), "from '" + dir.string() + "'");
  }
  return ok();
}

Result<void> mount_overlay(const Mount& m, const fs::path& target) {
  Parsed p = parse_options(m.options);
  std::string data = join(p.data, ',');
  const size_t page_bytes = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const char* source = m.source.empty() ? "overlay" : m.source.c_str();
  if (data.size() < page_bytes) {
    if (::mount(source, target.c_str(), "overlay", p.flags, data.c_str()) != 0) {
      return errno_error(errno, describe(m, target));
    }
    return ok();
  }
  fs::path dir;
  std::string short_data = join(relative_data(p.data, &dir), ',');
  if (short_data.size() >= page_bytes) {
    return Error(ErrorKind::invalid_argument,
                 describe(m, target) + ": options are " + std::to_string(short_data.size()) +
                     " bytes even relative to '" + dir.string() + "'; the kernel takes " +
                     std::to_string(page_bytes - 1));
  }
  GANTRY_TRY_CTX(mount_in_dir(dir, source, target, "overlay", p.flags, short_data),
                 describe(m, target));
  return ok();
}

Result<void> mount_fuse(const Mount& m, const fs::path& target) {
  GANTRY_ASSIGN_OR_RETURN_CTX(fs::path bin, find_program("gantry-fuse", "GANTRY_FUSE_BIN"),
                              describe(m, target));
  std::error_code ec;
  fs::create_directories(kFusePidDir, ec);
  if (ec) return errno_error(ec.value(), "create '" + std::string(kFusePidDir) + "'");
  fs::path pid_file = fuse_pid_file(target);
  fs::remove(pid_file, ec);
  std::vector<std::string> argv = {bin.string(),         "-o",
                                   join(m.options, ','), "--pid-file",
                                   pid_file.string(),    normalized(target).string()};
  GANTRY_ASSIGN_OR_RETURN_CTX(RunResult r, run(argv, kFuseStartTimeoutMs), describe(m, target));
  if (!r.status.success()) {
    std::string text = r.stderr_text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return Error(ErrorKind::unavailable, describe(m, target) + ": " + bin.string() + " " +
                                             r.status.describe() + (text.empty() ? "" : ": ") +
                                             text);
  }
  return ok();
}

Result<void> mount_one(const Mount& m, const fs::path& target) {
  if (m.type == "bind") return mount_bind(m, target);
  if (m.type == "overlay") return mount_overlay(m, target);
  if (m.type == "fuse.gantry") return mount_fuse(m, target);
  return Error(ErrorKind::invalid_argument, describe(m, target) + ": unknown mount type");
}

Result<pid_t> read_pid_file(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  if (!in) return errno_error(ENOENT, "open '" + pid_file.string() + "'");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    return Error(ErrorKind::internal, "pid file '" + pid_file.string() + "' holds no pid");
  }
  return static_cast<pid_t>(pid);
}

// Whether pid is the server started for this pid file (its command line names the file), so
// that a stale pid file never makes us wait for an unrelated process that reused the pid.
// A process in the middle of an execve (a server that starts through a wrapper execs more than
// once) shows an empty command line for a moment: look again for up to ~100 ms, unless it is
// gone or a zombie (whose command line stays empty).
bool is_server_of(pid_t pid, const fs::path& pid_file) {
  std::string proc = "/proc/" + std::to_string(pid);
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::ifstream in(proc + "/cmdline");
    if (!in) return false;
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!cmdline.empty()) return cmdline.find(pid_file.string()) != std::string::npos;
    std::ifstream stat(proc + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z') {
      return false;
    }
    ::usleep(1000);
  }
  return false;
}

}  // namespace

Result<void> mount_all(const std::vector<Mount>& mounts, const fs::path& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    auto r = mount_one(mounts[i], target);
    if (r) continue;
    for (size_t done = i; done > 0; --done) {
      if (!unmount(target)) umount2(target.c_str(), MNT_DETACH);
    }
    return r;
  }
  return ok();
}

Result<void> unmount(const fs::path& target) {
  fs::path pid_file = fuse_pid_file(target);
  auto pid = read_pid_file(pid_file);
  bool is_fuse = pid && is_server_of(*pid, pid_file);
  if (umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
    int e = errno;
    // A server that died left its pid file and maybe a dead mount (ENOTCONN on access).
    if (pid && !is_fuse) {
      std::error_code ec;
      fs::remove(pid_file, ec);
    }
    return errno_error(e, "unmount '" + target.string() + "'");
  }
  std::error_code ec;
  if (!is_fuse) {
    if (pid) fs::remove(pid_file, ec);  // stale
    return ok();
  }
  auto waited = wait_pid_exit(*pid, kFuseExitTimeoutMs);
  fs::remove(pid_file, ec);
  if (!waited) {
    return std::move(waited).error().with_context("unmount '" + target.string() +
                                                  "': wait for gantry-fuse");
  }
  return ok();
}

}  // namespace gantry::runtime::sys
