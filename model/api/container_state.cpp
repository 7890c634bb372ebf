#include "model/api/container_state.h"

#include <string>

namespace gantry::api {

std::string_view to_string(ContainerState state) {
  switch (state) {
    case ContainerState::creating:
      return "creating";
    case ContainerState::created:
      return "created";
    case ContainerState::running:
      return "running";
    case ContainerState::paused:
      return "paused";
    case ContainerState::stopped:
      return "stopped";
  }
  return "unknown";
}

std::optional<ContainerState> container_state_from_string(std::string_view text) {
  for (auto s : {ContainerState::creating, ContainerState::created, ContainerState::running,
                 ContainerState::paused, ContainerState::stopped}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

bool can_start(ContainerState state) {
  return state == ContainerState::created;
}

bool can_kill(ContainerState state) {
  return state == ContainerState::created || state == ContainerState::running ||
         state == ContainerState::paused;
}

bool can_pause(ContainerState state) {
  // runc freezes a created container too (its init waits, frozen); resume gives `created` back.
  return state == ContainerState::created || state == ContainerState::running;
}

bool can_resume(ContainerState state) {
  return state == ContainerState::paused;
}

bool can_exec(ContainerState state) {
  return state == ContainerState::created || state == ContainerState::running;
}

bool can_update(ContainerState state) {
  return state == ContainerState::created || state == ContainerState::running ||
         state == ContainerState::paused;
}

bool can_delete(ContainerState state) {
  return state == ContainerState::created || state == ContainerState::stopped;
}

Error illegal_transition(std::string_view op, std::string_view container_id, ContainerState state) {
  return Error(ErrorKind::failed_precondition, "cannot " + std::string(op) + " container " +
                                                   std::string(container_id) + ": container is " +
                                                   std::string(to_string(state)));
}

}  // namespace gantry::api
