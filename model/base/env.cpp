#include "model/base/env.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace gantry {

std::string Env::new_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  id.reserve(64);
  for (int i = 0; i < 4; ++i) {
    uint64_t r = random_u64();
    for (int j = 0; j < 16; ++j) {
      id.push_back(kHex[r & 15]);
      r >>= 4;
    }
  }
  return id;
}

SimEnv::SimEnv(uint64_t seed, int64_t start_ns) : seed_(seed), now_ns_(start_ns), rng_(seed) {}

SimEnv SimEnv::from_environment() {
  uint64_t seed;
  if (const char* s = std::getenv("GANTRY_SEED"); s != nullptr && *s != '\0') {
    seed = std::strtoull(s, nullptr, 10);
  } else {
    std::random_device rd;
    seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  std::fprintf(stderr, "SimEnv seed=%llu (reproduce with GANTRY_SEED=%llu)\n",
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return SimEnv(seed);
}

}  // namespace gantry
