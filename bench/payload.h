// Deterministic bytes for the benchmarks: a seeded generator (splitmix64, the same sequence on
// every machine), random fill (incompressible) and text-like fill (lines of words with a skewed
// choice, about 4x with gzip, like code or configuration files).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace gantry::bench {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

 private:
  uint64_t state_;
};

inline const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> out;
    Rng rng(7);
    const char* syllables[] = {"con",  "fig",  "ser",  "ver",  "lib",  "path", "name",
                               "data", "list", "read", "err",  "ok",   "int",  "str",
                               "map",  "set",  "get",  "put",  "node", "tree", "root",
                               "user", "file", "open", "load", "save"};
    for (int i = 0; i < 1500; ++i) {
      std::string w;
      int parts = 1 + static_cast<int>(rng.below(3));
      for (int p = 0; p < parts; ++p) w += syllables[rng.below(std::size(syllables))];
      out.push_back(w);
    }
    return out;
  }();
  return words;
}

inline void fill_text(Rng& rng, std::string& out, size_t size) {
  const auto& words = vocabulary();
  out.clear();
  out.reserve(size + 64);
  while (out.size() < size) {
    out.append(static_cast<size_t>(rng.below(4)) * 2, ' ');
    int count = 2 + static_cast<int>(rng.below(9));
    for (int i = 0; i < count; ++i) {
      uint64_t r = rng.below(words.size());
      out += words[static_cast<size_t>((r * r) / words.size())];  // skewed to small indexes
      if (i + 1 < count) out += rng.below(5) == 0 ? " = " : " ";
    }
    if (rng.below(6) == 0) out += " " + std::to_string(rng.below(100000));
    out += '\n';
  }
  out.resize(size);
}

inline void fill_random(Rng& rng, std::string& out, size_t size) {
  out.resize((size + 7) / 8 * 8);
  for (size_t i = 0; i < out.size(); i += 8) {
    uint64_t v = rng.next();
    std::memcpy(out.data() + i, &v, 8);
  }
  out.resize(size);
}

// Random bytes for random_percent of the calls, text for the others.
inline void fill_mixed(Rng& rng, std::string& out, size_t size, int random_percent) {
  if (static_cast<int>(rng.below(100)) < random_percent) {
    fill_random(rng, out, size);
  } else {
    fill_text(rng, out, size);
  }
}

}  // namespace gantry::bench
