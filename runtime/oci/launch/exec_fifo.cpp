// The exec fifo: create makes it (0622); the init, when everything is ready, opens it for
// writing, which blocks until start opens it for reading; start reads the byte the init writes
// and removes the fifo, so a second start finds nothing (not_found).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/oci/launch/child.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/launch/steps.h"

namespace gantry::runtime::oci::launch {

Result<void> make_exec_fifo(const std::filesystem::path& path) {
  if (::mkfifo(path.c_str(), 0622) < 0)
    return errno_error(errno, "exec fifo '" + path.string() + "'");
  // mkfifo honours the umask; the init may run as any user and must be able to write.
  if (::chmod(path.c_str(), 0622) < 0)
    return errno_error(errno, "chmod exec fifo '" + path.string() + "'");
  return ok();
}

Result<sys::UniqueFd> open_exec_fifo_path(const std::filesystem::path& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return errno_error(errno, "exec fifo '" + path.string() + "'");
  return fd;
}

namespace {
// runc's init waits for start in its own (Go) code, where HUP, INT, QUIT and TERM end it with
// status 2 and other signals are ignored; podman and containerd see a created container that
// is sent TERM go to stopped. Ours is pid 1 of its namespace and would ignore them, so it
// installs the same handlers while it waits (execve resets them to the default).
void exit_on_signal(int) {
  ::_exit(2);
}

void install_waiting_handlers() {
  struct sigaction action {};
  action.sa_handler = exit_on_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::sigaction(sig, &action, nullptr);
}
}  // namespace

Result<void> wait_exec_fifo(int fifo_path_fd) {
  install_waiting_handlers();
  // Reopening through the fd needs no path in our (pivoted) view: /proc/self/fd, or the fd's
  // magic link when the container has no /proc.
  sys::UniqueFd fd(::open(fd_path(fifo_path_fd).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open the exec fifo for writing");
  char byte = '0';
  if (::write(fd.get(), &byte, 1) != 1) return errno_error(errno, "write the exec fifo");
  return ok();
}

Result<void> start(const std::filesystem::path& exec_fifo, pid_t init_pid) {
  sys::UniqueFd fd(::open(exec_fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return Error(ErrorKind::not_found,
                   "exec fifo '" + exec_fifo.string() + "' is gone: the container was started",
                   ENOENT);
    return errno_error(errno, "open exec fifo '" + exec_fifo.string() + "'");
  }
  for (;;) {
    struct pollfd p {
      fd.get(), POLLIN, 0
    };
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) return errno_error(errno, "poll the exec fifo");
    if (n > 0 && (p.revents & POLLIN)) break;
    if (n > 0 && (p.revents & POLLHUP))
      return Error(ErrorKind::failed_precondition,
                   "the container's init closed the exec fifo without starting");
    if (init_pid > 0 && (process_state(init_pid) == 0 || process_state(init_pid) == 'Z'))
      return Error(ErrorKind::failed_precondition, "the container's init is gone", ESRCH);
  }
  char byte;
  ssize_t got = ::read(fd.get(), &byte, 1);
  if (got != 1) return errno_error(got < 0 ? errno : EPIPE, "read the exec fifo");
  ::unlink(exec_fifo.c_str());
  return ok();
}

}  // namespace gantry::runtime::oci::launch
