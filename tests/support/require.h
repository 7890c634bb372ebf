// Skipping with a reason. A test that cannot run here (no root, no /dev/fuse, a missing peer)
// prints why and passes, except in CI (CI=true), where a missing capability is a failure.
#pragma once

#include <string>

namespace gantry::testing {

bool in_ci();
bool is_root();
// True when the capability is there. Otherwise: in CI, a Boost.Test failure with the reason;
// elsewhere, "SKIP <test>: <reason>" on stderr. The caller returns when this is false.
bool require(bool available, const std::string& reason);
// Shorthands for what tests here ask for most.
bool require_root();
bool require_fuse();
bool require_overlay();
bool require_program(const std::string& name);

}  // namespace gantry::testing
