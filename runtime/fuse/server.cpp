#define FUSE_USE_VERSION 312
#include "runtime/fuse/server.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/fuse/layer_stack.h"
#include "runtime/fuse/union_fs.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::fuse {
namespace {

// Read-ahead the kernel does on our mount, in KiB. FUSE caps it at the bdi default (128 KiB)
// at mount time; raising it afterwards lets big sequential reads arrive in 1 MiB requests.
int read_ahead_kib = 1024;

Result<void> write_pid_file(const std::filesystem::path& path, pid_t pid) {
  std::string tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << "\n";
    out.flush();
    if (!out) return errno_error(errno, "write pid file '" + tmp + "'");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return errno_error(errno, "rename pid file to '" + path.string() + "'");
  }
  return ok();
}

void raise_read_ahead(const std::filesystem::path& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) return;
  std::string p = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                  std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  std::ofstream out(p);
  out << read_ahead_kib << "\n";
}

// Cached fds of open nodes need room; the soft limit is often far below the hard one.
void raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

struct Session {
  fuse_session* se = nullptr;
  bool mounted = false;
  ~Session() {
    if (se == nullptr) return;
    if (mounted) fuse_session_unmount(se);
    fuse_session_destroy(se);
  }
};

std::string mount_options(const Options& opts) {
  std::string o = "fsname=gantry-fuse,subtype=gantry,allow_other,default_permissions";
  if (!opts.writable()) o += ",ro";
  return o;
}

int run_loop(fuse_session* se) {
  if (fuse_set_signal_handlers(se) != 0) return -1;
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, 16);
  fuse_loop_cfg_set_idle_threads(cfg, 8);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_remove_signal_handlers(se);
  return rc;
}

}  // namespace

Result<Role> serve(const Options& given) {
  GANTRY_TRY(validate(given));
  Options opts = given;  // the server changes directory to "/": keep paths absolute
  if (opts.pid_file) opts.pid_file = std::filesystem::absolute(*opts.pid_file);
  opts.mountpoint = std::filesystem::absolute(opts.mountpoint);
  GANTRY_ASSIGN_OR_RETURN(LayerStack layers, LayerStack::open(opts.upper, opts.lowers));
  ::umask(0);  // modes arrive with the caller's umask applied
  raise_fd_limit();
  UnionFsConfig config;
  config.writable = opts.writable();
  // GANTRY_FUSE_OPEN=1 brings OPEN/RELEASE round trips back (for measuring their cost).
  if (const char* e = std::getenv("GANTRY_FUSE_OPEN"); e != nullptr && std::string(e) == "1") {
    config.zero_message_open = false;
  }
  if (const char* e = std::getenv("GANTRY_FUSE_SPLICE"); e != nullptr && std::string(e) == "0") {
    config.splice = false;
  }
  if (const char* e = std::getenv("GANTRY_FUSE_BACKGROUND"); e != nullptr) {
    config.max_background = static_cast<unsigned>(std::atoi(e));
  }
  if (const char* e = std::getenv("GANTRY_FUSE_PREFETCH"); e != nullptr) {
    config.prefetch_files = static_cast<size_t>(std::atoi(e));
  }
  if (const char* e = std::getenv("GANTRY_FUSE_RA_KB"); e != nullptr) {
    read_ahead_kib = std::atoi(e);
  }
  UnionFs fs(std::move(layers), config);

  std::string o = mount_options(opts);
  std::vector<const char*> argv = {"gantry-fuse", "-o", o.c_str()};
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  Session s;
  s.se = fuse_session_new(&args, &UnionFs::operations(), sizeof(fuse_lowlevel_ops), fs.userdata());
  if (s.se == nullptr) return Error(ErrorKind::internal, "fuse_session_new failed");
  if (fuse_session_mount(s.se, opts.mountpoint.c_str()) != 0) {
    return Error(ErrorKind::unavailable, "mount at '" + opts.mountpoint.string() + "' failed");
  }
  s.mounted = true;

  if (opts.foreground) {
    if (opts.pid_file) GANTRY_TRY(write_pid_file(*opts.pid_file, ::getpid()));
    // Another process must make the first request before read-ahead can be raised.
    std::thread([mp = opts.mountpoint] { raise_read_ahead(mp); }).detach();
    if (run_loop(s.se) != 0) return Error(ErrorKind::internal, "fuse session loop failed");
    return Role::server_done;
  }

  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return errno_error(errno, "pipe");
  sys::UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error(errno, "fork");
  if (pid == 0) {
    ready_r.reset();
    ::setsid();
    if (::chdir("/") != 0) _exit(1);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::close(null);
    }
    if (opts.pid_file) {
      if (auto r = write_pid_file(*opts.pid_file, ::getpid()); !r) {
        std::string msg = r.error().to_string();
        (void)!::write(ready_w.get(), msg.data(), msg.size());
        _exit(1);
      }
    }
    (void)!::write(ready_w.get(), "", 1);
    ready_w.reset();
    int null_err = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_err >= 0) {
      ::dup2(null_err, 2);
      ::close(null_err);
    }
    int rc = run_loop(s.se);
    return rc == 0 ? Result<Role>(Role::server_done)
                   : Result<Role>(Error(ErrorKind::internal, "fuse session loop failed"));
  }
  ready_w.reset();
  char buf[512];
  ssize_t n = ::read(ready_r.get(), buf, sizeof buf);
  if (n != 1 || buf[0] != '\0') {
    std::string msg = n > 1 ? std::string(buf, n) : "server exited before serving";
    // The server owns the session; the starter only forgets it.
    s.mounted = false;
    ::umount2(opts.mountpoint.c_str(), MNT_DETACH);
    return Error(ErrorKind::internal, msg);
  }
  // A stat through the mount returns once the server has answered INIT: the mount is served.
  struct stat st;
  if (::stat(opts.mountpoint.c_str(), &st) != 0) {
    return errno_error(errno, "stat mount '" + opts.mountpoint.string() + "'");
  }
  raise_read_ahead(opts.mountpoint);
  // Leave the session to the server: do not unmount, do not destroy.
  s.se = nullptr;
  return Role::starter_done;
}

}  // namespace gantry::runtime::fuse
