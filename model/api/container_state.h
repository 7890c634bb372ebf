// The lifecycle of an OCI container (runtime-spec 1.1, "State" and "Lifecycle"), shared by the
// model and every runtime: the state names as the spec spells them in `state` JSON, and one
// predicate per operation that says whether the operation is legal in a state.
//
// Vocabulary:
//   creating  the runtime is building the container; no operation but `state` is legal.
//   created   the container exists and its init waits for `start`; the user process has not run.
//   running   the user process runs (or ran and has not been observed to stop yet).
//   paused    every process of the container is frozen (cgroup freezer).
//   stopped   the container's init has exited; only `delete` (and `state`) remain.
// The predicates are the runtime's rules (runc's, which podman and containerd rely on), not
// only the spec's: e.g. `kill` is legal on a paused container, `delete` without --force is
// legal on a created one, and `pause` is legal on a created one (runc 1.1.5 freezes it; resume
// gives back `created`, so a paused container remembers whether it had started).
#pragma once

#include <optional>
#include <string_view>

#include "model/base/result.h"

namespace gantry::api {

enum class ContainerState { creating, created, running, paused, stopped };

std::string_view to_string(ContainerState state);
std::optional<ContainerState> container_state_from_string(std::string_view text);

bool can_start(ContainerState state);
bool can_kill(ContainerState state);
bool can_pause(ContainerState state);
bool can_resume(ContainerState state);
bool can_exec(ContainerState state);
bool can_update(ContainerState state);
// delete without --force; with --force every state but creating may be deleted.
bool can_delete(ContainerState state);

// The error an illegal operation gets: failed_precondition, with the runtime-style message
// "cannot <op> container <id>: container is <state>". `op` is "start", "pause", ...
Error illegal_transition(std::string_view op, std::string_view container_id, ContainerState state);

}  // namespace gantry::api
