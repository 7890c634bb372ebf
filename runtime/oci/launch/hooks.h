// Hooks of the OCI runtime spec: a program (path, args, env) given the container's state JSON
// on stdin, with an optional timeout. Used by the init (createContainer, startContainer) and by
// the CLI operations (prestart, createRuntime, poststart, poststop).
#pragma once

#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci::launch {

// Runs one hook and waits for it. A non-zero exit is failed_precondition naming the hook and
// what it wrote on stderr (first 4 KiB); a timeout kills it and is unavailable (ETIMEDOUT).
Result<void> run_hook(const spec::Hook& hook, std::string_view state_json);

// Runs the hooks in order, stopping at the first failure; phase names them in errors
// ("hooks.createRuntime[1]").
Result<void> run_hooks(const std::vector<spec::Hook>& hooks, std::string_view state_json,
                       std::string_view phase);

}  // namespace gantry::runtime::oci::launch
