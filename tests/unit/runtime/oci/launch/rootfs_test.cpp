// The mount and namespace sequence, recorded by the fake Syscalls on a scratch root (no root
// needed): what is mounted where, in which order, with which flags.
#include <fcntl.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "runtime/oci/launch/recording_syscalls.h"
#include "runtime/oci/launch/steps.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace launch = gantry::runtime::oci::launch;
namespace spec = gantry::runtime::oci::spec;
using gantry::testing::TempDir;

namespace {

spec::Mount mount(std::string dest, std::string type, std::string source,
                  std::vector<std::string> options) {
  spec::Mount m;
  m.destination = std::move(dest);
  m.type = std::move(type);
  m.source = std::move(source);
  m.options = std::move(options);
  return m;
}

// runc's default spec, without the cgroup mount (its binds depend on the host).
spec::Spec runc_like() {
  spec::Spec s;
  s.root.path = "rootfs";
  s.hostname = "box";
  s.mounts = {
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
  };
  for (auto t : {spec::NamespaceType::pid, spec::NamespaceType::network, spec::NamespaceType::ipc,
                 spec::NamespaceType::uts, spec::NamespaceType::mount})
    s.linux.namespaces.push_back(spec::Namespace{t, ""});
  return s;
}

struct Fixture {
  TempDir dir{"gantry-rootfs"};
  fs::path root = dir / "rootfs";
  launch::RecordingSyscalls sys{fs::path()};
  Fixture() : sys(root) { fs::create_directories(root); }

  std::vector<std::string> prepare(const spec::Spec& s) {
    auto plan = launch::plan_namespaces(s);
    BOOST_REQUIRE(plan.has_value());
    launch::RootfsContext ctx{sys, s, root, dir.path(), -1, *plan};
    gantry::runtime::sys::UniqueFd holder;
    auto r = launch::prepare_rootfs(ctx, holder);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error().to_string()));
    return sys.log();
  }
};

void check_log(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::string g, w;
  for (const auto& l : got) g += l + "\n";
  for (const auto& l : want) w += l + "\n";
  BOOST_CHECK_EQUAL(g, w);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_launch_rootfs)

BOOST_AUTO_TEST_CASE(runc_like_spec_mounts_in_order) {
  Fixture f;
  check_log(f.prepare(runc_like()),
            {
                "mount - / - MS_REC|MS_SLAVE",
                "mount <root> <root> bind MS_BIND|MS_REC",
                "mkdir <root>/proc 755",
                "mount proc <root>/proc proc 0",
                "mkdir <root>/dev 755",
                "mount tmpfs <root>/dev tmpfs MS_NOSUID|MS_STRICTATIME mode=755,size=65536k",
                "mkdir <root>/dev/pts 755",
                "mount devpts <root>/dev/pts devpts MS_NOSUID|MS_NOEXEC "
                "newinstance,ptmxmode=0666,mode=0620,gid=5",
                "mkdir <root>/dev/shm 755",
                "mount shm <root>/dev/shm tmpfs MS_NOSUID|MS_NODEV|MS_NOEXEC mode=1777,size=65536k",
                "mkdir <root>/dev/mqueue 755",
                "mount mqueue <root>/dev/mqueue mqueue MS_NOSUID|MS_NODEV|MS_NOEXEC",
                "mkdir <root>/sys 755",
                "mount sysfs <root>/sys sysfs MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC",
                "mknod <root>/dev/null 20666 1:3",
                "chown <root>/dev/null 0:0",
                "mknod <root>/dev/zero 20666 1:5",
                "chown <root>/dev/zero 0:0",
                "mknod <root>/dev/full 20666 1:7",
                "chown <root>/dev/full 0:0",
                "mknod <root>/dev/random 20666 1:8",
                "chown <root>/dev/random 0:0",
                "mknod <root>/dev/urandom 20666 1:9",
                "chown <root>/dev/urandom 0:0",
                "mknod <root>/dev/tty 20666 5:0",
                "chown <root>/dev/tty 0:0",
                "symlink <root>/dev/fd -> /proc/self/fd",
                "symlink <root>/dev/stdin -> /proc/self/fd/0",
                "symlink <root>/dev/stdout -> /proc/self/fd/1",
                "symlink <root>/dev/stderr -> /proc/self/fd/2",
                "symlink <root>/dev/ptmx -> pts/ptmx",
            });
}

