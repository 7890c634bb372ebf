#include "runtime/oci/launch/child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <sys/prctl.h>
#include <sys/stat.h>

#include "runtime/oci/launch/syscalls.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::oci::launch {

// What every child does first: it must not be ptrace-able or its /proc/<pid>/exe openable by
// the container while it runs runtime code in the container's namespaces (CVE-2019-5736), and
// it dies with the runtime until it is ready.
void child_prologue() {
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::umask(0);
}

pid_t clone_process(int flags) {
  // The raw system call: glibc's clone() wants a stack, and fork() cannot take CLONE_NEW*.
  return static_cast<pid_t>(::syscall(SYS_clone, static_cast<unsigned long>(flags) | SIGCHLD,
                                      nullptr, nullptr, nullptr, nullptr));
}

void run_child(SyncChannel& channel, const std::function<Result<void>(std::string& step)>& body) {
  std::string step = "start";
  Result<void> r = body(step);
  if (r) ::_exit(0);
  channel.send_error(step, r.error());
  ::_exit(1);
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

int reap(pid_t pid) {
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, 0) == pid) break;
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Clones the init: directly with the new namespaces, or, when some are joined by path, from an
// intermediate child that joins them first (setns of a pid namespace only affects children)
// and clones the init as our child (CLONE_PARENT).
Result<pid_t> spawn(const NamespacePlan& ns, SyncChannel& parent_end, SyncChannel& child_end,
                    const std::function<Result<void>(std::string&)>& body) {
  if (ns.join.empty()) {
    pid_t pid = clone_process(ns.clone_flags);
    if (pid < 0) return errno_error(errno, "clone the container process");
    if (pid == 0) {
      parent_end.close();
      child_prologue();
      run_child(child_end, body);
    }
    child_end.close();
    return pid;
  }
  pid_t mid = ::fork();
  if (mid < 0) return errno_error(errno, "fork");
  if (mid == 0) {
    parent_end.close();
    child_prologue();
    run_child(child_end, [&](std::string& step) -> Result<void> {
      step = "join namespaces";
      auto sys = real_syscalls();
      GANTRY_TRY(join_namespaces(*sys, ns));
      step = "clone the container process";
      pid_t pid = clone_process(ns.clone_flags | CLONE_PARENT);
      if (pid < 0) return errno_error(errno, "clone");
      if (pid == 0) {
        child_prologue();
        run_child(child_end, body);
      }
      Message m = Message::of(MsgType::init_pid);
      m.pid = pid;
      return child_end.send(m);
    });
  }
  child_end.close();
  auto msg = parent_end.expect(MsgType::init_pid);
  reap(mid);
  if (!msg) return std::move(msg).error();
  return static_cast<pid_t>(msg->pid);
}

char process_state(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  std::string s(buf, static_cast<size_t>(n));
  auto p = s.rfind(')');
  if (p == std::string::npos || p + 2 >= s.size()) return 0;
  return s[p + 2];
}

}  // namespace gantry::runtime::oci::launch
