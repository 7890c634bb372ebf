#include "runtime/oci/child_wait.h"

#include <sys/wait.h>

#include <cerrno>
#include <ctime>

#include "runtime/oci/logging.h"

namespace gantry::runtime::oci {

namespace {

// Synchronous signals (faults of our own) and those that cannot be caught are not forwarded.
bool forwardable(int sig) {
  switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGCHLD:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGSYS:
      return false;
    default:
      return true;
  }
}

sys::ExitStatus status_from_wait(int status) {
  sys::ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.term_signal = WTERMSIG(status);
  }
  return s;
}

}  // namespace

SignalForwarder::SignalForwarder() {
  sigemptyset(&forwarded_);
  for (int sig = 1; sig < 32; ++sig) {
    if (forwardable(sig)) sigaddset(&forwarded_, sig);
  }
  sigset_t block = forwarded_;
  sigaddset(&block, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &block, &old_mask_);
}

SignalForwarder::~SignalForwarder() {
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

Result<sys::ExitStatus> SignalForwarder::wait(pid_t pid) {
  sigset_t waited = forwarded_;
  sigaddset(&waited, SIGCHLD);
  for (;;) {
    // Reap first: a SIGCHLD that came before the mask was set is not queued.
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(-1, &status, WNOHANG);
      if (r == pid) return status_from_wait(status);
      if (r > 0) continue;  // an orphan we adopted as subreaper
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == ECHILD) {
        return Error(ErrorKind::internal, "process " + std::to_string(pid) + " is not our child",
                     ECHILD);
      }
      break;
    }
    timespec timeout{1, 0};
    siginfo_t info{};
    int sig = ::sigtimedwait(&waited, &info, &timeout);
    if (sig <= 0 || sig == SIGCHLD) continue;
    log_debug("forwarding signal " + std::to_string(sig) + " to " + std::to_string(pid));
    ::kill(pid, sig);
  }
}

int exit_code_of(const sys::ExitStatus& status) {
  return status.exited ? status.exit_code : 128 + status.term_signal;
}

}  // namespace gantry::runtime::oci
