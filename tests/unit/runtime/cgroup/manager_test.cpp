// The Manager on this machine's real cgroups (root). Every test works under a unique absolute
// path /gantry-test-<pid>-<n>, and the fixture kills what is left in it and removes it always.
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "runtime/cgroup/cgroup.h"
#include "runtime/cgroup/files.h"
#include "runtime/cgroup/hierarchy.h"
#include "tests/support/require.h"

namespace fs = std::filesystem;
namespace cg = gantry::runtime::cgroup;
namespace spec = gantry::runtime::oci::spec;
using gantry::ErrorKind;

namespace {

int next_id = 0;

std::string text(const fs::path& p) {
  return cg::read_trimmed(p).value_or("<missing>");
}

// A child that counts in shared memory every millisecond until killed; grow() makes it touch
// 4 MiB of fresh memory (charged to the cgroup it is in by then).
struct Counter {
  std::atomic<uint64_t>* count = nullptr;
  std::atomic<uint64_t>* grow_flag = nullptr;
  pid_t pid = -1;
  Counter() {
    void* mem = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    BOOST_REQUIRE(mem != MAP_FAILED);
    count = new (mem) std::atomic<uint64_t>(0);
    grow_flag = new (static_cast<char*>(mem) + 64) std::atomic<uint64_t>(0);
    pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      bool grown = false;
      while (true) {
        if (!grown && grow_flag->load() == 1) {
          const size_t size = 4 << 20;
          void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          if (p != MAP_FAILED) memset(p, 1, size);
          grown = true;
          grow_flag->store(2);
        }
        count->fetch_add(1);
        usleep(1000);
      }
    }
  }
  ~Counter() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    munmap(count, 4096);
  }
  void grow() {
    grow_flag->store(1);
    for (int i = 0; i < 2000 && grow_flag->load() != 2; ++i) usleep(1000);
  }
  bool progresses() const {
    uint64_t before = count->load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return count->load() > before;
  }
  // Waits for the child's death; true if it was killed by sig.
  bool killed_by(int sig) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return false;
    pid = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == sig;
  }
};

struct Fixture {
  bool root = gantry::testing::require_root();
  std::string path = "/gantry-test-" + std::to_string(getpid()) + "-" + std::to_string(next_id++);
  std::optional<cg::Manager> m;
  Fixture() {
    if (!root) return;
    auto opened = cg::Manager::open(path, "unused");
    if (!opened) BOOST_FAIL(opened.error().to_string());
    m = std::move(*opened);
    auto created = m->create();
    if (!created) BOOST_FAIL(created.error().to_string());
  }
  ~Fixture() {
    if (!m) return;
    (void)m->thaw();
    (void)m->signal_all(SIGKILL);
    auto r = m->destroy();
    if (!r) BOOST_ERROR("cleanup: " + r.error().to_string());
  }
};

#define REQUIRE_OK(expr)                                      \
  do {                                                        \
    auto r_ = (expr);                                         \
    if (!r_) BOOST_FAIL(#expr ": " + r_.error().to_string()); \
  } while (0)

}  // namespace

BOOST_AUTO_TEST_SUITE(cgroup_manager)

BOOST_FIXTURE_TEST_CASE(create_makes_every_directory_and_destroy_removes_them, Fixture) {
  if (!root) return;
  BOOST_TEST(m->cgroups_path() == path);
  BOOST_TEST(!m->directories().empty());
  for (const auto& [key, dir] : m->directories()) {
    BOOST_TEST(fs::is_directory(dir), key << " " << dir);
  }
  if (m->layout() == cg::Layout::hybrid) BOOST_TEST(m->directory("unified").has_value());
  if (auto cpuset = m->directory("cpuset"); cpuset && m->layout() != cg::Layout::v2) {
    BOOST_TEST(!text(*cpuset / "cpuset.cpus").empty());
    BOOST_TEST(!text(*cpuset / "cpuset.mems").empty());
  }
  REQUIRE_OK(m->create());  // idempotent
  REQUIRE_OK(m->destroy());
  for (const auto& [key, dir] : m->directories()) BOOST_TEST(!fs::exists(dir), key);
  REQUIRE_OK(m->destroy());  // missing is fine
}

