// Safety checks of the runtime under test (gantry-oci by default; GANTRY_OCI_RUNTIME=/usr/sbin/runc
// runs them against runc), each the shape of a known attack or failure:
// - CVE-2019-5736: `exec` of a `#!/proc/self/exe` script makes the runtime's binary run in the
//   container; the init holds its /proc/<pid>/exe open and writes to it once it exits; the
//   runtime binary (a COPY in a temp dir, so a failure destroys nothing) keeps its sha256.
// - fd leak: a descriptor the caller left without O_CLOEXEC does not reach the container
//   (`test_init report` shows 0, 1, 2 only), for the init and for an exec'd process.
// - cwd outside the root (CVE-2024-21626): process.cwd as /proc/self/fd/N or a symlink that
//   climbs out either fails or leaves the process inside its root.
// - a mount destination that is a symlink to / or to a host directory is resolved inside the
//   rootfs: the host's sentinel stays, nothing is mounted on the host.
// - a failure at a late step (a mount of an unknown type, a failing hook) leaves no mount, no
//   cgroup directory, no process and no state behind.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "model/base/digest.h"
#include "tests/support/oci/bundle.h"
#include "tests/support/oci/runtime_driver.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

using namespace gantry;
namespace fs = std::filesystem;
namespace to = gantry::testing::oci;
using json = nlohmann::json;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<fs::path> runtime_or_skip() {
  if (!testing::require_root()) return std::nullopt;
  auto init = to::find_test_init();
  if (!testing::require(bool(init), "needs test_init")) return std::nullopt;
#ifndef GANTRY_HAVE_GANTRY_OCI
  if (std::getenv("GANTRY_OCI_RUNTIME") == nullptr) {
    std::cerr << "SKIP safety: this build has no gantry-oci target\n";
    return std::nullopt;
  }
#endif
  auto rt = to::runtime_under_test();
  if (!testing::require(bool(rt), "needs the runtime under test: " +
                                      (rt ? std::string() : rt.error().to_string())))
    return std::nullopt;
  return *rt;
}

// Runs the bundle to its end (create, start, wait) and returns its stdout; failures of the
// runtime come back as the error.
Result<std::string> run_to_end(to::RuntimeDriver& d, const to::Bundle& b, const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(to::Outcome c, d.create(id, b.path()));
  if (!c.ok()) return Error(ErrorKind::failed_precondition, "create: " + c.describe());
  GANTRY_ASSIGN_OR_RETURN(to::Outcome s, d.start(id));
  if (!s.ok()) return Error(ErrorKind::failed_precondition, "start: " + s.describe());
  GANTRY_ASSIGN_OR_RETURN(auto exit, d.wait_init(id, 20000));
  std::string out = d.output(id);
  (void)d.remove(id, true);
  if (!exit.success()) return Error(ErrorKind::internal, "init " + exit.describe() + ": " + out);
  return out;
}

json parse_report(const std::string& out) {
  std::string line = out.substr(0, out.find('\n'));
  return json::parse(line, nullptr, false);
}

std::vector<std::string> fd_numbers(const json& report) {
  std::vector<std::string> fds;
  if (report.contains("fds") && report["fds"].is_object())
    for (auto it = report["fds"].begin(); it != report["fds"].end(); ++it)
      fds.push_back(it.key() + "=" + it.value().dump());
  return fds;
}

// Mount points of the host (this mount namespace) that mention `needle` in their point or
// root.
std::set<std::string> host_mounts_mentioning(const std::string& needle) {
  std::set<std::string> out;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line))
    if (line.find(needle) != std::string::npos) out.insert(line);
  return out;
}

// Directories named `cgroups_path` under any hierarchy of /sys/fs/cgroup.
std::vector<std::string> cgroup_dirs(const std::string& cgroups_path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    fs::path p = h.path() / fs::path(cgroups_path).relative_path();
    if (fs::exists(p, ec)) out.push_back(p.string());
  }
  fs::path v2 = fs::path("/sys/fs/cgroup") / fs::path(cgroups_path).relative_path();
  if (fs::exists(v2 / "cgroup.procs", ec)) out.push_back(v2.string());
  return out;
}

// Our children and their descendants that are still around (after reaping orphans).
std::vector<std::string> leftover_processes() {
  to::reap_orphans();
  std::vector<std::string> out;
  const std::string self = std::to_string(getpid());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string stat = read_file(e.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 4 >= stat.size()) continue;
    std::string ppid = stat.substr(paren + 4, stat.find(' ', paren + 4) - paren - 4);
    if (ppid == self) out.push_back(e.path().filename().string() + " " + stat.substr(0, paren + 1));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_safety)

