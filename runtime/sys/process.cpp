#include "runtime/sys/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace gantry::runtime::sys {

namespace {

namespace fs = std::filesystem;

Result<UniqueFd> open_pidfd(pid_t pid) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno_error(errno, "pidfd_open " + std::to_string(pid));
  return UniqueFd(fd);
}

bool is_executable_file(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

// PATH lookup happens before fork: execvp may allocate, which a child of a threaded parent
// must not do.
Result<std::string> resolve_program(const std::string& name) {
  if (name.empty()) return Error(ErrorKind::invalid_argument, "spawn: empty argv[0]");
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / name;
    if (is_executable_file(candidate)) return candidate.string();
  }
  return Error(ErrorKind::not_found, "spawn '" + name + "': not found on PATH");
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errno_error(errno, "pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(const char* file, char* const* argv, int out_fd, int err_fd,
                             bool stdin_null, int report_fd) {
  if (stdin_null) {
    // O_CLOEXEC: only the dup on fd 0 reaches the program, no stray descriptor.
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd == STDIN_FILENO) {
      fcntl(null_fd, F_SETFD, 0);
    } else if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
    }
  }
  if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
  if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv(file, argv);
  int e = errno;
  ssize_t n = write(report_fd, &e, sizeof e);
  (void)n;
  _exit(127);
}

void read_available(UniqueFd& fd, std::string& into) {
  if (!fd) return;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fd.reset();  // end of file
    return;                  // EAGAIN or error: nothing more for now
  }
}

ExitStatus status_from(const siginfo_t& info) {
  ExitStatus s;
  if (info.si_code == CLD_EXITED) {
    s.exited = true;
    s.exit_code = info.si_status;
  } else {
    s.term_signal = info.si_status;
  }
  return s;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(exit_code);
  const char* name = sigabbrev_np(term_signal);
  return std::string("killed by signal ") +
         (name != nullptr ? std::string("SIG") + name : std::to_string(term_signal));
}

Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return Error(ErrorKind::invalid_argument, "spawn: empty argv");
  GANTRY_ASSIGN_OR_RETURN(std::string file, resolve_program(argv[0]));
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  if (options.capture_stdout && options.stdout_fd >= 0)
    return Error(ErrorKind::invalid_argument, "spawn: capture_stdout and stdout_fd both given");
  if (options.capture_stderr && options.stderr_fd >= 0)
    return Error(ErrorKind::invalid_argument, "spawn: capture_stderr and stderr_fd both given");
  Pipe out, err;
  if (options.capture_stdout) {
    GANTRY_ASSIGN_OR_RETURN(out, make_pipe());
  }
  if (options.capture_stderr) {
    GANTRY_ASSIGN_OR_RETURN(err, make_pipe());
  }
  GANTRY_ASSIGN_OR_RETURN(Pipe report, make_pipe());

  pid_t pid = fork();
  if (pid < 0) return errno_error(errno, "fork for '" + argv[0] + "'");
  if (pid == 0) {
    exec_child(file.c_str(), cargv.data(),
               options.stdout_fd >= 0 ? options.stdout_fd : out.write.get(),
               options.stderr_fd >= 0 ? options.stderr_fd : err.write.get(), options.stdin_null,
               report.write.get());
  }
  out.write.reset();
  err.write.reset();
  report.write.reset();

  // The exec report pipe closes on a successful exec; otherwise it carries the errno.
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(report.read.get(), &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    waitpid(pid, nullptr, 0);
    return errno_error(exec_errno, "exec '" + file + "'");
  }

  auto pidfd = open_pidfd(pid);  // our unreaped child: its pid cannot be reused meanwhile
  if (!pidfd) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return std::move(pidfd).error();
  }
  for (UniqueFd* fd : {&out.read, &err.read}) {
    if (*fd) fcntl(fd->get(), F_SETFL, fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
  }
  return Child(pid, std::move(*pidfd), std::move(out.read), std::move(err.read));
}

