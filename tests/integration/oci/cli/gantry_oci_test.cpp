// gantry-oci as containerd's shim and podman's conmon drive it: `--root R --log L --log-format
// json <command> ...` on a busybox bundle made with `gantry-oci spec`. Needs root (namespaces,
// cgroups, mounts) and busybox-static.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runtime/sys/process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace sys = gantry::runtime::sys;
using nlohmann::json;

namespace {

constexpr const char* kBusybox = "/bin/busybox";

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool available() {
  if (!gantry::testing::require_root()) return false;
  return gantry::testing::require(fs::exists(kBusybox), "busybox-static is not installed");
}

void reap() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// One scratch root, log and bundle; every command is `gantry-oci --root R --log L
// --log-format json ...`, as containerd-shim-runc-v2 calls runc.
class Oci {
 public:
  Oci() : tmp_("gantry-oci-cli") {
    auto bin = sys::find_program("gantry-oci", "GANTRY_OCI");
    BOOST_REQUIRE_MESSAGE(bin.has_value(), "gantry-oci not found");
    bin_ = *bin;
    root_ = tmp_ / "root";
    log_ = tmp_ / "log.json";
    bundle_ = tmp_ / "bundle";
    fs::create_directories(bundle_ / "rootfs" / "bin");
    fs::copy_file(kBusybox, bundle_ / "rootfs" / "bin" / "busybox");
    for (const char* applet : {"sh", "sleep", "echo", "true", "cat", "kill", "id", "hostname"}) {
      fs::create_symlink("busybox", bundle_ / "rootfs" / "bin" / applet);
    }
    auto spec = run({"spec", "--bundle", bundle_.string()}, false);
    BOOST_REQUIRE_MESSAGE(spec.status.success(), spec.stderr_text);
  }

  ~Oci() {
    for (const auto& id : ids_) (void)run({"delete", "--force", id}, false);
  }

  // Rewrites config.json: process args, no terminal, a unique cgroup.
  void set_args(const std::vector<std::string>& args) {
    auto path = bundle_ / "config.json";
    auto j = json::parse(read_text(path));
    j["process"]["terminal"] = false;
    j["process"]["args"] = args;
    std::ofstream(path) << j.dump(2);
  }

