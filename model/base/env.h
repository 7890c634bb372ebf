// Env: every source of nondeterminism (clock, randomness, ids) comes from here, so a run of
// the model or of a property is reproducible from a seed.
//
// SimEnv is the seeded, simulated implementation: its clock advances only when asked, its
// randomness and ids follow from the seed, and it prints the seed when created so that a
// failure can be reproduced with GANTRY_SEED=<seed>. The real one (SystemEnv) lives in
// runtime/sys, since the model makes no system calls.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace gantry {

class Env {
 public:
  virtual ~Env() = default;
  virtual int64_t now_ns() = 0;           // wall clock, ns since the epoch
  virtual uint64_t random_u64() = 0;      // uniformly random
  virtual std::string new_id();           // 64 lowercase hex digits, as docker's ids
};

class SimEnv final : public Env {
 public:
  explicit SimEnv(uint64_t seed, int64_t start_ns = 1'700'000'000'000'000'000);
  // Seed from GANTRY_SEED when set, else a fresh one; prints "SimEnv seed=<n>" to stderr.
  static SimEnv from_environment();

  int64_t now_ns() override { return now_ns_; }
  uint64_t random_u64() override { return rng_(); }
  void advance_ns(int64_t delta_ns) { now_ns_ += delta_ns; }
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  int64_t now_ns_;
  std::mt19937_64 rng_;
};

}  // namespace gantry
