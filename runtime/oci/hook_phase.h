// Running one phase of the spec's hooks (prestart, createRuntime, poststart, poststop) from the
// runtime's side: each hook gets the container's state JSON on stdin, its args and env, and its
// timeout. createContainer and startContainer run inside the container (launch does those).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/base/result.h"
#include "runtime/oci/spec/spec.h"

namespace gantry::runtime::oci {

// Runs the hooks in order; the first that fails (non-zero exit, signal, timeout, not
// executable) stops the phase with an error naming the phase, the index and the path.
Result<void> run_hooks(std::string_view phase, const std::vector<spec::Hook>& hooks,
                       const std::string& state_json);

// Runs every hook, logging a warning for each failure (the spec's rule for poststart and
// poststop: the lifecycle continues).
void run_hooks_warn(std::string_view phase, const std::vector<spec::Hook>& hooks,
                    const std::string& state_json);

}  // namespace gantry::runtime::oci
