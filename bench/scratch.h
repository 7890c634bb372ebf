// Scratch directories for the benchmark binaries: made under $GANTRY_BENCH_TMP (default
// /var/tmp, a disk, like /var/lib/gantry) or under a given base (/dev/shm for tmpfs), removed
// with everything below them when the object goes away.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::bench {

inline std::filesystem::path default_scratch_base() {
  const char* base = std::getenv("GANTRY_BENCH_TMP");
  return (base != nullptr && *base != '\0') ? base : "/var/tmp";
}

class Scratch {
 public:
  explicit Scratch(const std::filesystem::path& base = default_scratch_base()) {
    std::string tmpl = (base / "gantry-bench-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror(("mkdtemp " + tmpl).c_str());
      std::abort();
    }
    path_ = buf.data();
  }
  ~Scratch() { remove_below(path_.parent_path(), path_.filename().string()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& child) const { return path_ / child; }

  // Removes dir/name and everything below it; a missing name is fine.
  static void remove_below(const std::filesystem::path& dir, const std::string& name) {
    runtime::sys::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return;
    if (auto r = runtime::sys::remove_tree_at(fd.get(), name); !r) {
      std::fprintf(stderr, "remove %s/%s: %s\n", dir.c_str(), name.c_str(),
                   r.error().to_string().c_str());
    }
  }

 private:
  std::filesystem::path path_;
};

}  // namespace gantry::bench
