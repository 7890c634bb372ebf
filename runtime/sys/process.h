// Child processes: start a program with an argv, wait for it with a timeout, capture what it
// prints, and find the programs that ship beside ours (gantry-fuse next to gantryd).
//
// Waiting uses a pidfd, so a timeout never races with pid reuse and any process (not only our
// children) can be waited for. Output is read while waiting, and reading stops when the process
// exits, not at end of file: a program that daemonizes leaves a grandchild holding the pipes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/sys/fd.h"

namespace gantry::runtime::sys {

// How a process ended.
struct ExitStatus {
  bool exited = false;  // true: exit_code is set; false: killed by term_signal
  int exit_code = 0;
  int term_signal = 0;

  bool success() const { return exited && exit_code == 0; }
  // "exit code 3" or "killed by signal SIGKILL".
  std::string describe() const;
};

// The child gets the caller's descriptors as they are: spawn closes nothing, so a descriptor
// without FD_CLOEXEC reaches the program (tests that look for leaked fds rely on that).
struct SpawnOptions {
  bool capture_stdout = false;  // else inherited (or stdout_fd)
  bool capture_stderr = false;  // else inherited
  bool stdin_null = true;       // else inherited
  // >= 0: the child's stdout is this descriptor of the caller (dup2'd; capture_stdout must be
  // false). The caller keeps it open and owns it.
  int stdout_fd = -1;
  // The same for stderr (capture_stderr must be false).
  int stderr_fd = -1;
};

// A started child. Destroying it does not kill or reap it; call wait (or kill then wait).
class Child {
 public:
  Child() = default;
  Child(pid_t pid, UniqueFd pidfd, UniqueFd out, UniqueFd err)
      : pid_(pid), pidfd_(std::move(pidfd)), stdout_(std::move(out)), stderr_(std::move(err)) {}

  pid_t pid() const { return pid_; }
  const UniqueFd& pidfd() const { return pidfd_; }
  UniqueFd& stdout_fd() { return stdout_; }
  UniqueFd& stderr_fd() { return stderr_; }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd stdout_;
  UniqueFd stderr_;
};

// Starts argv[0] (a path, or a name looked up on PATH) with argv. A program that cannot be
// executed is reported here (not_found, permission_denied), not as an exit code.
Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// What a finished run printed, and how it ended.
struct RunResult {
  ExitStatus status;
  std::string stdout_text;
  std::string stderr_text;
};

// Waits up to timeout_ms for the child to exit, collecting captured output meanwhile, and
// reaps it. On timeout the child is killed (SIGKILL), reaped, and the error is unavailable
// (ETIMEDOUT).
Result<RunResult> wait(Child& child, int timeout_ms);

// spawn + wait, output captured.
Result<RunResult> run(const std::vector<std::string>& argv, int timeout_ms);

// Waits up to timeout_ms for any process (not necessarily our child) to exit; a pid that is
// already gone counts as exited. Timeout: unavailable (ETIMEDOUT).
Result<void> wait_pid_exit(pid_t pid, int timeout_ms);

// Finds one of our programs: env_var (a full path) when set, else $GANTRY_BIN/name, else next
// to /proc/self/exe (and in ../bin from there, where build trees keep programs apart from
// tests), else PATH. not_found names every place looked at.
Result<std::filesystem::path> find_program(std::string_view name, std::string_view env_var);

}  // namespace gantry::runtime::sys