  sys::RunResult run(const std::vector<std::string>& args, bool with_log = true,
                     int timeout_ms = 30'000) {
    std::vector<std::string> argv{bin_.string(), "--root", root_.string()};
    if (with_log) {
      argv.insert(argv.end(), {"--log", log_.string(), "--log-format", "json"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sys::run(argv, timeout_ms);
    if (!r) BOOST_FAIL("run gantry-oci: " + r.error().to_string());
    return *r;
  }

  // Tracks ids for cleanup.
  // Ids (and so the default cgroups /gantry/<id>) carry a prefix and our pid: other suites may
  // run containers at the same time.
  std::string id(const std::string& name) {
    ids_.push_back("cli" + std::to_string(::getpid()) + "-" + name);
    return ids_.back();
  }

  json state(const std::string& id) {
    auto r = run({"state", id});
    BOOST_REQUIRE_MESSAGE(r.status.success(), "state " + id + ": " + r.stderr_text);
    return json::parse(r.stdout_text);
  }

  std::string status(const std::string& id) { return state(id)["status"]; }

  // Waits until state says want (containers stop asynchronously). Reaps meanwhile: a pid
  // namespace's init finishes exiting only once every process of the namespace is reaped, and
  // an exec'd process's parent (once gantry-oci exited) is this test, the subreaper.
  bool wait_status(const std::string& id, const std::string& want) {
    for (int i = 0; i < 200; ++i) {
      reap();
      if (status(id) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  json last_log_line() {
    std::ifstream in(log_);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
    return last.empty() ? json() : json::parse(last);
  }

  const fs::path& bundle() const { return bundle_; }
  const fs::path& root() const { return root_; }
  fs::path path(const std::string& name) const { return tmp_ / name; }

 private:
  gantry::testing::TempDir tmp_;
  fs::path bin_, root_, log_, bundle_;
  std::vector<std::string> ids_;
};

// The test process adopts detached inits (as a shim does) so they do not linger as zombies.
struct Subreaper {
  Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
  ~Subreaper() {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gantry_oci_cli)

BOOST_AUTO_TEST_CASE(create_state_start_kill_delete) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "100"});
  auto id = oci.id("lifecycle");
  auto pid_file = oci.path("init.pid");
  auto r =
      oci.run({"create", "--bundle", oci.bundle().string(), "--pid-file", pid_file.string(), id});
  BOOST_REQUIRE_MESSAGE(r.status.success(), r.stderr_text);
  auto s = oci.state(id);
  BOOST_TEST(s["status"] == "created");
  BOOST_TEST(s["id"] == id);
  BOOST_TEST(s["bundle"] == oci.bundle().string());
  BOOST_TEST(s["ociVersion"].is_string());
  BOOST_TEST(s["created"].is_string());
  BOOST_TEST(s["pid"].get<int>() > 0);
  // The pid file holds the init's pid, no newline (runc's format).
  BOOST_TEST(read_text(pid_file) == std::to_string(s["pid"].get<int>()));

  r = oci.run({"start", id});
  BOOST_REQUIRE_MESSAGE(r.status.success(), r.stderr_text);
  BOOST_TEST(oci.status(id) == "running");
  // start twice: an illegal transition, exit 1 and a JSON error line.
  r = oci.run({"start", id});
  BOOST_TEST(r.status.exit_code == 1);
  BOOST_TEST(oci.last_log_line()["level"] == "error");
  // delete of a running container without --force is refused.
  r = oci.run({"delete", id});
  BOOST_TEST(r.status.exit_code == 1);

  r = oci.run({"kill", id, "KILL"});
  BOOST_REQUIRE_MESSAGE(r.status.success(), r.stderr_text);
  reap();
  BOOST_TEST(oci.wait_status(id, "stopped"));
  BOOST_TEST(oci.state(id)["pid"] == 0);
  r = oci.run({"kill", id, "TERM"});
  BOOST_TEST(r.status.exit_code == 1);
  r = oci.run({"delete", id});
  BOOST_REQUIRE_MESSAGE(r.status.success(), r.stderr_text);
  BOOST_TEST(!fs::exists(oci.root() / id));

  r = oci.run({"state", id});
  BOOST_TEST(r.status.exit_code == 1);
  auto line = oci.last_log_line();
  BOOST_TEST(line["level"] == "error");
  BOOST_TEST(line["msg"] == "container does not exist");
  BOOST_TEST(line["time"].is_string());
  // runc also prints the bare message on stderr when the log is a file.
  BOOST_TEST(r.stderr_text.find("container does not exist") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(run_propagates_exit_status_and_deletes) {
  if (!available()) return;
  Oci oci;
  oci.set_args({"sh", "-c", "echo out; exit 3"});
  auto r = oci.run({"run", "--bundle", oci.bundle().string(), oci.id("run3")});
  BOOST_TEST(r.status.exit_code == 3);
  BOOST_TEST(r.stdout_text == "out\n");
  BOOST_TEST(fs::is_empty(oci.root()));

  // A death by signal is 128+N: the init killed from outside while run waits for it; and a
  // signal sent to gantry-oci reaches the init (here one that traps it).
  std::string bin = sys::find_program("gantry-oci", "GANTRY_OCI")->string();
  for (auto [init_args, how, want] :
       {std::tuple{std::vector<std::string>{"sleep", "100"}, "kill", 128 + 9},
        {std::vector<std::string>{"sh", "-c", "trap 'exit 4' TERM; sleep 100 & wait"}, "signal",
         4}}) {
    oci.set_args(init_args);
    std::string id = oci.id(std::string("sig-") + how);
    auto child = sys::spawn(
        {bin, "--root", oci.root().string(), "run", "--bundle", oci.bundle().string(), id});
    BOOST_REQUIRE(child.has_value());
    bool running = false;
    for (int i = 0; i < 200 && !running; ++i) {
      auto st = oci.run({"state", id});
      running = st.status.success() && json::parse(st.stdout_text)["status"] == "running";
      if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    BOOST_REQUIRE(running);
    if (std::string(how) == "kill") {
      BOOST_TEST(oci.run({"kill", id, "KILL"}).status.success());
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the trap is set
      ::kill(child->pid(), SIGTERM);
    }
    auto done = sys::wait(*child, 30'000);
    BOOST_REQUIRE(done.has_value());
    BOOST_TEST(done->status.exit_code == want, how);
    BOOST_TEST(!fs::exists(oci.root() / id));
  }

  oci.set_args({"true"});
  auto kept = oci.id("kept");
  r = oci.run({"run", "--keep", "--bundle", oci.bundle().string(), kept});
  BOOST_TEST(r.status.exit_code == 0);
  BOOST_TEST(oci.status(kept) == "stopped");
  BOOST_TEST(oci.run({"delete", kept}).status.success());
}

BOOST_AUTO_TEST_CASE(exec_pause_resume_ps_events_update) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "100"});
  auto id = oci.id("busy");
  auto r = oci.run({"run", "--detach", "--bundle", oci.bundle().string(), id});
  BOOST_REQUIRE_MESSAGE(r.status.success(), r.stderr_text);
  BOOST_TEST(oci.status(id) == "running");
  int init = oci.state(id)["pid"];

  r = oci.run({"exec", id, "sh", "-c", "echo in; exit 5"});
  BOOST_TEST(r.status.exit_code == 5);
  BOOST_TEST(r.stdout_text == "in\n");
  // Flags after the id belong to the command.
  r = oci.run({"exec", "--env", "X=42", "--cwd", "/bin", id, "sh", "-c", "echo $X $PWD"});
  BOOST_TEST(r.stdout_text == "42 /bin\n");
  auto process_json = oci.path("process.json");
  std::ofstream(process_json) << json{
      {"args", {"sh", "-c", "exit 7"}},
      {"cwd", "/"},
      {"user",
       {{"uid", 0}, {"gid", 0}}}}.dump();
  r = oci.run({"exec", "--process", process_json.string(), id});
  BOOST_TEST(r.status.exit_code == 7);
  auto exec_pid = oci.path("exec.pid");
  r = oci.run({"exec", "--detach", "--pid-file", exec_pid.string(), id, "sleep", "100"});
  BOOST_TEST(r.status.success());
  BOOST_TEST(!read_text(exec_pid).empty());

  r = oci.run({"ps", "--format", "json", id});
  BOOST_REQUIRE(r.status.success());
  auto pids = json::parse(r.stdout_text);
  BOOST_TEST(pids.size() >= 2u);
  BOOST_TEST((std::find(pids.begin(), pids.end(), init) != pids.end()));
  r = oci.run({"ps", id});
  BOOST_TEST(r.stdout_text.find("PID") != std::string::npos);

  r = oci.run({"events", "--stats", id});
  BOOST_REQUIRE(r.status.success());
  auto ev = json::parse(r.stdout_text);
  BOOST_TEST(ev["type"] == "stats");
  BOOST_TEST(ev["id"] == id);
  BOOST_TEST(ev["data"]["pids"]["current"].get<int>() >= 2);

  r = oci.run({"update", "--memory", "64m", "--pids-limit", "50", id});
  BOOST_TEST(r.status.success(), r.stderr_text);
  r = oci.run({"events", "--stats", id});
  ev = json::parse(r.stdout_text);
  BOOST_TEST(ev["data"]["memory"]["usage"]["limit"] == 64u << 20);
  BOOST_TEST(ev["data"]["pids"]["limit"] == 50);

  BOOST_TEST(oci.run({"pause", id}).status.success());
  BOOST_TEST(oci.status(id) == "paused");
  BOOST_TEST(oci.run({"pause", id}).status.exit_code == 1);
  BOOST_TEST(oci.run({"exec", id, "true"}).status.exit_code == 1);
  BOOST_TEST(oci.run({"resume", id}).status.success());
  BOOST_TEST(oci.status(id) == "running");

  r = oci.run({"list", "--format", "json"});
  auto listed = json::parse(r.stdout_text);
  BOOST_TEST(listed.size() == 1u);
  BOOST_TEST(listed[0]["id"] == id);
  BOOST_TEST(oci.run({"list", "-q"}).stdout_text == id + "\n");

  r = oci.run({"kill", "--all", id, "9"});
  BOOST_TEST(r.status.success(), r.stderr_text);
  reap();
  BOOST_TEST(oci.wait_status(id, "stopped"));
  BOOST_TEST(oci.run({"delete", id}).status.success());
}

BOOST_AUTO_TEST_CASE(events_stream_until_the_container_stops) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "1"});
  auto id = oci.id("events");
  BOOST_REQUIRE(oci.run({"run", "-d", "-b", oci.bundle().string(), id}).status.success());
  auto r = oci.run({"--debug", "events", "--interval", "100ms", id});
  BOOST_TEST(r.status.success(), r.stderr_text);
  size_t lines = 0;
  std::istringstream in(r.stdout_text);
  for (std::string l; std::getline(in, l); ++lines) BOOST_TEST(json::parse(l)["type"] == "stats");
  BOOST_TEST(lines >= 3u);
  reap();
  BOOST_TEST(oci.run({"delete", id}).status.success());
}

BOOST_AUTO_TEST_CASE(delete_force_and_errors) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "100"});
  auto id = oci.id("forced");
  BOOST_REQUIRE(oci.run({"run", "-d", "-b", oci.bundle().string(), id}).status.success());
  auto r = oci.run({"delete", "--force", id});
  BOOST_TEST(r.status.success(), r.stderr_text);
  BOOST_TEST(!fs::exists(oci.root() / id));
  BOOST_TEST(!fs::exists("/sys/fs/cgroup/pids/gantry/" + id));
  // Unknown ids: an error, except with --force.
  BOOST_TEST(oci.run({"delete", "--force", "nosuch"}).status.success());
  BOOST_TEST(oci.run({"delete", "nosuch"}).status.exit_code == 1);
  // A state file damaged (say by a crash): state fails, delete --force clears it.
  fs::create_directories(oci.root() / "damaged");
  std::ofstream(oci.root() / "damaged" / "state.json") << "{\"id\":";
  std::ofstream(oci.root() / "damaged" / "lock");
  BOOST_TEST(oci.run({"state", "damaged"}).status.exit_code == 1);
  BOOST_TEST(oci.run({"delete", "--force", "damaged"}).status.success());
  BOOST_TEST(!fs::exists(oci.root() / "damaged"));
  BOOST_TEST(oci.run({"kill", "nosuch"}).status.exit_code == 1);
  r = oci.run({"state", "a/b"});
  BOOST_TEST(r.status.exit_code == 1);
  BOOST_TEST(oci.last_log_line()["msg"] == "invalid container ID format");
  BOOST_TEST(oci.run({"kill", "x", "NOSIG"}).status.exit_code == 1);
  BOOST_TEST(oci.run({"spec", "--bundle", oci.bundle().string()}).status.exit_code == 1);
  BOOST_TEST(oci.run({"create", "--systemd-cgroup"}).status.exit_code == 1);
  BOOST_TEST(oci.run({"nosuchcommand"}).status.exit_code == 1);
  // Without --log: logrus text lines on stderr; --debug adds debug lines.
  r = oci.run({"--debug", "delete", "--force", "nosuch"}, false);
  BOOST_TEST(r.stderr_text.find("level=debug") == std::string::npos);
  r = oci.run({"state", "nosuch"}, false);
  BOOST_TEST(r.stderr_text.find("level=error msg=\"container does not exist\"") !=
             std::string::npos);
  r = oci.run({"--version"}, false);
  BOOST_TEST(r.status.success());
  BOOST_TEST(r.stdout_text.find("gantry-oci version") == 0u);
  BOOST_TEST(r.stdout_text.find("spec: ") != std::string::npos);
  r = oci.run({"features"}, false);
  BOOST_TEST(json::parse(r.stdout_text)["ociVersionMax"].is_string());
}

