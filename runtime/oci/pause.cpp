// `pause ID`: freezes every process of a running container (cgroup freezer). The state is the
// freezer's, so nothing needs persisting.
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

Result<void> pause(StateStore& store, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(id));
  const Container& c = held.second;
  if (!api::can_pause(c.state)) return api::illegal_transition("pause", id, c.state);
  GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
  GANTRY_TRY_CTX(m.freeze(), "pause " + id);
  log_debug("paused " + id);
  return ok();
}

}  // namespace gantry::runtime::oci