Result<RunResult> wait(Child& child, int timeout_ms) {
  RunResult result;
  const int64_t deadline_ms = now_ms() + timeout_ms;
  bool timed_out = false;
  for (;;) {
    pollfd fds[3] = {{child.pidfd().get(), POLLIN, 0},
                     {child.stdout_fd().get(), POLLIN, 0},
                     {child.stderr_fd().get(), POLLIN, 0}};
    int64_t left_ms = deadline_ms - now_ms();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(fds, 3, static_cast<int>(left_ms));
    if (r < 0 && errno != EINTR) return errno_error(errno, "poll child");
    read_available(child.stdout_fd(), result.stdout_text);
    read_available(child.stderr_fd(), result.stderr_text);
    if (r > 0 && (fds[0].revents & POLLIN) != 0) break;
  }
  if (timed_out) syscall(SYS_pidfd_send_signal, child.pidfd().get(), SIGKILL, nullptr, 0);

  siginfo_t info{};
  int r;
  do {
    r = waitid(P_PIDFD, static_cast<id_t>(child.pidfd().get()), &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return errno_error(errno, "waitid " + std::to_string(child.pid()));
  // Whatever is already in the pipes; a daemonized grandchild may keep them open, so no EOF.
  read_available(child.stdout_fd(), result.stdout_text);
  read_available(child.stderr_fd(), result.stderr_text);
  if (timed_out) {
    return errno_error(ETIMEDOUT, "process " + std::to_string(child.pid()) +
                                      " still running after " + std::to_string(timeout_ms) +
                                      " ms; killed");
  }
  result.status = status_from(info);
  return result;
}

Result<RunResult> run(const std::vector<std::string>& argv, int timeout_ms) {
  GANTRY_ASSIGN_OR_RETURN(
      Child child,
      spawn(argv, {.capture_stdout = true, .capture_stderr = true, .stdin_null = true}));
  GANTRY_ASSIGN_OR_RETURN_CTX(RunResult r, wait(child, timeout_ms), "run '" + argv[0] + "'");
  return r;
}

Result<void> wait_pid_exit(pid_t pid, int timeout_ms) {
  auto pidfd = open_pidfd(pid);
  if (!pidfd) {
    if (pidfd.error().errno_value() == ESRCH) return ok();
    return std::move(pidfd).error();
  }
  const int64_t deadline_ms = now_ms() + timeout_ms;
  for (;;) {
    pollfd p{pidfd->get(), POLLIN, 0};
    int64_t left_ms = deadline_ms - now_ms();
    if (left_ms <= 0) {
      return errno_error(ETIMEDOUT, "process " + std::to_string(pid) + " still running after " +
                                        std::to_string(timeout_ms) + " ms");
    }
    int r = poll(&p, 1, static_cast<int>(left_ms));
    if (r > 0) return ok();
    if (r < 0 && errno != EINTR) return errno_error(errno, "poll pid " + std::to_string(pid));
  }
}

Result<fs::path> find_program(std::string_view name, std::string_view env_var) {
  std::string looked;
  if (!env_var.empty()) {
    const char* v = std::getenv(std::string(env_var).c_str());
    if (v != nullptr && *v != '\0') {
      if (is_executable_file(v)) return fs::path(v);
      return Error(ErrorKind::not_found,
                   std::string(env_var) + "='" + v + "' is not an executable file");
    }
    looked += "$" + std::string(env_var) + " (unset), ";
  }
  std::vector<fs::path> candidates;
  if (const char* bin = std::getenv("GANTRY_BIN"); bin != nullptr && *bin != '\0') {
    candidates.push_back(fs::path(bin) / name);
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(self.parent_path() / name);
    candidates.push_back(self.parent_path().parent_path() / "bin" / name);
  }
  for (const auto& c : candidates) {
    if (is_executable_file(c)) return c;
    looked += "'" + c.string() + "', ";
  }
  auto on_path = resolve_program(std::string(name));
  if (on_path) return fs::path(*on_path);
  looked += "PATH";
  return Error(ErrorKind::not_found, "program '" + std::string(name) + "' not found in " + looked);
}

}  // namespace gantry::runtime::sys
