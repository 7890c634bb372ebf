// `delete [--force] ID`: removes a created or stopped container (a created one's waiting init
// is killed); with --force any container, every process in its cgroup killed first. Then the
// cgroup goes, the poststop hooks run, and the state directory is removed. An unknown id is an
// error, except with --force (as runc, so that cleanup paths can call it blindly).
#include <signal.h>

#include <cerrno>
#include <optional>

#include "runtime/oci/hook_phase.h"
#include "runtime/oci/logging.h"
#include "runtime/oci/operations.h"
#include "runtime/oci/stored_config.h"
#include "runtime/sys/process.h"

namespace gantry::runtime::oci {

namespace {

constexpr int kExitTimeoutMs = 10'000;

// Kills the init and everything in the cgroup, and waits for the init to be gone.
Result<void> kill_everything(const Container& c, Result<cgroup::Manager>& manager) {
  if (manager) {
    auto r = manager->signal_all(SIGKILL);
    if (!r) log_warning(r.error().with_context("delete " + c.record.id).to_string());
  }
  if (c.state != api::ContainerState::stopped) {
    if (::kill(c.record.init_pid, SIGKILL) != 0 && errno != ESRCH) {
      return errno_error(errno, "kill init");
    }
    GANTRY_TRY_CTX(sys::wait_pid_exit(c.record.init_pid, kExitTimeoutMs), "wait for the init");
  }
  return ok();
}

}  // namespace

Result<void> delete_container(StateStore& store, const std::string& id, bool force) {
  return delete_container(store, id, force, nullptr);
}

Result<void> delete_container(StateStore& store, const std::string& id, bool force,
                              const spec::Spec* known_spec) {
  auto held = store.lock_and_load(id);
  if (!held) {
    if (force && validate_container_id(id)) {
      // Unknown (or a directory left by a create that died before writing state.json), or a
      // state file that cannot be read: nothing is known to kill; the directory goes.
      if (held.error().kind() != ErrorKind::not_found) {
        log_warning(held.error().with_context("delete --force " + id).to_string());
      }
      GANTRY_TRY_CTX(store.remove(id), "delete --force " + id);
      return ok();
    }
    return std::move(held).error();
  }
  Container& c = held->second;
  if (!force && !api::can_delete(c.state)) return api::illegal_transition("delete", id, c.state);
  // One lookup of the cgroup (a read of /proc/self/mountinfo) serves the kill and the removal.
  auto manager = manager_for(c.record);
  GANTRY_TRY_CTX(kill_everything(c, manager), "delete " + id);
  c.state = api::ContainerState::stopped;
  if (manager) GANTRY_TRY_CTX(manager->destroy(), "delete " + id + ": remove cgroup");
  std::optional<Result<spec::Spec>> loaded;
  const spec::Spec* spec = known_spec;
  if (!spec) {
    loaded = load_stored_spec(store, id);
    if (*loaded) spec = &**loaded;
  }
  if (spec && !spec->hooks.poststop.empty()) {
    run_hooks_warn("poststop", spec->hooks.poststop, state_document(c).dump());
  }
  GANTRY_TRY(store.remove(id));
  log_debug("deleted " + id);
  return ok();
}

}  // namespace gantry::runtime::oci
