// A scratch directory under $TMPDIR (or /tmp) removed with everything below it, mounts
// included, when the object goes away.
#pragma once

#include <filesystem>
#include <string>

namespace gantry::testing {

// Unmounts every mount below dir (deepest first, detached), then removes dir and everything
// in it. Errors are ignored: this is cleanup after a test, which may have failed half way.
void remove_tree_with_mounts(const std::filesystem::path& dir);

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "gantry-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& child) const { return path_ / child; }

 private:
  std::filesystem::path path_;
};

}  // namespace gantry::testing
