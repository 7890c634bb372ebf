// Helpers shared by the gantry-fuse tests: find and run the binary, build layers, walk trees.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gantry::testing::fuse {

namespace fs = std::filesystem;

inline fs::path gantry_fuse_binary() {
  if (const char* bin = std::getenv("GANTRY_BIN"); bin != nullptr && *bin) {
    return fs::path(bin) / "gantry-fuse";
  }
  return fs::canonical("/proc/self/exe").parent_path().parent_path() / "bin" / "gantry-fuse";
}

struct RunResult {
  int exit_code = -1;
  std::string err;
};

// Runs argv, waits for it, returns its exit code and what it wrote on stderr.
inline RunResult run(const std::vector<std::string>& argv, const fs::path& scratch) {
  fs::path err_file = scratch / "stderr.txt";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

inline void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::trunc) << content;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void make_whiteout(const fs::path& p) {
  fs::create_directories(p.parent_path());
  if (::mknod(p.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    throw fs::filesystem_error("mknod", p, {errno, std::generic_category()});
}

inline void make_opaque(const fs::path& p) {
  fs::create_directories(p);
  if (::setxattr(p.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0)
    throw fs::filesystem_error("setxattr", p, {errno, std::generic_category()});
}

// A running gantry-fuse mount; unmounts and waits for the server when it goes away.
class FuseMount {
 public:
  // The tests make this process a subreaper, so the daemonized server stays our child.
  FuseMount(const fs::path& scratch, const std::string& options, const fs::path& mountpoint)
      : scratch_(scratch), mountpoint_(mountpoint) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    fs::create_directories(mountpoint);
    fs::path pid_file = scratch / ("pid." + mountpoint.filename().string());
    result_ = run({gantry_fuse_binary().string(), "-o", options, "--pid-file", pid_file.string(),
                   mountpoint.string()},
                  scratch);
    if (result_.exit_code == 0) pid_ = std::stoi(read_file(pid_file));
  }
  ~FuseMount() {
    if (pid_ > 0) {
      ::umount2(mountpoint_.c_str(), MNT_DETACH);
      wait_exit(5000);
    }
  }
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  bool ok() const { return result_.exit_code == 0 && pid_ > 0; }
  const RunResult& result() const { return result_; }
  pid_t pid() const { return pid_; }
  const fs::path& path() const { return mountpoint_; }

  // Unmounts; true when the server then exits within timeout_ms.
  bool unmount(int timeout_ms = 5000) {
    if (::umount2(mountpoint_.c_str(), 0) != 0) return false;
    return wait_exit(timeout_ms);
  }

  bool wait_exit(int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      int status;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD && ::kill(pid_, 0) != 0)) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  fs::path scratch_;
  fs::path mountpoint_;
  RunResult result_;
  pid_t pid_ = -1;
};

// A comparable description of a tree: one line per path, sorted.
struct WalkOptions {
  bool overlay_xattrs = false;  // include trusted.overlay.opaque (upper directories)
  time_t recent_after = 0;      // mtimes after this show as "recent"
};

inline std::string describe(const fs::path& root, const WalkOptions& o) {
  std::map<std::string, std::string> lines;
  std::vector<fs::path> todo{root};
  while (!todo.empty()) {
    fs::path dir = todo.back();
    todo.pop_back();
    for (const auto& de : fs::directory_iterator(dir)) {
      fs::path p = de.path();
      struct stat st;
      if (::lstat(p.c_str(), &st) != 0) continue;
      std::ostringstream line;
      line << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
      if (st.st_mtime > o.recent_after) {
        line << " mtime=recent";
      } else {
        line << " mtime=" << st.st_mtime;
      }
      if (S_ISREG(st.st_mode)) {
        line << " nlink=" << st.st_nlink << " size=" << st.st_size << " data=" << read_file(p);
      } else if (S_ISLNK(st.st_mode)) {
        line << " -> " << fs::read_symlink(p).string();
      } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        line << " rdev=" << major(st.st_rdev) << ":" << minor(st.st_rdev);
      } else if (S_ISDIR(st.st_mode)) {
        todo.push_back(p);
      }
      char names[4096];
      ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
      std::vector<std::string> xs;
      for (ssize_t off = 0; n > 0 && off < n; off += std::strlen(names + off) + 1) {
        std::string k = names + off;
        bool wanted =
            k.rfind("user.", 0) == 0 || (o.overlay_xattrs && k == "trusted.overlay.opaque");
        if (!wanted) continue;
        char v[256];
        ssize_t vn = ::lgetxattr(p.c_str(), k.c_str(), v, sizeof v);
        xs.push_back(k + "=" + std::string(v, vn > 0 ? vn : 0));
      }
      std::sort(xs.begin(), xs.end());
      for (const auto& x : xs) line << " " << x;
      lines[p.lexically_relative(root).string()] = line.str();
    }
  }
  std::string out;
  for (const auto& [k, v] : lines) out += k + " " + v + "\n";
  return out;
}

}  // namespace gantry::testing::fuse