BOOST_AUTO_TEST_CASE(exec_cannot_overwrite_runtime_binary_cve_2019_5736) {
  auto rt = runtime_or_skip();
  if (!rt) return;
  testing::TempDir tmp("gantry-cve-5736");
  fs::path copy = tmp / rt->filename().string();
  fs::copy_file(*rt, copy);
  fs::permissions(copy, fs::perms(0755));
  const Digest before = Digest::of(read_file(copy));

  // The attack of the CVE: the program `exec` starts is a script whose interpreter is
  // /proc/self/exe, so the kernel runs the runtime's own binary inside the container. The init
  // watches /proc for any process whose exe is neither busybox nor test_init, keeps it open
  // (read-only, allowed while it runs) and, once that process is gone, reopens it for writing
  // through /proc/self/fd and appends to it. A runtime that runs from a sealed copy (memfd) is
  // safe; one that runs its host binary gets it overwritten (here only a copy).
  to::BundleOptions o;
  o.command = {"/bin/sh", "-c",
               "while :; do for e in /proc/[0-9]*/exe; do "
               "case \"$(readlink $e 2>/dev/null)\" in ''|*busybox*|*test_init*) continue;; esac; "
               "exec 3<\"$e\" 2>/dev/null || continue; "
               "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
               "echo pwned 2>/dev/null >>/proc/self/fd/3 && echo wrote >>/tmp/attack; "
               "sleep 0.05; done; exec 3<&-; echo tried >>/tmp/attack; done; done"};
  o.capabilities =
      std::vector<std::string>{"CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_KILL",   "CAP_SETUID",
                               "CAP_SETGID",     "CAP_CHOWN",        "CAP_FOWNER", "CAP_SYS_ADMIN"};
  o.no_new_privileges = false;
  o.readonly_root = false;
  auto b = to::Bundle::make(o);
  BOOST_REQUIRE_MESSAGE(bool(b), (b ? std::string() : b.error().to_string()));
  std::ofstream(b->rootfs() / "bin/evil") << "#!/proc/self/exe\n";
  fs::permissions(b->rootfs() / "bin/evil", fs::perms(0755));
  to::RuntimeDriver d(copy, rt->filename().string() + "(copy)");
  auto c = d.run_detached("cve5736", b->path());
  BOOST_REQUIRE_MESSAGE(c && c->ok(), "run: " + (c ? c->describe() : c.error().to_string()));
  int execs_ok = 0;
  // Each exec runs the runtime's binary as /bin/evil's interpreter; it fails (bad arguments),
  // which is fine: what counts is the binary afterwards.
  for (int i = 0; i < 6; ++i) {
    auto e = d.exec("cve5736", {"/bin/evil"});
    if (e) ++execs_ok;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const std::string attack = read_file(b->rootfs() / "tmp/attack");
  d.cleanup();
  const Digest after = Digest::of(read_file(copy));
  BOOST_CHECK_MESSAGE(before == after,
                      "the runtime binary changed: " + before.str() + " -> " + after.str());
  BOOST_CHECK_MESSAGE(execs_ok > 0, "no exec ran, so the attack window never opened");
  const auto tried = std::count(attack.begin(), attack.end(), 't');
  std::cout << "- cve-2019-5736: " << execs_ok << " execs of a #!/proc/self/exe script, " << tried
            << " runtime processes held open and written to after they ended, binary "
            << (before == after ? "unchanged" : "CHANGED") << "\n";
}

BOOST_AUTO_TEST_CASE(no_fd_of_the_caller_leaks_into_the_container) {
  auto rt = runtime_or_skip();
  if (!rt) return;
  // Descriptors without O_CLOEXEC, as a careless caller (or a shim) would leave them.
  int leaked_file = open("/etc/hostname", O_RDONLY);
  int leaked_dir = open("/", O_RDONLY | O_DIRECTORY);
  BOOST_REQUIRE(leaked_file >= 0 && leaked_dir >= 0);
  to::BundleOptions o;
  o.test_init_args = {"report", "sleep"};
  auto b = to::Bundle::make(o);
  BOOST_REQUIRE_MESSAGE(bool(b), (b ? std::string() : b.error().to_string()));
  to::RuntimeDriver d(*rt, rt->filename().string());
  auto c = d.create("fdleak", b->path());
  BOOST_REQUIRE_MESSAGE(c && c->ok(), "create: " + (c ? c->describe() : c.error().to_string()));
  auto s = d.start("fdleak");
  BOOST_REQUIRE_MESSAGE(s && s->ok(), "start: " + (s ? s->describe() : s.error().to_string()));
  BOOST_CHECK(d.wait_output("fdleak", "{", 10000));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  json init_report = parse_report(d.output("fdleak"));
  auto e = d.exec("fdleak", {"/bin/test_init", "report"});
  close(leaked_file);
  close(leaked_dir);
  BOOST_REQUIRE_MESSAGE(e && e->ok(), "exec: " + (e ? e->describe() : e.error().to_string()));
  json exec_report = parse_report(e->stdout_text);
  d.cleanup();
  for (const auto& [who, report] : {std::pair{"init", init_report}, {"exec", exec_report}}) {
    BOOST_REQUIRE_MESSAGE(report.is_object(), std::string(who) + ": no report");
    auto fds = fd_numbers(report);
    std::string listed;
    for (const auto& f : fds) listed += " " + f;
    BOOST_CHECK_MESSAGE(fds.size() == 3 && report["fds"].contains("0") &&
                            report["fds"].contains("1") && report["fds"].contains("2"),
                        std::string(who) + " has fds beyond 0, 1, 2:" + listed);
  }
}

BOOST_AUTO_TEST_CASE(cwd_outside_the_root_is_refused_or_contained) {
  auto rt = runtime_or_skip();
  if (!rt) return;
  to::RuntimeDriver d(*rt, rt->filename().string());
  // CVE-2024-21626: a descriptor the runtime holds open while it sets the cwd (runc 1.1.11
  // left a cgroup directory at fd 7) makes /proc/self/fd/N a directory outside the root.
  std::vector<std::string> cwds;
  for (int n = 3; n <= 9; ++n) cwds.push_back("/proc/self/fd/" + std::to_string(n));
  cwds.push_back("/escape");           // a symlink ../../../../../.. in the rootfs
  cwds.push_back("/abs");              // a symlink to the bundle's parent on the host
  cwds.push_back("/../../../../../");  // dot-dots
  int refused = 0;
  int contained = 0;
  for (size_t i = 0; i < cwds.size(); ++i) {
    to::BundleOptions o;
    o.test_init_args = {"report"};
    o.cwd = cwds[i];
    auto b = to::Bundle::make(o);
    BOOST_REQUIRE_MESSAGE(bool(b), (b ? std::string() : b.error().to_string()));
    fs::create_symlink("../../../../../..", b->rootfs() / "escape");
    fs::create_symlink(b->path().parent_path(), b->rootfs() / "abs");
    auto out = run_to_end(d, *b, "cwd" + std::to_string(i));
    if (!out) {
      ++refused;
      continue;
    }
    json r = parse_report(*out);
    BOOST_REQUIRE_MESSAGE(r.is_object(), "cwd " + cwds[i] + ": no report: " + *out);
    // getcwd fails ("(unreachable)") for a directory outside the process's root.
    BOOST_CHECK_MESSAGE(!r["cwd"].is_null(), "cwd " + cwds[i] +
                                                 ": the process runs outside "
                                                 "its root (getcwd unreachable)");
    if (!r["cwd"].is_null()) ++contained;
  }
  std::cout << "- cwd: " << refused << " refused, " << contained << " contained\n";
}

BOOST_AUTO_TEST_CASE(mount_target_through_symlink_stays_in_rootfs) {
  auto rt = runtime_or_skip();
  if (!rt) return;
  testing::TempDir host("gantry-sentinel");
  std::ofstream(host / "sentinel") << "host\n";
  testing::TempDir source("gantry-bind-src");
  to::RuntimeDriver d(*rt, rt->filename().string());
  struct Case {
    std::string link_target;
    to::MountSpec mount;
  };
  std::vector<Case> cases = {
      {"/", {"/evil", "tmpfs", "tmpfs", {"size=1m"}}},
      {host.path().string(), {"/evil", "tmpfs", "tmpfs", {"size=1m"}}},
      {host.path().string(), {"/evil", "bind", source.path().string(), {"rbind", "rw"}}},
  };
  const auto mounts_before = host_mounts_mentioning(host.path().string());
  for (size_t i = 0; i < cases.size(); ++i) {
    to::BundleOptions o;
    o.test_init_args = {"write", "/evil/pwned", "x", "print", "ran"};
    o.readonly_root = false;
    o.extra_mounts = {cases[i].mount};
    auto b = to::Bundle::make(o);
    BOOST_REQUIRE_MESSAGE(bool(b), (b ? std::string() : b.error().to_string()));
    fs::create_symlink(cases[i].link_target, b->rootfs() / "evil");
    const auto root_mounts_before = host_mounts_mentioning("/ / ");
    auto out = run_to_end(d, *b, "symlink" + std::to_string(i));
    std::string what = "mount " + cases[i].mount.type + " at /evil -> " + cases[i].link_target;
    std::cout << "- " << what << ": " << (out ? "ran" : "refused: " + out.error().to_string())
              << "\n";
    BOOST_CHECK_MESSAGE(fs::exists(host / "sentinel"), what + ": the host sentinel is gone");
    BOOST_CHECK_MESSAGE(!fs::exists(host / "pwned"), what + ": the container wrote on the host");
    BOOST_CHECK_MESSAGE(!fs::exists("/pwned"), what + ": the container wrote /pwned on the host");
    BOOST_CHECK_MESSAGE(host_mounts_mentioning(host.path().string()) == mounts_before,
                        what + ": something is mounted on the host directory");
    BOOST_CHECK_MESSAGE(host_mounts_mentioning("/ / ") == root_mounts_before,
                        what + ": a mount appeared on the host's /");
  }
}

BOOST_AUTO_TEST_CASE(late_failure_leaves_nothing_behind) {
  auto rt = runtime_or_skip();
  if (!rt) return;
  to::RuntimeDriver d(*rt, rt->filename().string());
  struct Case {
    std::string name;
    std::function<void(to::BundleOptions&)> edit;
  };
  std::vector<Case> cases = {
      {"mount of an unknown fs type (last mount)",
       [](to::BundleOptions& o) {
         o.extra_mounts = {{"/data", "tmpfs", "tmpfs", {"size=1m"}},
                           {"/late", "gantrynosuchfs", "none", {}}};
       }},
      {"bind of a missing source",
       [](to::BundleOptions& o) {
         o.extra_mounts = {{"/late", "bind", "/nonexistent/gantry/source", {"rbind"}}};
       }},
      {"createRuntime hook that fails",
       [](to::BundleOptions& o) {
         o.hooks = {{"createRuntime", {{{"path", "/bin/false"}, {"args", {"false"}}}}}};
       }},
      {"createContainer hook that fails",
       [](to::BundleOptions& o) {
         o.hooks = {{"createContainer", {{{"path", "/bin/false"}, {"args", {"false"}}}}}};
       }},
      {"process cwd that is a file", [](to::BundleOptions& o) { o.cwd = "/bin/busybox"; }},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    to::BundleOptions o;
    o.test_init_args = {"print", "should not run"};
    o.memory_limit_bytes = 64 << 20;
    o.pids_limit = 32;
    cases[i].edit(o);
    auto b = to::Bundle::make(o);
    BOOST_REQUIRE_MESSAGE(bool(b), (b ? std::string() : b.error().to_string()));
    const std::string cg = b->config()["linux"]["cgroupsPath"];
    const std::string id = "late" + std::to_string(i);
    const auto mounts_before = host_mounts_mentioning(b->path().string());
    auto c = d.create(id, b->path());
    const std::string what = cases[i].name;
    BOOST_REQUIRE_MESSAGE(bool(c), what + ": " + (c ? "" : c.error().to_string()));
    BOOST_CHECK_MESSAGE(!c->ok(), what + ": create succeeded");
    std::cout << "- " << what << ": " << c->describe() << "\n";
    if (c->ok()) {
      d.cleanup();
      continue;
    }
    auto st = d.state_raw(id);
    BOOST_CHECK_MESSAGE(st && !st->ok(), what + ": the runtime still knows the container");
    BOOST_CHECK_MESSAGE(!fs::exists(d.root() / id), what + ": state left in --root");
    auto mounts = host_mounts_mentioning(b->path().string());
    std::string extra;
    for (const auto& m : mounts)
      if (!mounts_before.count(m)) extra += "\n    " + m;
    BOOST_CHECK_MESSAGE(extra.empty(), what + ": mounts left behind:" + extra);
    auto dirs = cgroup_dirs(cg);
    std::string listed;
    for (const auto& dir : dirs) listed += " " + dir;
    BOOST_CHECK_MESSAGE(dirs.empty(), what + ": cgroup directories left behind:" + listed);
    auto procs = leftover_processes();
    std::string plist;
    for (const auto& p : procs) plist += "\n    " + p;
    BOOST_CHECK_MESSAGE(procs.empty(), what + ": processes left behind:" + plist);
    BOOST_CHECK_MESSAGE(d.output(id).find("should not run") == std::string::npos,
                        what + ": the process ran");
  }
}

BOOST_AUTO_TEST_SUITE_END()
