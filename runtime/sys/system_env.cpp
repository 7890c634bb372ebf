#include "runtime/sys/system_env.h"

#include <sys/random.h>

#include <cassert>
#include <ctime>

namespace gantry::runtime::sys {

int64_t SystemEnv::now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint64_t SystemEnv::random_u64() {
  uint64_t v = 0;
  ssize_t n = getrandom(&v, sizeof v, 0);
  assert(n == static_cast<ssize_t>(sizeof v));
  (void)n;
  return v;
}

}  // namespace gantry::runtime::sys
