#include "runtime/oci/launch/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "runtime/sys/fd.h"

namespace gantry::runtime::oci::launch {
namespace {

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Result<void> run_hook(const spec::Hook& hook, std::string_view state_json) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return errno_error(errno, "hook pipe");
  sys::UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) return errno_error(errno, "hook pipe");
  sys::UniqueFd err_r(err[0]), err_w(err[1]);

  std::vector<char*> argv;
  std::string path = hook.path;
  for (const auto& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
  if (argv.empty()) argv.push_back(const_cast<char*>(path.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return errno_error(errno, "fork hook '" + hook.path + "'");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 2);
    ::execve(path.c_str(), argv.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  in_r.reset();
  err_w.reset();
  // The state is small (well under a pipe buffer); a hook that does not read it must not block
  // us, so write without blocking and ignore EPIPE/EAGAIN.
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  (void)!::write(in_w.get(), state_json.data(), state_json.size());
  in_w.reset();

  std::string stderr_text;
  int64_t deadline =
      hook.timeout_seconds ? now_ms() + int64_t{*hook.timeout_seconds} * 1000 : INT64_MAX;
  bool timed_out = false;
  bool reaped = false;
  int status = 0;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p {
      err_r.get(), POLLIN, 0
    };
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) {
      // Exited while a child of its own still holds stderr open.
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
        break;
      }
      continue;
    }
    char buf[1024];
    ssize_t got = ::read(err_r.get(), buf, sizeof buf);
    if (got <= 0) break;  // the hook (and its children) closed stderr
    if (stderr_text.size() < 4096) stderr_text.append(buf, static_cast<size_t>(got));
  }
  std::string name = "hook '" + hook.path + "'";
  if (timed_out) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return Error(ErrorKind::unavailable,
                 name + ": timed out after " + std::to_string(*hook.timeout_seconds) + " s",
                 ETIMEDOUT);
  }
  while (!reaped) {
    if (::waitpid(pid, &status, 0) == pid)
      reaped = true;
    else if (errno != EINTR)
      return errno_error(errno, name + ": wait");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status));
  while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
  return Error(ErrorKind::failed_precondition,
               name + ": " + how + (stderr_text.empty() ? "" : ": " + stderr_text));
}

Result<void> run_hooks(const std::vector<spec::Hook>& hooks, std::string_view state_json,
                       std::string_view phase) {
  for (size_t i = 0; i < hooks.size(); ++i)
    GANTRY_TRY_CTX(run_hook(hooks[i], state_json),
                   "hooks." + std::string(phase) + "[" + std::to_string(i) + "]");
  return ok();
}

}  // namespace gantry::runtime::oci::launch
