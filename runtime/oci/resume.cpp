// `resume ID`: thaws a paused container.
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

Result<void> resume(StateStore& store, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(id));
  const Container& c = held.second;
  if (!api::can_resume(c.state)) return api::illegal_transition("resume", id, c.state);
  GANTRY_ASSIGN_OR_RETURN(cgroup::Manager m, manager_for(c.record));
  GANTRY_TRY_CTX(m.thaw(), "resume " + id);
  log_debug("resumed " + id);
  return ok();
}

}  // namespace gantry::runtime::oci
