// podman driving gantry-oci as its OCI runtime (`podman --runtime PATH`), on a busybox image
// imported locally: output, exit codes and a detached container's lifecycle as podman sees
// them. Storage, run state and containers.conf live in a temp dir (peers.md: storage as flags,
// the ulimits podman needs here, cgroupfs, no network, file events).
//
// GANTRY_OCI_RUNTIME picks the runtime: "gantry-oci" (default, $GANTRY_BIN/gantry-oci), "runc",
// "crun", or a path. Against runc the same cases check the harness itself.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/sys/process.h"
#include "tests/interop/oci/interop_support.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace sys = gantry::runtime::sys;
using gantry::testing::TempDir;
using namespace gantry::testing::interop;

namespace {

const char* kImage = "localhost/gantry-busybox:latest";

// One podman world for the whole file: the image is imported once.
struct Lab {
  TempDir dir{"gantry-podman"};
  fs::path runtime;
  bool ready = false;

  std::vector<std::string> podman(std::vector<std::string> args) const {
    std::vector<std::string> argv = {
        "podman",    "--root",        (dir / "root").string(), "--runroot", (dir / "run").string(),
        "--runtime", runtime.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

void write_conf(const Lab& lab) {
  std::ofstream conf(lab.dir / "containers.conf");
  conf << "[containers]\n"
       << "netns = \"none\"\n"
       << "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
       << "[engine]\n"
       << "cgroup_manager = \"cgroupfs\"\n"
       << "events_logger = \"file\"\n"
       << "tmp_dir = \"" << (lab.dir / "libpod-tmp").string() << "\"\n";
}

// Checks what the cases need (skips outside CI, fails in CI) and prepares the lab once.
Lab* lab() {
  static Lab* the_lab = nullptr;
  static bool tried = false;
  if (tried) {
    BOOST_REQUIRE_MESSAGE(the_lab == nullptr || the_lab->ready, "podman lab setup failed before");
    return the_lab;
  }
  tried = true;
  if (!gantry::testing::require_root() || !gantry::testing::require_program("podman") ||
      !gantry::testing::require(access("/bin/busybox", X_OK) == 0, "needs /bin/busybox"))
    return nullptr;
  std::string why;
  fs::path rt = runtime_path(why);
  if (!gantry::testing::require(why.empty(), why)) return nullptr;

  static Lab l;
  the_lab = &l;
  l.runtime = rt;
  BOOST_TEST_MESSAGE("runtime under test: " << rt);
  write_conf(l);
  setenv("CONTAINERS_CONF", (l.dir / "containers.conf").c_str(), 1);
  fs::path script = fs::path(env_or("GANTRY_SOURCE", ".")) / "bench/oci/make_bundle.sh";
  auto made = run({script.string(), (l.dir / "bundle").string(), "--rootfs-only"});
  BOOST_REQUIRE_EQUAL(made.code, 0);
  auto tar = run({"tar", "-C", (l.dir / "bundle/rootfs").string(), "-cf",
                  (l.dir / "rootfs.tar").string(), "."});
  BOOST_REQUIRE_EQUAL(tar.code, 0);
  auto imported = run(l.podman({"import", (l.dir / "rootfs.tar").string(), kImage}));
  BOOST_REQUIRE_MESSAGE(imported.code == 0, "podman import: " + imported.err);
  l.ready = true;
  return the_lab;
}

std::vector<std::string> mounts_under(const fs::path& dir) {
  std::vector<std::string> found;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line))
    if (line.find(" " + dir.string() + "/") != std::string::npos) found.push_back(line);
  return found;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(podman_interop)

BOOST_AUTO_TEST_CASE(run_rm_prints_output) {
  Lab* l = lab();
  if (!l) return;
  auto r = run(l->podman({"run", "--rm", kImage, "/bin/echo", "hello"}));
  BOOST_TEST(r.code == 0, "podman run failed: " << r.err);
  BOOST_TEST(r.out == "hello\n");
  // --rm: podman lists no container afterwards, and no container rootfs stays mounted.
  auto ps = run(l->podman({"ps", "--all", "--quiet"}));
  BOOST_TEST(ps.code == 0);
  BOOST_TEST(ps.out == "");
  auto left = mounts_under(l->dir / "root/overlay");
  BOOST_TEST(left.empty(), "still mounted: " << (left.empty() ? "" : left.front()));
}

BOOST_AUTO_TEST_CASE(exit_code_propagates) {
  Lab* l = lab();
  if (!l) return;
  BOOST_TEST(run(l->podman({"run", "--rm", kImage, "sh", "-c", "exit 3"})).code == 3);
  BOOST_TEST(run(l->podman({"run", "--rm", kImage, "/bin/true"})).code == 0);
}

BOOST_AUTO_TEST_CASE(environment_and_workdir_reach_the_process) {
  Lab* l = lab();
  if (!l) return;
  auto r =
      run(l->podman({"run", "--rm", "--env", "GREETING=hi there", "--workdir", "/tmp", "--hostname",
                     "box", kImage, "sh", "-c", "echo \"$GREETING\"; pwd; hostname; id -u"}));
  BOOST_TEST(r.code == 0, "podman run failed: " << r.err);
  BOOST_TEST(r.out == "hi there\n/tmp\nbox\n0\n");
}

BOOST_AUTO_TEST_CASE(detached_container_execs_then_is_killed_and_removed) {
  Lab* l = lab();
  if (!l) return;
  const std::string name = "gantry-detached-" + std::to_string(getpid());
  auto started = run(l->podman({"run", "--detach", "--name", name, kImage, "sleep", "300"}));
  BOOST_REQUIRE_MESSAGE(started.code == 0, "podman run --detach: " + started.err);
  auto state = run(l->podman({"inspect", "--format", "{{.State.Status}}", name}));
  BOOST_TEST(state.out == "running\n");
  // podman exec: the runtime's exec joins the container; its exit code comes back.
  auto exec = run(l->podman({"exec", name, "sh", "-c", "echo from-exec; exit 4"}));
  BOOST_TEST(exec.code == 4, "podman exec: " << exec.err);
  BOOST_TEST(exec.out == "from-exec\n");
  auto killed = run(l->podman({"kill", name}));
  BOOST_TEST(killed.code == 0, "podman kill: " << killed.err);
  auto waited = run(l->podman({"wait", name}));
  BOOST_TEST(waited.code == 0);
  BOOST_TEST(waited.out == "137\n");  // SIGKILL
  auto removed = run(l->podman({"rm", name}));
  BOOST_TEST(removed.code == 0, "podman rm: " << removed.err);
  BOOST_TEST(run(l->podman({"ps", "--all", "--quiet"})).out == "");
}

BOOST_AUTO_TEST_SUITE_END()
