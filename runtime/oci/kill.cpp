// `kill [--all] ID [SIGNAL]`: a signal to the init (known by pid and start time, so a recycled
// pid is never hit), or with --all to every process in the container's cgroup.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

Result<void> kill(StateStore& store, const KillOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(int sig, parse_signal(options.signal));
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(options.id));
  const Container& c = held.second;
  if (!api::can_kill(c.state)) return api::illegal_transition("kill", options.id, c.state);
  log_debug("kill " + options.id + " signal " + std::to_string(sig) +
            (options.all ? " --all" : ""));
  if (options.all) {
    GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
    GANTRY_TRY_CTX(m.signal_all(sig), "kill --all " + options.id);
    // runc signals --all between a freeze and a thaw, so a paused container comes out running
    // (and can act on the signal); podman and containerd expect that, and the model says it.
    if (c.state == api::ContainerState::paused)
      GANTRY_TRY_CTX(m.thaw(), "kill --all " + options.id + ": thaw");
    return ok();
  }
  if (::kill(c.record.init_pid, sig) != 0 && errno != ESRCH) {
    return errno_error(errno, "kill " + options.id);
  }
  // On the v1 freezer a SIGKILL stays pending while frozen: let it land (runc does the same).
  if (c.state == api::ContainerState::paused && sig == SIGKILL) {
    GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
    GANTRY_TRY_CTX(m.thaw(), "kill " + options.id + ": thaw");
  }
  return ok();
}

}  // namespace gantry::runtime::oci
