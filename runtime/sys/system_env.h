// SystemEnv: the real clock, the kernel's randomness. The simulated twin is gantry::SimEnv.
#pragma once

#include "model/base/env.h"

namespace gantry::runtime::sys {

class SystemEnv final : public Env {
 public:
  int64_t now_ns() override;
  uint64_t random_u64() override;
};

}  // namespace gantry::runtime::sys
