// Waiting for a container process that is our child (the init of `run` without --detach, the
// process of `exec`), passing on the signals we get, as runc does: `kill -TERM <gantry-oci>`
// reaches the container's process.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "model/base/result.h"
#include "runtime/sys/process.h"

namespace gantry::runtime::oci {

// While alive, the forwarded signals and SIGCHLD are blocked in this thread and queue up for
// wait(). Create it only after the child is forked: a child inherits the blocked mask.
class SignalForwarder {
 public:
  SignalForwarder();
  ~SignalForwarder();
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

  // Forwards every queued or arriving signal to pid until pid exits; reaps pid (and any other
  // child that ends meanwhile, as a subreaper must).
  Result<sys::ExitStatus> wait(pid_t pid);

 private:
  sigset_t forwarded_{};
  sigset_t old_mask_{};
};

// The shell's convention, which runc follows: the exit code, or 128 + the signal.
int exit_code_of(const sys::ExitStatus& status);

}  // namespace gantry::runtime::oci
