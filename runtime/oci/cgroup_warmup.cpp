#include "runtime/oci/cgroup_warmup.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace gantry::runtime::oci {

namespace {

// The child shares our memory (CLONE_VM: no page tables to copy, no copy-on-write faults
// afterwards in the parent, which goes on at once) but not our thread: it must not touch
// errno, locks or anything else of libc's thread state, so it makes its system calls itself
// and uses only its stack and the text read from /proc. Elsewhere a plain fork does it.
#if defined(__x86_64__)
constexpr bool kShareMemory = true;

long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return ret;
}
#else
constexpr bool kShareMemory = false;

long raw_syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long r = ::syscall(n, a, b, c, d);
  return r < 0 ? -errno : r;
}
#endif

int sys_open(const char* path, int flags) {
  return static_cast<int>(raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), flags));
}

void sys_close(int fd) {
  raw_syscall(SYS_close, fd);
}

char* find(char* s, char c) {
  for (; *s; ++s)
    if (*s == c) return s;
  return nullptr;
}

bool same(const char* a, const char* b) {
  for (; *a && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}

bool starts_with(const char* s, const char* prefix) {
  for (; *prefix; ++s, ++prefix)
    if (*s != *prefix) return false;
  return true;
}

void append(char*& at, const char* end, const char* s) {
  while (*s && at < end) *at++ = *s++;
}

// After the first write (the one that waited): another every 2 ms, each within the grace period
// that follows the previous one, so none waits and the next writer (the init's placement) finds
// the lock ready however long the parent takes to get there; for at most kKeepWarmMs, unless
// the parent ends it sooner (reap_cgroup_warmup kills it), or dies (the parent-death signal).
constexpr int kKeepWarmMs = 200;

void keep_warm(int procs_fd) {
  raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  struct timespec pause {
    0, 2'000'000
  };
  for (int waited_ms = 0; waited_ms < kKeepWarmMs; waited_ms += 2) {
    raw_syscall(SYS_nanosleep, reinterpret_cast<long>(&pause), 0);
    if (raw_syscall(SYS_write, procs_fd, reinterpret_cast<long>("0"), 1) != 1) return;
  }
}

// For each line of /proc/self/cgroup ("id:controllers:path", "0::path" for v2), the candidate
// cgroup.procs of that cgroup under /sys/fs/cgroup; the first that opens for writing gets "0"
// (this process, into the cgroup it is in).
int warm_up(void*) {
  char text[4096];
  int fd = sys_open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  long n = raw_syscall(SYS_read, fd, reinterpret_cast<long>(text), sizeof text - 1);
  sys_close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  for (char* line = text; line && *line;) {
    char* next = find(line, '\n');
    if (next) *next++ = '\0';
    char* c1 = find(line, ':');
    char* c2 = c1 ? find(c1 + 1, ':') : nullptr;
    if (c2) {
      *c2 = '\0';
      const char* controllers = c1 + 1;
      const char* path = c2 + 1;
      if (starts_with(controllers, "name=")) controllers += 5;
      // v2: the unified mount of a hybrid host, then a pure v2 host; v1: the controller's mount.
      const char* dirs[2] = {*controllers ? controllers : "unified", *controllers ? nullptr : ""};
      for (const char* dir : dirs) {
        if (!dir) continue;
        char procs[sizeof text + 64];
        char* at = procs;
        const char* end = procs + sizeof procs - 1;
        append(at, end, "/sys/fs/cgroup");
        if (*dir) append(at, end, "/");
        append(at, end, dir);
        if (!same(path, "/")) append(at, end, path);
        append(at, end, "/cgroup.procs");
        if (at == end) continue;
        *at = '\0';
        int out = sys_open(procs, O_WRONLY | O_CLOEXEC);
        if (out < 0) continue;
        long w = raw_syscall(SYS_write, out, reinterpret_cast<long>("0"), 1);
        if (w == 1) keep_warm(out);
        sys_close(out);
        if (w == 1) return 0;
      }
    }
    line = next;
  }
  return 0;
}

// The child's stack: one child per process at a time (a second call waits for the first).
alignas(64) char child_stack[32 * 1024];
pid_t running = -1;

}  // namespace

pid_t start_cgroup_warmup() {
  if (!kShareMemory) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(warm_up(nullptr));
    return pid < 0 ? -1 : pid;
  }
  reap_cgroup_warmup(running);
  pid_t pid = ::clone(warm_up, child_stack + sizeof child_stack, CLONE_VM | SIGCHLD, nullptr);
  running = pid < 0 ? -1 : pid;
  return running;
}

pid_t adopt_cgroup_warmup() {
  const char* handed = std::getenv(kWarmupEnv);
  if (!handed) return -1;
  pid_t pid = static_cast<pid_t>(std::atoi(handed));
  ::unsetenv(kWarmupEnv);
  return pid > 0 ? pid : -1;
}

void hand_over_cgroup_warmup(pid_t pid) {
  if (pid <= 0) return;
  ::setenv(kWarmupEnv, std::to_string(pid).c_str(), 1);
}

void reap_cgroup_warmup(pid_t pid) {
  if (pid <= 0) return;
  if (pid == running) running = -1;
  ::kill(pid, SIGKILL);  // our unreaped child: the pid cannot have been reused
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void end_cgroup_warmup(pid_t pid) {
  if (pid <= 0) return;
  if (pid == running) running = -1;
  ::kill(pid, SIGKILL);  // our unreaped child: the pid cannot have been reused
  while (::waitpid(pid, nullptr, WNOHANG) < 0 && errno == EINTR) {
  }
}

}  // namespace gantry::runtime::oci