// Cgroups the container made below its own (as systemd inside it would) go too: the first rmdir
// is refused, the children are removed depth first, then the directory.
BOOST_FIXTURE_TEST_CASE(destroy_removes_child_cgroups, Fixture) {
  if (!root) return;
  for (const auto& [key, dir] : m->directories()) {
    std::error_code ec;
    fs::create_directories(dir / "sub/deeper", ec);
    BOOST_TEST(!ec, key << " " << ec.message());
    fs::create_directories(dir / "other", ec);
  }
  REQUIRE_OK(m->destroy());
  for (const auto& [key, dir] : m->directories()) BOOST_TEST(!fs::exists(dir), key);
}

BOOST_FIXTURE_TEST_CASE(limits_read_back_from_the_files, Fixture) {
  if (!root) return;
  if (m->layout() == cg::Layout::v2) return;  // this machine is hybrid; v2 is tested on files
  spec::Resources r;
  r.memory = spec::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 128 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swappiness = 10;
  r.cpu = spec::CpuResources{};
  r.cpu->shares = 512;
  r.cpu->period = 100000;
  r.cpu->quota = 50000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  r.pids = spec::PidsResources{50};
  r.devices.push_back({false, "a", {}, {}, "rwm"});
  r.devices.push_back({true, "c", 1, 3, "rwm"});
  REQUIRE_OK(m->apply(r));
  auto mem = *m->directory("memory");
  BOOST_TEST(text(mem / "memory.limit_in_bytes") == "67108864");
  BOOST_TEST(text(mem / "memory.soft_limit_in_bytes") == "33554432");
  BOOST_TEST(text(mem / "memory.swappiness") == "10");
  if (fs::exists(mem / "memory.memsw.limit_in_bytes")) {
    BOOST_TEST(text(mem / "memory.memsw.limit_in_bytes") == "134217728");
  }
  auto cpu = *m->directory("cpu");
  BOOST_TEST(text(cpu / "cpu.shares") == "512");
  BOOST_TEST(text(cpu / "cpu.cfs_quota_us") == "50000");
  BOOST_TEST(text(cpu / "cpu.cfs_period_us") == "100000");
  BOOST_TEST(text(*m->directory("cpuset") / "cpuset.cpus") == "0");
  BOOST_TEST(text(*m->directory("pids") / "pids.max") == "50");
  BOOST_TEST(text(*m->directory("devices") / "devices.list") == "c 1:3 rwm");
  REQUIRE_OK(m->allow_default_devices());
  BOOST_TEST(text(*m->directory("devices") / "devices.list").find("c 136:* rwm") !=
             std::string::npos);

  // update: both down (limit first), then both up past the old memsw (memsw first).
  spec::Resources down;
  down.memory = spec::MemoryResources{};
  down.memory->limit = 16 << 20;
  down.memory->swap = 24 << 20;
  REQUIRE_OK(m->apply(down));
  BOOST_TEST(text(mem / "memory.limit_in_bytes") == "16777216");
  spec::Resources up;
  up.memory = spec::MemoryResources{};
  up.memory->limit = 256 << 20;
  up.memory->swap = 512 << 20;
  REQUIRE_OK(m->apply(up));
  BOOST_TEST(text(mem / "memory.limit_in_bytes") == "268435456");
  spec::Resources unlimited;
  unlimited.memory = spec::MemoryResources{};
  unlimited.memory->limit = -1;
  REQUIRE_OK(m->apply(unlimited));
  BOOST_TEST(*cg::read_u64(mem / "memory.limit_in_bytes") > (uint64_t{1} << 62));
  spec::Resources no_pids;
  no_pids.pids = spec::PidsResources{0};
  REQUIRE_OK(m->apply(no_pids));
  BOOST_TEST(text(*m->directory("pids") / "pids.max") == "max");
}

