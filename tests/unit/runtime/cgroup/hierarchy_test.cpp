#include "runtime/cgroup/hierarchy.h"

#include <sys/statfs.h>

#include <linux/magic.h>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "runtime/cgroup/apply.h"
#include "runtime/cgroup/cgroup.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
namespace cg = gantry::runtime::cgroup;
namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;
using gantry::testing::TempDir;

namespace {

// This machine's layout, as its mountinfo said when these tests were written.
const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n"
    "4:memory:/process_api/4f6f\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

const char* kV2 =
    "22 1 0:20 / /proc rw - proc proc rw\n"
    "25 21 0:23 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";

struct FakeHost {
  TempDir tmp;
  cg::HostPaths host;
  FakeHost(const std::string& mountinfo, const std::string& self) {
    std::ofstream(tmp / "mountinfo") << mountinfo;
    std::ofstream(tmp / "cgroup") << self;
    host.mountinfo = tmp / "mountinfo";
    host.self_cgroup = tmp / "cgroup";
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cgroup_hierarchy)

BOOST_AUTO_TEST_CASE(hybrid_mountinfo_lists_every_hierarchy) {
  auto hs = cg::parse_mountinfo(kHybrid, "/sys/fs/cgroup");
  BOOST_REQUIRE(hs);
  BOOST_TEST(hs->size() == 10u);
  BOOST_TEST(hs->back().v2);
  BOOST_TEST(hs->back().mountpoint == fs::path("/sys/fs/cgroup/unified"));
  BOOST_TEST(hs->at(8).controllers.front() == "name=systemd");
  BOOST_TEST((*cg::layout_of(*hs, "/sys/fs/cgroup") == cg::Layout::hybrid));
}

BOOST_AUTO_TEST_CASE(v1_v2_and_none) {
  auto v2 = cg::parse_mountinfo(kV2, "/sys/fs/cgroup");
  BOOST_REQUIRE(v2);
  BOOST_TEST((*cg::layout_of(*v2, "/sys/fs/cgroup") == cg::Layout::v2));
  std::string v1 =
      "1 0 0:1 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "2 0 0:2 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
  auto h1 = cg::parse_mountinfo(v1, "/sys/fs/cgroup");
  BOOST_REQUIRE(h1);
  BOOST_TEST((*cg::layout_of(*h1, "/sys/fs/cgroup") == cg::Layout::v1));
  BOOST_TEST(cg::directory_keys(h1->front()).size() == 2u);
  auto none = cg::parse_mountinfo("22 1 0:20 / /proc rw - proc proc rw\n", "/sys/fs/cgroup");
  BOOST_REQUIRE(none);
  BOOST_TEST((cg::layout_of(*none, "/sys/fs/cgroup").error().kind() == ErrorKind::not_found));
  // Mounts outside the root do not count.
  auto elsewhere = cg::parse_mountinfo(kHybrid, "/other");
  BOOST_TEST(elsewhere->empty());
}

BOOST_AUTO_TEST_CASE(escaped_mount_points_and_malformed_lines) {
  auto hs = cg::parse_mountinfo("1 0 0:1 / /cg/a\\040b rw - cgroup2 cgroup2 rw\n", "/cg");
  BOOST_REQUIRE(hs);
  BOOST_TEST(hs->front().mountpoint == fs::path("/cg/a b"));
  auto bad = cg::parse_mountinfo("1 0 0:1 / /cg rw cgroup2\n", "/cg");
  BOOST_REQUIRE(!bad);
  BOOST_TEST((bad.error().kind() == ErrorKind::invalid_argument));
  auto self = cg::parse_self_cgroup("4:memory\n");
  BOOST_TEST((self.error().kind() == ErrorKind::invalid_argument));
}

BOOST_AUTO_TEST_CASE(self_cgroup_keys) {
  auto self = cg::parse_self_cgroup("2:cpu,cpuacct:/a\n1:name=systemd:/s\n0::/u\n");
  BOOST_REQUIRE(self);
  BOOST_TEST(self->at("cpu") == "/a");
  BOOST_TEST(self->at("cpuacct") == "/a");
  BOOST_TEST(self->at("name=systemd") == "/s");
  BOOST_TEST(self->at("") == "/u");
}

BOOST_AUTO_TEST_CASE(this_machine_layout_agrees_with_statfs) {
  auto layout = cg::detect_layout();
  if (!layout) BOOST_FAIL(layout.error().to_string());
  struct statfs root {};
  BOOST_REQUIRE(statfs("/sys/fs/cgroup", &root) == 0);
  struct statfs unified {};
  bool unified_v2 =
      statfs("/sys/fs/cgroup/unified", &unified) == 0 && unified.f_type == CGROUP2_SUPER_MAGIC;
  if (root.f_type == CGROUP2_SUPER_MAGIC) {
    BOOST_TEST((*layout == cg::Layout::v2));
  } else if (unified_v2) {
    BOOST_TEST((*layout == cg::Layout::hybrid));
  } else {
    BOOST_TEST((*layout == cg::Layout::v1));
  }
}

BOOST_AUTO_TEST_CASE(absolute_relative_and_empty_paths) {
  FakeHost f(kHybrid, kHybridSelf);
  auto abs = cg::Manager::open("/gantry/c1", "c1", f.host);
  BOOST_REQUIRE(abs);
  BOOST_TEST((abs->layout() == cg::Layout::hybrid));
  BOOST_TEST(abs->cgroups_path() == "/gantry/c1");
  BOOST_TEST(*abs->directory("memory") == fs::path("/sys/fs/cgroup/memory/gantry/c1"));
  BOOST_TEST(*abs->directory("unified") == fs::path("/sys/fs/cgroup/unified/gantry/c1"));
  BOOST_TEST(*abs->directory("name=systemd") == fs::path("/sys/fs/cgroup/systemd/gantry/c1"));
  BOOST_TEST(abs->directories().size() == 10u);

  // Relative: below the caller's own cgroup, which differs per hierarchy here.
  auto rel = cg::Manager::open("gantry/c1", "c1", f.host);
  BOOST_REQUIRE(rel);
  BOOST_TEST(*rel->directory("memory") ==
             fs::path("/sys/fs/cgroup/memory/process_api/4f6f/gantry/c1"));
  BOOST_TEST(*rel->directory("pids") == fs::path("/sys/fs/cgroup/pids/gantry/c1"));
  BOOST_TEST(rel->cgroups_path() == "gantry/c1");  // no single absolute path says this

  auto empty = cg::Manager::open("", "c1", f.host);
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty->cgroups_path() == "/gantry/c1");
  BOOST_TEST(*empty->directory("cpu") == fs::path("/sys/fs/cgroup/cpu/gantry/c1"));
}

BOOST_AUTO_TEST_CASE(relative_path_in_one_cgroup_everywhere_becomes_absolute) {
  FakeHost f(kV2, "0::/user.slice/me\n");
  auto rel = cg::Manager::open("c1", "c1", f.host);
  BOOST_REQUIRE(rel);
  BOOST_TEST(rel->cgroups_path() == "/user.slice/me/c1");
  BOOST_TEST(*rel->directory("unified") == fs::path("/sys/fs/cgroup/user.slice/me/c1"));
  BOOST_TEST(!rel->directory("memory"));
  // Re-opening the recorded path finds the same directory.
  auto again = cg::Manager::open(rel->cgroups_path(), "c1", f.host);
  BOOST_TEST(*again->directory("unified") == *rel->directory("unified"));
}

BOOST_AUTO_TEST_CASE(mount_root_of_a_cgroup_namespace_is_stripped) {
  FakeHost f("1 0 0:1 /ns /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/ns/me\n");
  auto rel = cg::Manager::open("c1", "c1", f.host);
  BOOST_REQUIRE(rel);
  BOOST_TEST(*rel->directory("unified") == fs::path("/sys/fs/cgroup/me/c1"));
}

BOOST_AUTO_TEST_CASE(bad_paths_are_refused) {
  FakeHost f(kHybrid, kHybridSelf);
  auto up = cg::Manager::open("/gantry/../../etc", "c1", f.host);
  BOOST_TEST((up.error().kind() == ErrorKind::invalid_argument));
  auto systemd = cg::Manager::open("system.slice:gantry:c1", "c1", f.host);
  BOOST_TEST((systemd.error().kind() == ErrorKind::not_implemented));
  auto id = cg::Manager::open("", "a/b", f.host);
  BOOST_TEST((id.error().kind() == ErrorKind::invalid_argument));
  f.host.mountinfo = f.tmp / "missing";
  BOOST_TEST((cg::Manager::open("/x", "c1", f.host).error().kind() == ErrorKind::not_found));
}

BOOST_AUTO_TEST_CASE(translations) {
  spec::DeviceCgroupRule all;
  BOOST_TEST(*cg::device_rule_v1(all, 0) == "a *:* rwm");
  spec::DeviceCgroupRule null{true, "c", 1, 3, "rw"};
  BOOST_TEST(*cg::device_rule_v1(null, 1) == "c 1:3 rw");
  BOOST_TEST(cg::devices_trivial({all}));
  BOOST_TEST(!cg::devices_trivial({all, null}));
  spec::DeviceCgroupRule bad{true, "x", {}, {}, "rwm"};
  BOOST_TEST((cg::device_rule_v1(bad, 2).error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(cg::device_rule_v1(bad, 2).error().message().find("devices[2]") != std::string::npos);
  BOOST_TEST(cg::shares_to_weight(2) == 1u);
  BOOST_TEST(cg::shares_to_weight(1024) == 39u);
  BOOST_TEST(cg::shares_to_weight(262144) == 10000u);
  BOOST_TEST(**cg::swap_for_v2(100, 300) == "200");
  BOOST_TEST(**cg::swap_for_v2(100, -1) == "max");
  BOOST_TEST(!*cg::swap_for_v2(100, std::nullopt));
  BOOST_TEST((cg::swap_for_v2(300, 100).error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST((cg::swap_for_v2(std::nullopt, 100).error().kind() == ErrorKind::invalid_argument));
}

// v2 apply on plain files standing in for a cgroup directory: what lands in which file.
BOOST_AUTO_TEST_CASE(v2_apply_writes_the_v2_files) {
  TempDir tmp;
  for (const char* f : {"memory.max", "memory.swap.max", "memory.low", "cpu.weight", "pids.max",
                        "cpuset.cpus", "cpuset.mems", "memory.high"}) {
    std::ofstream(tmp / f) << "";
  }
  std::ofstream(tmp / "cpu.max") << "max 100000\n";
  spec::Resources r;
  r.memory = spec::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 96 << 20;
  r.memory->reservation = 16 << 20;
  r.cpu = spec::CpuResources{};
  r.cpu->shares = 1024;
  r.cpu->quota = 50000;
  r.cpu->cpus = "0";
  r.pids = spec::PidsResources{42};
  r.unified["memory.high"] = "1000000";
  r.devices.push_back({false, "a", {}, {}, "rwm"});
  auto applied = cg::apply_v2(tmp.path(), r);
  if (!applied) BOOST_FAIL(applied.error().to_string());
  auto read = [&](const char* f) { return *cg::read_text(tmp / f); };
  BOOST_TEST(read("memory.max") == "67108864");
  BOOST_TEST(read("memory.swap.max") == "33554432");
  BOOST_TEST(read("memory.low") == "16777216");
  BOOST_TEST(read("cpu.weight") == "39");
  BOOST_TEST(read("cpu.max").substr(0, 12) == "50000 100000");
  BOOST_TEST(read("pids.max") == "42");
  BOOST_TEST(read("cpuset.cpus") == "0");
  BOOST_TEST(read("memory.high") == "1000000");
}

BOOST_AUTO_TEST_CASE(v2_refuses_what_it_cannot_express) {
  TempDir tmp;
  spec::Resources r;
  r.devices.push_back({true, "c", 1, 3, "rwm"});
  auto dev = cg::apply_v2(tmp.path(), r);
  BOOST_TEST((dev.error().kind() == gantry::ErrorKind::not_implemented));
  BOOST_TEST(dev.error().message().find("linux.resources.devices[0]") != std::string::npos);
  spec::Resources k;
  k.memory = spec::MemoryResources{};
  k.memory->kernel = 1 << 20;
  auto kernel = cg::apply_v2(tmp.path(), k);
  BOOST_TEST((kernel.error().kind() == gantry::ErrorKind::not_implemented));
  BOOST_TEST(kernel.error().message().find("linux.resources.memory.kernel") != std::string::npos);
  spec::Resources rt;
  rt.cpu = spec::CpuResources{};
  rt.cpu->realtime_runtime = 1000;
  BOOST_TEST((cg::apply_v2(tmp.path(), rt).error().kind() == gantry::ErrorKind::not_implemented));
  spec::Resources missing;  // a file the kernel does not have: not_implemented, names the field
  missing.pids = spec::PidsResources{5};
  auto m = cg::apply_v2(tmp.path(), missing);
  BOOST_TEST((m.error().kind() == gantry::ErrorKind::not_implemented));
  BOOST_TEST(m.error().message().find("linux.resources.pids.limit") != std::string::npos);
}

// create() on a fake v2 root: directories made below the mount, controllers the root lists
// enabled in its subtree_control (a plain file here keeps only the last write).
BOOST_AUTO_TEST_CASE(v2_create_makes_dirs_and_enables_controllers) {
  TempDir tmp;
  fs::path root = tmp / "cg";
  fs::create_directories(root);
  std::ofstream(root / "cgroup.controllers") << "memory pids\n";
  std::ofstream(root / "cgroup.subtree_control") << "";
  FakeHost f("1 0 0:1 / " + root.string() + " rw - cgroup2 cgroup2 rw\n", "0::/\n");
  f.host.root = root;
  auto m = cg::Manager::open("/a/b", "c1", f.host);
  BOOST_REQUIRE(m);
  BOOST_TEST((m->layout() == cg::Layout::v2));
  auto created = m->create();
  if (!created) BOOST_FAIL(created.error().to_string());
  BOOST_TEST(fs::is_directory(root / "a" / "b"));
  BOOST_TEST(cg::read_text(root / "cgroup.subtree_control")->find("+pids") != std::string::npos);
  BOOST_TEST((m->freezer_state().error().kind() == ErrorKind::not_found));  // no cgroup.freeze
}

BOOST_AUTO_TEST_SUITE_END()
