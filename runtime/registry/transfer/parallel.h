// A small pool for transfers: run fn(i) for i in [0, count) on up to `workers` threads; the
// first error stops new work from starting and is the one returned.
#pragma once

#include <cstddef>
#include <functional>

#include "model/base/result.h"

namespace gantry::runtime::registry::transfer {

inline constexpr size_t kDefaultTransfers = 4;

Result<void> parallel_for(size_t count, size_t workers,
                          const std::function<Result<void>(size_t)>& fn);

}  // namespace gantry::runtime::registry::transfer
