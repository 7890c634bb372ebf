// `run [--detach] [--keep] ID`: create then start. Detached, it returns once started.
// Otherwise gantry-oci stays the init's parent: it passes on the signals it receives, waits,
// and exits with the init's status (128+N after a death by signal N), deleting the container
// unless --keep.
#include <sys/prctl.h>

#include "runtime/oci/child_wait.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"

namespace gantry::runtime::oci {

Result<int> run(StateStore& store, const RunOptions& options) {
  const std::string& id = options.create.id;
  if (!options.detach && !options.no_subreaper) {
    // Processes the container leaves behind are reparented to us, not to the host's init.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  GANTRY_ASSIGN_OR_RETURN(CreatedContainer created, create_held(store, options.create));
  std::optional<SignalForwarder> forwarder;
  if (!options.detach) forwarder.emplace();
  auto started = start_created(store, created);
  created.lock = ContainerLock();  // delete and other invocations may proceed
  if (!started) {
    (void)delete_container(store, id, true);
    return std::move(started).error();
  }
  if (options.detach) return 0;

  auto status = forwarder->wait(created.record.init_pid);
  forwarder.reset();
  if (!options.keep) {
    auto r = delete_container(store, id, true, &created.spec);
    if (!r) log_warning(r.error().with_context("run: delete after exit").to_string());
  }
  if (!status) return std::move(status).error();
  log_debug("run " + id + ": init ended with " + status->describe());
  return exit_code_of(*status);
}

}  // namespace gantry::runtime::oci
