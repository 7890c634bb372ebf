#include "runtime/oci/hook_phase.h"

#include "runtime/oci/launch/hooks.h"
#include "runtime/oci/logging.h"

namespace gantry::runtime::oci {

namespace {

std::string hook_name(std::string_view phase, size_t index, const spec::Hook& hook) {
  return "hooks." + std::string(phase) + "[" + std::to_string(index) + "] '" + hook.path + "'";
}

}  // namespace

Result<void> run_hooks(std::string_view phase, const std::vector<spec::Hook>& hooks,
                       const std::string& state_json) {
  if (!hooks.empty())
    log_debug("running " + std::to_string(hooks.size()) + " " + std::string(phase) + " hooks");
  return launch::run_hooks(hooks, state_json, phase);
}

void run_hooks_warn(std::string_view phase, const std::vector<spec::Hook>& hooks,
                    const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    auto r = launch::run_hook(hooks[i], state_json);
    if (!r) log_warning(r.error().with_context(hook_name(phase, i, hooks[i])).to_string());
  }
}

}  // namespace gantry::runtime::oci