BOOST_AUTO_TEST_CASE(kcore_link_only_when_the_host_has_it) {
  Fixture f;
  f.sys.set_host_paths({"/proc/kcore"});
  auto log = f.prepare(runc_like());
  BOOST_CHECK_EQUAL(log.back(), "symlink <root>/dev/core -> /proc/kcore");
}

BOOST_AUTO_TEST_CASE(bind_mount_with_ro_and_propagation) {
  Fixture f;
  fs::create_directories(f.dir / "data");
  spec::Spec s = runc_like();
  s.mounts = {mount("/data", "bind", "data", {"rbind", "ro", "nosuid", "rprivate"})};
  auto log = f.prepare(s);
  std::vector<std::string> tail(log.begin() + 2, log.begin() + 6);
  std::string data = (f.dir / "data").string();
  check_log(tail, {
                      "mkdir <root>/data 755",
                      "mount " + data + " <root>/data - MS_BIND|MS_REC",
                      "mount - <root>/data - MS_RDONLY|MS_NOSUID|MS_REMOUNT|MS_BIND",
                      "mount - <root>/data - MS_REC|MS_PRIVATE",
                  });
}

BOOST_AUTO_TEST_CASE(recursive_read_only_uses_mount_setattr) {
  Fixture f;
  fs::create_directories(f.dir / "data");
  spec::Spec s = runc_like();
  s.mounts = {mount("/data", "bind", "data", {"rbind", "rro"})};
  auto log = f.prepare(s);
  BOOST_REQUIRE_GE(log.size(), 5u);
  BOOST_CHECK_EQUAL(log[4], "mount_setattr <root>/data set=1 clear=0");  // MOUNT_ATTR_RDONLY
}

BOOST_AUTO_TEST_CASE(unsupported_mount_option_names_the_entry) {
  Fixture f;
  spec::Spec s = runc_like();
  s.mounts = {mount("/proc", "proc", "proc", {}), mount("/t", "tmpfs", "tmpfs", {"tmpcopyup"})};
  auto plan = launch::plan_namespaces(s);
  BOOST_REQUIRE(plan.has_value());
  launch::RootfsContext ctx{f.sys, s, f.root, f.dir.path(), -1, *plan};
  gantry::runtime::sys::UniqueFd holder;
  auto r = launch::prepare_rootfs(ctx, holder);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().kind(), gantry::ErrorKind::not_implemented);
  BOOST_CHECK_MESSAGE(r.error().message().rfind("mounts[1] ('/t')", 0) == 0, r.error().message());
}

BOOST_AUTO_TEST_CASE(bind_of_a_file_creates_a_file_target) {
  Fixture f;
  std::ofstream(f.dir / "resolv.conf") << "nameserver 127.0.0.1\n";
  spec::Spec s = runc_like();
  s.mounts = {mount("/etc/resolv.conf", "bind", (f.dir / "resolv.conf").string(), {"bind"})};
  f.prepare(s);
  BOOST_CHECK(fs::is_directory(f.root / "etc"));
  BOOST_CHECK(fs::is_regular_file(f.root / "etc/resolv.conf"));
  BOOST_CHECK_EQUAL(f.sys.log()[2], "mknod <root>/etc/resolv.conf 100644 0:0");
}

BOOST_AUTO_TEST_CASE(a_target_symlinked_to_slash_resolves_inside_the_root) {
  Fixture f;
  fs::create_symlink("/", f.root / "evil");
  fs::create_symlink("../../..", f.root / "up");
  spec::Spec s = runc_like();
  s.mounts = {mount("/evil/escape-check", "tmpfs", "tmpfs", {}),
              mount("/up/etc/escape-check", "tmpfs", "tmpfs", {})};
  auto log = f.prepare(s);
  std::vector<std::string> tail(log.begin() + 2, log.begin() + 6);
  check_log(tail, {
                      "mkdir <root>/escape-check 755",
                      "mount tmpfs <root>/escape-check tmpfs 0",
                      "mkdir <root>/etc/escape-check 755",
                      "mount tmpfs <root>/etc/escape-check tmpfs 0",
                  });
  BOOST_CHECK(!fs::exists("/escape-check"));
}

