// Checks of the config that need no privilege: namespace planning (user first, cgroup
// unshared later), sysctl rules, hostname without a uts namespace, PATH lookup, hooks.
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "runtime/oci/launch/hooks.h"
#include "runtime/oci/launch/recording_syscalls.h"
#include "runtime/oci/launch/steps.h"
#include "tests/support/temp_dir.h"

namespace launch = gantry::runtime::oci::launch;
namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;

namespace {
spec::Spec with_namespaces(std::vector<spec::Namespace> ns) {
  spec::Spec s;
  s.linux.namespaces = std::move(ns);
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(oci_launch_process_setup)

BOOST_AUTO_TEST_CASE(namespace_plan_joins_user_first_and_defers_cgroup) {
  auto s = with_namespaces({{spec::NamespaceType::network, "/proc/1/ns/net"},
                            {spec::NamespaceType::mount, ""},
                            {spec::NamespaceType::cgroup, ""},
                            {spec::NamespaceType::user, "/proc/1/ns/user"},
                            {spec::NamespaceType::pid, ""}});
  auto plan = launch::plan_namespaces(s);
  BOOST_REQUIRE(plan.has_value());
  BOOST_REQUIRE_EQUAL(plan->join.size(), 2u);
  BOOST_CHECK_EQUAL(plan->join[0].first, "/proc/1/ns/user");
  BOOST_CHECK_EQUAL(plan->join[1].first, "/proc/1/ns/net");
  BOOST_CHECK_EQUAL(plan->clone_flags, CLONE_NEWNS | CLONE_NEWPID);
  BOOST_CHECK(plan->new_cgroup);
}

BOOST_AUTO_TEST_CASE(namespace_plan_errors) {
  auto twice = launch::plan_namespaces(
      with_namespaces({{spec::NamespaceType::mount, ""}, {spec::NamespaceType::mount, ""}}));
  BOOST_REQUIRE(!twice);
  BOOST_CHECK_EQUAL(twice.error().message(), "linux.namespaces[1]: namespace listed twice");
  auto no_mount = launch::plan_namespaces(with_namespaces({{spec::NamespaceType::pid, ""}}));
  BOOST_REQUIRE(!no_mount);
  BOOST_CHECK_EQUAL(no_mount.error().kind(), ErrorKind::invalid_argument);
  auto no_maps = launch::plan_namespaces(
      with_namespaces({{spec::NamespaceType::mount, ""}, {spec::NamespaceType::user, ""}}));
  BOOST_REQUIRE(!no_maps);
  BOOST_CHECK_EQUAL(no_maps.error().message(),
                    "linux.uidMappings: a new user namespace needs uid mappings");
}

BOOST_AUTO_TEST_CASE(sysctl_needs_the_namespace_it_changes) {
  auto s = with_namespaces({{spec::NamespaceType::mount, ""}, {spec::NamespaceType::ipc, ""}});
  auto plan = launch::plan_namespaces(s);
  BOOST_REQUIRE(plan.has_value());
  s.linux.sysctl = {{"kernel.shmmax", "1"}, {"fs.mqueue.msg_max", "10"}};
  BOOST_CHECK(launch::validate_sysctl(s, *plan).has_value());
  s.linux.sysctl = {{"net.ipv4.ip_forward", "1"}};
  auto net = launch::validate_sysctl(s, *plan);
  BOOST_REQUIRE(!net);
  BOOST_CHECK_EQUAL(net.error().message(),
                    "linux.sysctl['net.ipv4.ip_forward']: needs a network namespace");
  s.linux.sysctl = {{"kernel.panic", "1"}};
  auto host = launch::validate_sysctl(s, *plan);
  BOOST_REQUIRE(!host);
  BOOST_CHECK_EQUAL(host.error().kind(), ErrorKind::invalid_argument);
  s.linux.sysctl = {{"kernel.domainname", "x"}};
  BOOST_CHECK(!launch::validate_sysctl(s, *plan));
}

BOOST_AUTO_TEST_CASE(sysctl_writes_proc_sys) {
  launch::RecordingSyscalls sys("/nonexistent");
  spec::Spec s;
  s.linux.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "65536"}};
  BOOST_REQUIRE(launch::apply_sysctl(sys, s).has_value());
  BOOST_REQUIRE_EQUAL(sys.log().size(), 2u);
  BOOST_CHECK_EQUAL(sys.log()[0], "write /proc/sys/kernel/shmmax 65536");
  BOOST_CHECK_EQUAL(sys.log()[1], "write /proc/sys/net/ipv4/ip_forward 1");
}

BOOST_AUTO_TEST_CASE(hostname_needs_a_uts_namespace) {
  launch::RecordingSyscalls sys("/nonexistent");
  auto s = with_namespaces({{spec::NamespaceType::mount, ""}});
  s.hostname = "box";
  auto plan = launch::plan_namespaces(s);
  BOOST_REQUIRE(plan.has_value());
  auto r = launch::set_hostname(sys, s, *plan);
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().message(), "hostname: needs a uts namespace");
  s.linux.namespaces.push_back({spec::NamespaceType::uts, ""});
  s.domainname = "example.org";
  plan = launch::plan_namespaces(s);
  BOOST_REQUIRE(launch::set_hostname(sys, s, *plan).has_value());
  BOOST_CHECK_EQUAL(sys.log().at(0), "sethostname box");
  BOOST_CHECK_EQUAL(sys.log().at(1), "setdomainname example.org");
}

BOOST_AUTO_TEST_CASE(executable_lookup_on_path) {
  spec::Process p;
  p.env = {"PATH=/nonexistent:/bin"};
  p.args = {"sh"};
  auto found = launch::find_executable(p);
  BOOST_REQUIRE(found.has_value());
  BOOST_CHECK_EQUAL(*found, "/bin/sh");
  p.args = {"no-such-program-here"};
  auto missing = launch::find_executable(p);
  BOOST_REQUIRE(!missing);
  BOOST_CHECK_EQUAL(missing.error().kind(), ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(hooks_get_the_state_and_report_failures) {
  gantry::testing::TempDir dir("gantry-hooks");
  spec::Hook ok_hook;
  ok_hook.path = "/bin/sh";
  ok_hook.args = {"sh", "-c", "cat > " + (dir / "state").string()};
  BOOST_REQUIRE(launch::run_hook(ok_hook, "{\"id\":\"c1\"}").has_value());
  std::ifstream in(dir / "state");
  std::string state;
  std::getline(in, state);
  BOOST_CHECK_EQUAL(state, "{\"id\":\"c1\"}");

  spec::Hook bad;
  bad.path = "/bin/sh";
  bad.args = {"sh", "-c", "echo broken >&2; exit 3"};
  auto r = launch::run_hooks({ok_hook, bad}, "{}", "createRuntime");
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().kind(), ErrorKind::failed_precondition);
  BOOST_CHECK_EQUAL(r.error().message(),
                    "hooks.createRuntime[1]: hook '/bin/sh': exit code 3: broken");

  spec::Hook slow;
  slow.path = "/bin/sh";
  slow.args = {"sh", "-c", "sleep 5"};
  slow.timeout_seconds = 1;
  auto t = launch::run_hook(slow, "{}");
  BOOST_REQUIRE(!t);
  BOOST_CHECK_EQUAL(t.error().kind(), ErrorKind::unavailable);
}

BOOST_AUTO_TEST_SUITE_END()