BOOST_AUTO_TEST_CASE(concurrent_invocations_are_serialized) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "100"});
  // Four creates of one id at once: exactly one wins, the others are told it exists.
  std::vector<sys::Child> children;
  std::string bin = sys::find_program("gantry-oci", "GANTRY_OCI")->string();
  auto id = oci.id("race");
  for (int i = 0; i < 4; ++i) {
    auto c = sys::spawn(
        {bin, "--root", oci.root().string(), "create", "--bundle", oci.bundle().string(), id},
        {.capture_stdout = true, .capture_stderr = true});
    BOOST_REQUIRE(c.has_value());
    children.push_back(std::move(*c));
  }
  int won = 0;
  for (auto& c : children) {
    auto r = sys::wait(c, 30'000);
    BOOST_REQUIRE(r.has_value());
    if (r->status.success()) ++won;
  }
  BOOST_TEST(won == 1);
  BOOST_TEST(oci.status(id) == "created");
  // start and delete --force racing: whatever the order, the container ends up gone and no
  // invocation crashes (exit 0 or 1 only).
  children.clear();
  for (const char* cmd : {"start", "delete", "start", "state"}) {
    std::vector<std::string> argv{bin, "--root", oci.root().string(), cmd};
    if (std::string(cmd) == "delete") argv.push_back("--force");
    argv.push_back(id);
    auto c = sys::spawn(argv, {.capture_stdout = true, .capture_stderr = true});
    BOOST_REQUIRE(c.has_value());
    children.push_back(std::move(*c));
  }
  for (auto& c : children) {
    auto r = sys::wait(c, 30'000);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST((r->status.exited && r->status.exit_code <= 1), r->stderr_text);
  }
  BOOST_TEST(oci.run({"state", id}).status.exit_code == 1);
}

BOOST_AUTO_TEST_CASE(shim_and_conmon_command_shapes_parse) {
  if (!available()) return;
  Subreaper subreaper;
  Oci oci;
  oci.set_args({"sleep", "100"});
  auto log = oci.path("shim.log").string();
  auto shim = oci.id("shim");
  auto conmon = oci.id("conmon");
  // containerd-shim-runc-v2 (given twice, as Go's flag package allows: the last one counts)
  auto r = oci.run({"--log", log, "--log-format", "json", "create", "--bundle",
                    oci.bundle().string(), "--pid-file", oci.path("p1").string(), shim});
  BOOST_TEST(r.status.success(), r.stderr_text);
  // podman's conmon
  r = oci.run({"--log-format", "json", "--log", log, "create", "--bundle", oci.bundle().string(),
               "--pid-file", oci.path("p2").string(), "--no-new-keyring", conmon});
  BOOST_TEST(r.status.success(), r.stderr_text);
  BOOST_TEST(oci.run({"start", shim}).status.success());
  BOOST_TEST(oci.run({"kill", shim, "15"}).status.success());
  // Flags after the id, and urfave's single-dash long global flags.
  BOOST_TEST(oci.run({"-debug", "delete", shim, "--force"}).status.success());
  BOOST_TEST(oci.run({"delete", "-f", conmon}).status.success());
}

BOOST_AUTO_TEST_SUITE_END()
