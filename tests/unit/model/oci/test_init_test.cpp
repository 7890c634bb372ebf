// test_init run as a plain process (not pid 1, no container): its grammar, exit codes and
// output agree with the model's reading of the same arguments, `report` is JSON with every
// documented field, and traps behave as documented.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "model/oci/oci_model.h"
#include "runtime/sys/process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace gantry::model::oci {
namespace {

namespace sys = runtime::sys;

std::string test_init_path() {
  auto path = sys::find_program("test_init", "GANTRY_TEST_INIT");
  BOOST_REQUIRE_MESSAGE(path.has_value(), (path ? std::string() : path.error().message()));
  return path->string();
}

sys::RunResult run_test_init(const std::vector<std::string>& args) {
  std::vector<std::string> argv{test_init_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = sys::run(argv, 10000);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().to_string()));
  return *r;
}

std::string join(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += "'" + a + "' ";
  return out;
}

int exit_status(const sys::ExitStatus& s) {
  return s.exited ? s.exit_code : 128 + s.term_signal;
}

// What the model predicts for these arguments run as an exec'd process (not pid 1).
Outcome predicted(const std::vector<std::string>& args) {
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{"c", {"sleep"}}).ok());
  BOOST_REQUIRE(m.apply(Start{"c"}).ok());
  return m.apply(Exec{"c", args, false});
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The pid of test_init started by `unshare --pid --fork` (pid 1 in its namespace), once it is
// blocked in `sleep` forever (pause(2), syscall 34): its traps are in place by then.
pid_t settled_child_of(pid_t parent) {
  for (int i = 0; i < 1000; ++i) {
    const std::string children = read_first_line("/proc/" + std::to_string(parent) + "/task/" +
                                                 std::to_string(parent) + "/children");
    if (!children.empty()) {
      const pid_t child = std::stoi(children);
      std::error_code ec;
      auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(child) + "/exe", ec);
      const std::string syscall = read_first_line("/proc/" + std::to_string(child) + "/syscall");
      if (!ec && exe.filename() == "test_init" && syscall.rfind("34 ", 0) == 0) return child;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(test_init_program_run)

BOOST_AUTO_TEST_CASE(exit_print_write) {
  testing::TempDir dir("h1-test-init");
  const std::string file = (dir / "x").string();
  auto r = run_test_init({"print", "hello", "write", file, "hi", "exit", "3"});
  BOOST_TEST(r.status.exited);
  BOOST_TEST(r.status.exit_code == 3);
  BOOST_TEST(r.stdout_text == "hello\n");
  std::ifstream in(file);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  BOOST_TEST(content == "hi");
  auto cat = run_test_init({"cat", file, "print", "", "sleep", "0"});
  BOOST_TEST(cat.stdout_text == "hi\n");
  BOOST_TEST(exit_status(cat.status) == 0);
}

BOOST_AUTO_TEST_CASE(agrees_with_the_model) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"exit", "0"},
      {"exit", "255"},
      {"print", "a b", "print", "", "exit", "9"},
      {"sleep", "0", "print", "after"},
      {"report", "exit", "4"},
      {"trap", "TERM", "exit", "trap", "usr1", "print", "print", "x"},
      {"print", "ok", "bogus"},
      {"exit"},
      {"exit", "256"},
      {"trap", "KILL", "exit"},
      {"trap", "TERM", "jump"},
      {"write", "only-path"},
      {"cat", "/nonexistent/h1/file"},
  };
  for (const auto& args : cases) {
    auto r = run_test_init(args);
    Outcome real;
    real.exit_status = exit_status(r.status);
    real.output = normalize_output(r.stdout_text);
    BOOST_TEST_CONTEXT("args " << join(args)) {
      BOOST_TEST(real == predicted(args));
      // Bad arguments: exit 2 and a message; otherwise nothing on stderr but failures.
      if (real.exit_status == 2) BOOST_TEST(r.stderr_text.rfind("test_init: ", 0) == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(report_has_every_field) {
  auto r = run_test_init({"report"});
  BOOST_REQUIRE(exit_status(r.status) == 0);
  auto j = nlohmann::json::parse(r.stdout_text);
  for (const char* key : {"pid",           "ppid",    "hostname",     "domainname",   "uid",
                          "gid",           "euid",    "egid",         "groups",       "cwd",
                          "env",           "umask",   "capabilities", "no_new_privs", "seccomp",
                          "oom_score_adj", "rlimits", "mounts",       "cgroup",       "fds"}) {
    BOOST_TEST_CONTEXT(key) {
      BOOST_TEST(j.contains(key));
    }
  }
  BOOST_TEST(j["uid"].get<int>() == int(getuid()));
  BOOST_TEST(j["capabilities"]["effective"]["mask"].get<std::string>().size() == 16u);
  for (const char* set : {"inheritable", "permitted", "effective", "bounding", "ambient"}) {
    BOOST_TEST(j["capabilities"].contains(set));
  }
  BOOST_TEST(j["rlimits"]["RLIMIT_NOFILE"].contains("soft"));
  BOOST_TEST(j["mounts"].is_array());
  BOOST_TEST(!j["mounts"].empty());
  bool root = false;
  for (const auto& m : j["mounts"]) {
    if (m["mount_point"] == "/") root = true;
    const auto options = m["options"].get<std::vector<std::string>>();
    BOOST_TEST(std::is_sorted(options.begin(), options.end()));
  }
  BOOST_TEST(root);
  // stdin is /dev/null, stdout and stderr are pipes; the fd listing /proc/self/fd is left out
  // (other descriptors may be inherited from whatever runs the test).
  BOOST_TEST(j["fds"]["0"] == "/dev/null");
  BOOST_TEST(j["fds"]["1"].get<std::string>().rfind("pipe:", 0) == 0);
  BOOST_TEST(j["fds"]["2"].get<std::string>().rfind("pipe:", 0) == 0);
  for (const auto& [fd, target] : j["fds"].items()) {
    BOOST_TEST(target.get<std::string>().find("/fd") == std::string::npos);
  }
  BOOST_TEST(j["env"].is_array());
  BOOST_TEST(j["cgroup"].contains("memory_limit_bytes"));
  BOOST_TEST(j["cgroup"].contains("pids_max"));
}

BOOST_AUTO_TEST_CASE(traps_and_default_actions) {
  testing::TempDir dir("h1-test-init");
  const std::string ready = (dir / "ready").string();
  sys::SpawnOptions options;
  options.capture_stdout = true;
  options.capture_stderr = true;
  auto child = sys::spawn({test_init_path(), "trap", "USR1", "print", "trap", "TERM", "exit",
                           "write", ready, "", "sleep"},
                          options);
  BOOST_REQUIRE(child.has_value());
  // The traps are in place once `ready` exists.
  for (int i = 0; i < 500 && !std::filesystem::exists(ready); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_REQUIRE(std::filesystem::exists(ready));
  BOOST_REQUIRE(::kill(child->pid(), SIGUSR1) == 0);
  // Read the handler's line before the next signal (two pending signals run highest first).
  std::string line;
  char buf[64];
  while (line.find('\n') == std::string::npos) {
    pollfd pfd{child->stdout_fd().get(), POLLIN, 0};
    BOOST_REQUIRE(poll(&pfd, 1, 10000) == 1);
    ssize_t n = read(child->stdout_fd().get(), buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) continue;
    BOOST_REQUIRE(n > 0);
    line.append(buf, size_t(n));
  }
  BOOST_TEST(line == "signal SIGUSR1\n");
  BOOST_REQUIRE(::kill(child->pid(), SIGTERM) == 0);
  auto r = sys::wait(*child, 10000);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->status.exited);
  BOOST_TEST(r->status.exit_code == 143);

  // Not pid 1 and no trap: SIGTERM's default action ends it (the model's 143 as well).
  auto plain = sys::spawn({test_init_path(), "sleep"}, options);
  BOOST_REQUIRE(plain.has_value());
  BOOST_REQUIRE(::kill(plain->pid(), SIGTERM) == 0);
  auto p = sys::wait(*plain, 10000);
  BOOST_REQUIRE(p.has_value());
  BOOST_TEST(!p->status.exited);
  BOOST_TEST(p->status.term_signal == SIGTERM);
}

// The rule the model relies on: pid 1 of a pid namespace does not get a signal it has no handler
// for, even from an ancestor namespace, except SIGKILL (and SIGSTOP).
BOOST_AUTO_TEST_CASE(pid1_ignores_signals_without_a_handler) {
  if (!testing::require_root() || !testing::require_program("unshare")) return;
  sys::SpawnOptions options;
  options.capture_stdout = true;
  options.capture_stderr = true;
  auto unshare = sys::spawn({"unshare", "--pid", "--fork", test_init_path(), "sleep"}, options);
  BOOST_REQUIRE(unshare.has_value());
  const pid_t init = settled_child_of(unshare->pid());
  BOOST_REQUIRE(init > 0);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) BOOST_REQUIRE(::kill(init, sig) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(read_first_line("/proc/" + std::to_string(init) + "/syscall").rfind("34 ", 0) == 0);
  BOOST_REQUIRE(::kill(init, SIGKILL) == 0);
  auto r = sys::wait(*unshare, 10000);
  BOOST_REQUIRE(r.has_value());
  // unshare itself reports a child's death by signal as exit 1 (util-linux 2.38); the child is
  // what matters: it is gone.
  BOOST_TEST(!r->status.success());
  BOOST_TEST(!std::filesystem::exists("/proc/" + std::to_string(init) + "/syscall"));

  // With a trap, TERM reaches pid 1: exit 128 + 15, as the model says.
  auto trapped = sys::spawn(
      {"unshare", "--pid", "--fork", test_init_path(), "trap", "TERM", "exit", "sleep"}, options);
  BOOST_REQUIRE(trapped.has_value());
  const pid_t init2 = settled_child_of(trapped->pid());
  BOOST_REQUIRE(init2 > 0);
  BOOST_REQUIRE(::kill(init2, SIGTERM) == 0);
  auto r2 = sys::wait(*trapped, 10000);
  BOOST_REQUIRE(r2.has_value());
  BOOST_TEST(exit_status(r2->status) == 143);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace gantry::model::oci
