// What the peer interop tests (podman, containerd) share: which OCI runtime is under test
// (GANTRY_OCI_RUNTIME: "gantry-oci" (default, $GANTRY_BIN/gantry-oci), "runc", "crun", or a
// path) and running a peer's command with its output logged.
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/sys/process.h"

namespace gantry::testing::interop {

namespace fs = std::filesystem;
namespace sys = gantry::runtime::sys;

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// The runtime under test: a path, or empty with the reason in `why`.
inline fs::path runtime_path(std::string& why) {
  std::string rt = env_or("GANTRY_OCI_RUNTIME", "gantry-oci");
  if (rt == "gantry-oci") {
    fs::path p = fs::path(env_or("GANTRY_BIN", "build/bin")) / "gantry-oci";
    if (access(p.c_str(), X_OK) != 0) why = "gantry-oci is not built (" + p.string() + ")";
    return p;
  }
  if (rt.find('/') == std::string::npos) {
    auto r = sys::run({"sh", "-c", "command -v " + rt}, 10'000);
    if (!r || !r->status.success()) {
      why = "runtime '" + rt + "' is not on PATH";
      return {};
    }
    std::string p = r->stdout_text;
    while (!p.empty() && p.back() == '\n') p.pop_back();
    return p;
  }
  if (access(rt.c_str(), X_OK) != 0) why = "runtime '" + rt + "' is not executable";
  return rt;
}

struct Out {
  int code = -1;
  std::string out, err;
};

inline Out run(const std::vector<std::string>& argv, int timeout_ms = 120'000) {
  auto r = sys::run(argv, timeout_ms);
  BOOST_REQUIRE_MESSAGE(
      r, "could not run " + argv.front() + ": " + (r ? std::string() : r.error().to_string()));
  Out o{r->status.exited ? r->status.exit_code : 128 + r->status.term_signal, r->stdout_text,
        r->stderr_text};
  std::string line;
  for (const auto& a : argv) line += a + " ";
  BOOST_TEST_MESSAGE(line << "-> " << o.code << "\nstdout: " << o.out << "\nstderr: " << o.err);
  return o;
}

}  // namespace gantry::testing::interop