BOOST_AUTO_TEST_CASE(devices_in_a_user_namespace_are_bound_from_the_host) {
  Fixture f;
  spec::Spec s = runc_like();
  s.mounts.clear();
  s.linux.namespaces.push_back(spec::Namespace{spec::NamespaceType::user, ""});
  s.linux.uid_mappings = {spec::IdMapping{0, 100000, 65536}};
  s.linux.gid_mappings = {spec::IdMapping{0, 100000, 65536}};
  auto log = f.prepare(s);
  BOOST_CHECK_EQUAL(log[2], "mknod <root>/dev/null 100644 0:0");  // an empty file to bind on
  BOOST_CHECK_EQUAL(log[3], "mount /dev/null <root>/dev/null bind MS_BIND");
  for (const auto& line : log)
    BOOST_CHECK(line.rfind("mknod", 0) != 0 || line.find(" 100644 ") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_failing_mount_names_the_entry) {
  Fixture f;
  f.sys.fail_on("mount devpts", EPERM);
  auto plan = launch::plan_namespaces(runc_like());
  BOOST_REQUIRE(plan.has_value());
  spec::Spec s = runc_like();
  launch::RootfsContext ctx{f.sys, s, f.root, f.dir.path(), -1, *plan};
  gantry::runtime::sys::UniqueFd holder;
  auto r = launch::prepare_rootfs(ctx, holder);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().kind(), gantry::ErrorKind::permission_denied);
  BOOST_CHECK_EQUAL(r.error().errno_value(), EPERM);
  BOOST_CHECK(r.error().message().rfind("mounts[2] ('/dev/pts')", 0) == 0);
}

BOOST_AUTO_TEST_CASE(pivot_root_then_readonly_root) {
  Fixture f;
  auto root_fd = f.sys.open(f.root.string(), O_RDONLY | O_DIRECTORY, 0);
  BOOST_REQUIRE(root_fd.has_value());
  BOOST_REQUIRE(launch::pivot_into(f.sys, root_fd->get()).has_value());
  BOOST_REQUIRE(launch::remount_root_readonly(f.sys).has_value());
  check_log(f.sys.log(), {
                             "fchdir <root>",
                             "pivot_root . .",
                             "mount - . - MS_REC|MS_SLAVE",
                             "umount2 . 2",
                             "chdir /",
                             "mount - / - MS_RDONLY|MS_REMOUNT|MS_BIND",
                         });
}

BOOST_AUTO_TEST_CASE(masked_and_readonly_paths) {
  Fixture f;
  fs::create_directories(f.root / "proc/acpi");
  fs::create_directories(f.root / "proc/sys");
  std::ofstream(f.root / "proc/kcore") << "x";
  BOOST_REQUIRE(
      launch::apply_readonly_paths(f.sys, f.root, {"/proc/sys", "/proc/missing"}).has_value());
  BOOST_REQUIRE(
      launch::apply_masked_paths(f.sys, f.root, {"/proc/kcore", "/proc/acpi", "/proc/missing"})
          .has_value());
  check_log(f.sys.log(), {
                             "mount <root>/proc/sys <root>/proc/sys - MS_BIND|MS_REC",
                             "mount - <root>/proc/sys - MS_RDONLY|MS_REMOUNT|MS_BIND|MS_REC",
                             "mount /dev/null <root>/proc/kcore - MS_BIND",
                             "mount tmpfs <root>/proc/acpi tmpfs MS_RDONLY",
                         });
}

BOOST_AUTO_TEST_CASE(rootfs_propagation_values) {
  Fixture f;
  BOOST_CHECK(launch::set_root_propagation(f.sys, "rprivate").has_value());
  BOOST_CHECK(launch::set_root_propagation(f.sys, "shared").has_value());
  auto bad = launch::set_root_propagation(f.sys, "sideways");
  BOOST_REQUIRE(!bad);
  BOOST_CHECK_EQUAL(bad.error().kind(), gantry::ErrorKind::invalid_argument);
  check_log(f.sys.log(), {"mount - / - MS_REC|MS_PRIVATE", "mount - / - MS_SHARED"});
}

BOOST_AUTO_TEST_SUITE_END()
