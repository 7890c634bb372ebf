// containerd driving gantry-oci through its runc shim (`ctr run --runc-binary PATH`): the way
// Gantry gets onto a Kubernetes node. The test starts its own containerd (root, state and
// socket in a temp dir, the CRI plugin off), imports a busybox image that Gantry's own
// `gantry import` builds as an OCI layout, and runs containers in a namespace of its own.
// containerd is stopped by pid at the end; whatever it left mounted in the temp dir goes too.
//
// GANTRY_OCI_RUNTIME picks the runtime: "gantry-oci" (default, $GANTRY_BIN/gantry-oci), "runc",
// "crun", or a path. Against runc the same cases check the harness itself.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
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

fs::path gantry_bin() {
  return env_or("GANTRY_BIN", "build/bin");
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The pids of processes whose command line mentions `needle` (containerd's shims carry the
// socket path of the containerd that started them).
std::vector<pid_t> pids_mentioning(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = read_text(e.path() / "cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// One containerd for the whole file. The destructor stops it (by pid) and its shims before the
// temp dir unmounts and removes what is left.
struct Containerd {
  TempDir dir{"gantry-ctrd"};
  fs::path runtime;
  std::string ns = "gantry-test-" + std::to_string(getpid());
  sys::Child daemon;
  bool ready = false;

  fs::path socket() const { return dir / "containerd.sock"; }

  std::vector<std::string> ctr(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"ctr", "--address", socket().string(), "--namespace", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::vector<std::string> ctr_run(const std::string& id, std::vector<std::string> cmd) const {
    std::vector<std::string> args = {"run", "--rm", "--runc-binary", runtime.string(), kImage, id};
    args.insert(args.end(), cmd.begin(), cmd.end());
    return ctr(args);
  }

  ~Containerd() {
    if (daemon.pid() <= 0) return;
    ::kill(daemon.pid(), SIGTERM);
    (void)sys::wait(daemon, 15'000);  // SIGKILL and reap after 15 s
    for (pid_t shim : pids_mentioning(socket().string())) ::kill(shim, SIGKILL);
    // The runc shim keeps its runtime's state in /run/containerd/runc/<namespace>, outside our
    // temp dir; our namespace is ours alone, so its (empty) directory goes too.
    std::error_code ec;
    fs::remove(fs::path("/run/containerd/runc") / ns, ec);
  }
};

void write_config(const Containerd& c) {
  std::ofstream conf(c.dir / "containerd.toml");
  conf << "version = 2\n"
       << "root = \"" << (c.dir / "root").string() << "\"\n"
       << "state = \"" << (c.dir / "state").string() << "\"\n"
       << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
       << "[grpc]\n  address = \"" << c.socket().string() << "\"\n"
       << "[ttrpc]\n  address = \"" << c.socket().string() << ".ttrpc\"\n"
       << "[debug]\n  address = \"\"\n";
}

// Starts containerd (its output to a log file: a pipe nobody reads would stall it) and waits
// until it answers.
void start_containerd(Containerd& c) {
  std::string log = (c.dir / "containerd.log").string();
  auto child = sys::spawn({"sh", "-c", "exec containerd --config \"$0\" >\"$1\" 2>&1",
                           (c.dir / "containerd.toml").string(), log});
  BOOST_REQUIRE_MESSAGE(child, "start containerd: " + (child ? "" : child.error().to_string()));
  c.daemon = std::move(*child);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(c.socket()) && run(c.ctr({"version"}), 10'000).code == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_FAIL("containerd did not answer within 30 s; its log:\n" + read_text(log));
}

// A busybox image as an OCI layout tar, built by our own `gantry import`.
fs::path make_image(const Containerd& c) {
  fs::path script = fs::path(env_or("GANTRY_SOURCE", ".")) / "bench/oci/make_bundle.sh";
  BOOST_REQUIRE_EQUAL(run({script.string(), (c.dir / "bundle").string(), "--rootfs-only"}).code, 0);
  fs::path layout = c.dir / "layout";
  auto imported =
      run({(gantry_bin() / "gantry").string(), "--root", (c.dir / "gantry").string(), "import",
           (c.dir / "bundle/rootfs").string(), "oci:" + layout.string() + ":latest"});
  BOOST_REQUIRE_MESSAGE(imported.code == 0, "gantry import: " + imported.err);
  fs::path tar = c.dir / "image.tar";
  BOOST_REQUIRE_EQUAL(run({"tar", "-C", layout.string(), "-cf", tar.string(), "."}).code, 0);
  return tar;
}

Containerd* lab() {
  static Containerd* the_lab = nullptr;
  static bool tried = false;
  if (tried) {
    BOOST_REQUIRE_MESSAGE(the_lab == nullptr || the_lab->ready, "containerd setup failed before");
    return the_lab;
  }
  tried = true;
  using namespace gantry::testing;
  if (!require_root() || !require_program("containerd") || !require_program("ctr") ||
      !require_program("containerd-shim-runc-v2") ||
      !require(access("/bin/busybox", X_OK) == 0, "needs /bin/busybox") ||
      !require(access((gantry_bin() / "gantry").c_str(), X_OK) == 0,
               "needs the gantry program in " + gantry_bin().string()))
    return nullptr;
  std::string why;
  fs::path rt = runtime_path(why);
  if (!require(why.empty(), why)) return nullptr;

  static Containerd c;
  the_lab = &c;
  c.runtime = rt;
  BOOST_TEST_MESSAGE("runtime under test: " << rt);
  write_config(c);
  fs::path tar = make_image(c);
  start_containerd(c);
  auto imported =
      run(c.ctr({"images", "import", "--base-name", "localhost/gantry-busybox", tar.string()}));
  BOOST_REQUIRE_MESSAGE(imported.code == 0, "ctr images import: " + imported.err);
  c.ready = true;
  return the_lab;
}

std::string id(const std::string& stem) {
  return stem + "-" + std::to_string(getpid());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(containerd_interop)

BOOST_AUTO_TEST_CASE(run_rm_prints_output) {
  Containerd* c = lab();
  if (!c) return;
  auto r = run(c->ctr_run(id("echo"), {"/bin/echo", "hello"}));
  BOOST_TEST(r.code == 0, "ctr run failed: " << r.err);
  BOOST_TEST(r.out == "hello\n");
  // --rm: no container and no task left, nothing of it mounted.
  BOOST_TEST(run(c->ctr({"containers", "list", "--quiet"})).out == "");
  auto tasks = run(c->ctr({"tasks", "list", "--quiet"}));
  BOOST_TEST(tasks.out == "");
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  std::string task_dir = (c->dir / "state/io.containerd.runtime.v2.task").string();
  while (std::getline(mi, line)) BOOST_TEST(line.find(task_dir) == std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(exit_code_propagates) {
  Containerd* c = lab();
  if (!c) return;
  BOOST_TEST(run(c->ctr_run(id("exit3"), {"sh", "-c", "exit 3"})).code == 3);
  BOOST_TEST(run(c->ctr_run(id("true"), {"/bin/true"})).code == 0);
}

BOOST_AUTO_TEST_CASE(environment_and_workdir_reach_the_process) {
  Containerd* c = lab();
  if (!c) return;
  auto r = run(
      c->ctr({"run", "--rm", "--runc-binary", c->runtime.string(), "--env", "GREETING=hi there",
              "--cwd", "/tmp", kImage, id("env"), "sh", "-c", "echo \"$GREETING\"; pwd; id -u"}));
  BOOST_TEST(r.code == 0, "ctr run failed: " << r.err);
  BOOST_TEST(r.out == "hi there\n/tmp\n0\n");
}

BOOST_AUTO_TEST_CASE(detached_task_execs_then_is_killed_and_deleted) {
  Containerd* c = lab();
  if (!c) return;
  const std::string name = id("detached");
  auto started = run(c->ctr(
      {"run", "--detach", "--runc-binary", c->runtime.string(), kImage, name, "sleep", "300"}));
  BOOST_REQUIRE_MESSAGE(started.code == 0, "ctr run --detach: " + started.err);
  auto tasks = run(c->ctr({"tasks", "list"}));
  BOOST_TEST(tasks.out.find("RUNNING") != std::string::npos, tasks.out);
  // ctr tasks exec: the shim calls the runtime's exec; the exit code comes back.
  auto exec = run(
      c->ctr({"tasks", "exec", "--exec-id", "probe", name, "sh", "-c", "echo from-exec; exit 4"}));
  BOOST_TEST(exec.code == 4, "ctr tasks exec: " << exec.err);
  BOOST_TEST(exec.out == "from-exec\n");
  BOOST_TEST(run(c->ctr({"tasks", "kill", "--signal", "SIGKILL", name})).code == 0);
  // The task is stopped once the shim saw the exit; delete reports the exit status.
  Out deleted;
  for (int i = 0; i < 50; ++i) {
    deleted = run(c->ctr({"tasks", "delete", name}));
    if (deleted.code == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(deleted.code == 0, "ctr tasks delete: " << deleted.err);
  // ctr reports a non-zero exit status as a warning on stderr.
  BOOST_TEST(deleted.err.find("exit code 137") != std::string::npos, deleted.err);
  BOOST_TEST(run(c->ctr({"containers", "delete", name})).code == 0);
  BOOST_TEST(run(c->ctr({"containers", "list", "--quiet"})).out == "");
}

BOOST_AUTO_TEST_SUITE_END()
