#include "tests/support/require.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <iostream>

namespace gantry::testing {

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

bool is_root() { return geteuid() == 0; }

bool require(bool available, const std::string& reason) {
  if (available) return true;
  const auto& test = boost::unit_test::framework::current_test_case();
  if (in_ci()) {
    BOOST_ERROR("missing in CI: " + reason);
  } else {
    std::cerr << "SKIP " << test.full_name() << ": " << reason << "\n";
  }
  return false;
}

bool require_root() { return require(is_root(), "needs root"); }

bool require_fuse() {
  return require(is_root() && access("/dev/fuse", R_OK | W_OK) == 0,
                 "needs root and /dev/fuse");
}

bool require_overlay() {
  // overlay may be a module that the first mount loads, so root is what decides.
  return require(is_root(), "needs root for overlayfs");
}

bool require_program(const std::string& name) {
  std::string cmd = "command -v " + name + " >/dev/null 2>&1";
  return require(std::system(cmd.c_str()) == 0, "needs program '" + name + "' on PATH");
}

}  // namespace gantry::testing