BOOST_FIXTURE_TEST_CASE(refused_limits_name_their_field, Fixture) {
  if (!root) return;
  auto mem = m->directory(m->layout() == cg::Layout::v2 ? "unified" : "memory");
  spec::Resources r;
  r.memory = spec::MemoryResources{};
  r.memory->limit = 64 << 20;
  r.memory->swap = 32 << 20;  // memory+swap below memory: the kernel says EINVAL
  auto e = m->apply(r);
  BOOST_REQUIRE(!e);
  BOOST_TEST((e.error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(e.error().message().find("linux.resources.memory.swap") != std::string::npos);
  spec::Resources neg;
  neg.memory = spec::MemoryResources{};
  neg.memory->limit = -5;
  auto n = m->apply(neg);
  BOOST_TEST((n.error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(n.error().message().find("linux.resources.memory.limit") != std::string::npos);
  spec::Resources cpus;
  cpus.cpu = spec::CpuResources{};
  cpus.cpu->cpus = "63";  // no such cpu here
  auto c = m->apply(cpus);
  BOOST_TEST((c.error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(c.error().message().find("cpuset.cpus") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(limit_below_usage_is_refused, Fixture) {
  if (!root) return;
  if (m->layout() == cg::Layout::v2) return;
  Counter child;
  REQUIRE_OK(m->add_process(child.pid));
  child.grow();
  spec::Resources r;
  r.memory = spec::MemoryResources{};
  r.memory->limit = 4096;
  auto e = m->apply(r);
  // Anonymous memory cannot shrink without swap: EBUSY. With swap it may succeed.
  if (e) return;
  BOOST_TEST((e.error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(e.error().message().find("memory.limit_in_bytes") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(process_lifecycle_in_the_cgroup, Fixture) {
  if (!root) return;
  Counter child;
  REQUIRE_OK(m->add_process(child.pid));
  for (const auto& [key, dir] : m->directories()) {
    BOOST_TEST(text(dir / "cgroup.procs").find(std::to_string(child.pid)) != std::string::npos,
               key);
  }
  auto pids = m->pids();
  REQUIRE_OK(pids);
  BOOST_TEST(*pids == std::vector<pid_t>{child.pid});
  BOOST_TEST(child.progresses());
  BOOST_TEST((*m->freezer_state() == cg::FreezerState::thawed));

  REQUIRE_OK(m->freeze());
  BOOST_TEST((*m->freezer_state() == cg::FreezerState::frozen));
  BOOST_TEST(!child.progresses());
  REQUIRE_OK(m->thaw());
  BOOST_TEST((*m->freezer_state() == cg::FreezerState::thawed));
  BOOST_TEST(child.progresses());

  child.grow();
  auto stats = m->stats();
  REQUIRE_OK(stats);
  BOOST_TEST(stats->cpu.usage_ns > 0u);
  BOOST_TEST(stats->memory.usage_bytes > 0u);
  BOOST_TEST(stats->pids.current == 1u);
  BOOST_TEST(stats->memory.limit_bytes == UINT64_MAX);

  BOOST_REQUIRE(m->destroy().error().kind() == ErrorKind::conflict);  // still in use
  REQUIRE_OK(m->signal_all(SIGKILL));
  BOOST_TEST(child.killed_by(SIGKILL));
  REQUIRE_OK(m->destroy());
  for (const auto& [key, dir] : m->directories()) BOOST_TEST(!fs::exists(dir), key);
}

BOOST_FIXTURE_TEST_CASE(sigkill_reaches_a_frozen_cgroup, Fixture) {
  if (!root) return;
  Counter child;
  REQUIRE_OK(m->add_process(child.pid));
  REQUIRE_OK(m->freeze());
  REQUIRE_OK(m->signal_all(SIGKILL));
  BOOST_TEST(child.killed_by(SIGKILL));
  REQUIRE_OK(m->destroy());
}

BOOST_FIXTURE_TEST_CASE(reopening_the_recorded_path_finds_the_same_directories, Fixture) {
  if (!root) return;
  auto again = cg::Manager::open(m->cgroups_path(), "unused");
  REQUIRE_OK(again);
  BOOST_TEST((again->directories() == m->directories()));
  Counter child;
  REQUIRE_OK(m->add_process(child.pid));
  BOOST_TEST(*again->pids() == std::vector<pid_t>{child.pid});
}

BOOST_AUTO_TEST_SUITE_END()
