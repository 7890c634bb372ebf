// `start ID`: releases the init of a created container (it opens the exec fifo, runs the
// startContainer hooks and execs the user process), records that, then runs poststart hooks.
#include "runtime/oci/hook_phase.h"
#include "runtime/oci/launch/launch.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"

namespace gantry::runtime::oci {

namespace {

// Releases the init of c (created; its lock held by the caller) and records it running.
Result<void> release(StateStore& store, Container& c, const spec::Spec& spec) {
  const std::string& id = c.record.id;
  auto fifo = store.dir(id) / "exec.fifo";
  GANTRY_TRY_CTX(launch::start(fifo, c.record.init_pid), "start " + id);
  std::error_code ignored;
  std::filesystem::remove(fifo, ignored);
  c.record.started = true;
  GANTRY_TRY(store.save(c.record));
  c.state = api::ContainerState::running;
  log_debug("started " + id);
  if (!spec.hooks.poststart.empty()) {
    run_hooks_warn("poststart", spec.hooks.poststart, state_document(c).dump());
  }
  return ok();
}

}  // namespace

Result<void> start(StateStore& store, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(auto held, store.lock_and_load(id));
  Container& c = held.second;
  if (!api::can_start(c.state)) return api::illegal_transition("start", id, c.state);
  GANTRY_ASSIGN_OR_RETURN(spec::Spec spec, load_stored_spec(store, id));
  return release(store, c, spec);
}

Result<void> start_created(StateStore& store, CreatedContainer& created) {
  // Still locked since create recorded it: nothing else can have changed its state (an init
  // that died meanwhile is what launch::start reports).
  Container c;
  c.record = created.record;
  c.state = api::ContainerState::created;
  return release(store, c, created.spec);
}

}  // namespace gantry::runtime::oci
