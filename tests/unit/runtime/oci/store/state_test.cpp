#include "runtime/oci/state.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace oci = gantry::runtime::oci;
using gantry::ErrorKind;
using gantry::api::ContainerState;

namespace {

oci::Record record_for_self(const std::string& id) {
  oci::Record r;
  r.id = id;
  r.init_pid = ::getpid();
  r.init_start_time = *oci::read_process_start_time(::getpid());
  r.bundle = "/b";
  r.rootfs = "/b/rootfs";
  r.created = oci::rfc3339_nano_now();
  r.annotations = {{"a", "1"}};
  r.cgroups_path = "/gantry/" + id;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_state)

BOOST_AUTO_TEST_CASE(container_ids_follow_runc) {
  for (const char* ok : {"a", "abc-1", "A_b+c.d", "0", "x.y"}) {
    BOOST_TEST(oci::validate_container_id(ok).has_value(), ok);
  }
  for (const char* bad : {"", ".", "..", "a/b", "../x", "a b", "-x", "a\nb", "é"}) {
    auto r = oci::validate_container_id(bad);
    BOOST_TEST(!r.has_value(), bad);
    if (!r) BOOST_TEST((r.error().kind() == ErrorKind::invalid_argument));
  }
  BOOST_TEST(!oci::validate_container_id(std::string(1025, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(record_round_trips_through_json) {
  auto r = record_for_self("c1");
  r.started = true;
  auto back = oci::record_from_json(oci::to_json(r));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->id == r.id);
  BOOST_TEST(back->init_pid == r.init_pid);
  BOOST_TEST(back->init_start_time == r.init_start_time);
  BOOST_TEST(back->bundle == r.bundle);
  BOOST_TEST(back->rootfs == r.rootfs);
  BOOST_TEST(back->created == r.created);
  BOOST_TEST((back->annotations == r.annotations));
  BOOST_TEST(back->cgroups_path == r.cgroups_path);
  BOOST_TEST(back->started);
  BOOST_TEST(!oci::record_from_json("{").has_value());
  BOOST_TEST(!oci::record_from_json("{\"id\":1}").has_value());
}

BOOST_AUTO_TEST_CASE(reconcile_is_a_claim_checked_against_the_system) {
  oci::Record r;
  using L = oci::ProcessLiveness;
  BOOST_TEST((oci::reconcile(r, L::gone, false) == ContainerState::stopped));
  BOOST_TEST((oci::reconcile(r, L::zombie, false) == ContainerState::stopped));
  BOOST_TEST((oci::reconcile(r, L::alive, false) == ContainerState::created));
  BOOST_TEST((oci::reconcile(r, L::alive, true) == ContainerState::paused));
  r.started = true;
  BOOST_TEST((oci::reconcile(r, L::alive, false) == ContainerState::running));
  BOOST_TEST((oci::reconcile(r, L::gone, true) == ContainerState::stopped));
}

BOOST_AUTO_TEST_CASE(liveness_uses_pid_and_start_time) {
  auto st = oci::read_process_start_time(::getpid());
  BOOST_REQUIRE(st.has_value());
  BOOST_TEST((oci::process_liveness(::getpid(), *st) == oci::ProcessLiveness::alive));
  // The same pid with another start time is another process: ours is gone.
  BOOST_TEST((oci::process_liveness(::getpid(), *st + 1) == oci::ProcessLiveness::gone));
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  auto child_start = oci::read_process_start_time(child);
  BOOST_REQUIRE(child_start.has_value());
  // Not reaped yet: a zombie.
  siginfo_t info{};
  ::waitid(P_PID, child, &info, WEXITED | WNOWAIT);
  BOOST_TEST((oci::process_liveness(child, *child_start) == oci::ProcessLiveness::zombie));
  ::waitpid(child, nullptr, 0);
  BOOST_TEST((oci::process_liveness(child, *child_start) == oci::ProcessLiveness::gone));
  BOOST_TEST((oci::read_process_start_time(child).error().kind() == ErrorKind::not_found));
}

BOOST_AUTO_TEST_CASE(store_saves_loads_lists_and_removes) {
  gantry::testing::TempDir tmp("gantry-oci-state");
  bool frozen = false;
  oci::StateStore store(tmp / "root", [&](const oci::Record&) { return frozen; });
  BOOST_TEST(store.list_ids()->empty());
  auto missing = store.load("c1");
  BOOST_TEST((missing.error().kind() == ErrorKind::not_found));
  BOOST_TEST(missing.error().message() == "container does not exist");
  {
    auto lock = store.create_locked("c1");
    BOOST_REQUIRE(lock.has_value());
    // No state.json yet: a create in progress is not a container.
    BOOST_TEST((store.load("c1").error().kind() == ErrorKind::not_found));
    BOOST_TEST(store.save(record_for_self("c1")).has_value());
    BOOST_TEST(store.save_config("c1", "{}").has_value());
  }
  BOOST_TEST((store.create_locked("c1").error().kind() == ErrorKind::already_exists));
  auto c = store.load("c1");
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST((c->state == ContainerState::created));
  BOOST_TEST(c->live_pid() == ::getpid());
  frozen = true;
  BOOST_TEST((store.load("c1")->state == ContainerState::paused));
  frozen = false;
  auto r = record_for_self("c1");
  r.started = true;
  BOOST_TEST(store.save(r).has_value());
  BOOST_TEST((store.load("c1")->state == ContainerState::running));
  r.init_start_time += 1;
  BOOST_TEST(store.save(r).has_value());
  BOOST_TEST((store.load("c1")->state == ContainerState::stopped));
  BOOST_TEST(store.load("c1")->live_pid() == 0);
  BOOST_TEST(*store.read_config("c1") == "{}");

  BOOST_TEST(store.create_locked("c2").has_value());
  auto ids = store.list_ids();
  BOOST_TEST((*ids == std::vector<std::string>{"c1", "c2"}));
  {
    auto lock = store.lock("c1");
    BOOST_REQUIRE(lock.has_value());
    BOOST_TEST(store.remove("c1").has_value());
  }
  BOOST_TEST((store.lock("c1").error().kind() == ErrorKind::not_found));
  BOOST_TEST((store.lock("../x").error().kind() == ErrorKind::invalid_argument));
}

BOOST_AUTO_TEST_CASE(lock_serializes_processes_and_sees_a_delete) {
  gantry::testing::TempDir tmp("gantry-oci-lock");
  oci::StateStore store(tmp / "root");
  { BOOST_REQUIRE(store.create_locked("c1").has_value()); }
  int ready[2];
  BOOST_REQUIRE(::pipe(ready) == 0);
  pid_t child = ::fork();
  if (child == 0) {
    // Holds the lock for a while, then deletes the container.
    auto lock = store.lock("c1");
    char b = 'x';
    if (::write(ready[1], &b, 1) != 1) ::_exit(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::_exit(lock && store.remove("c1") ? 0 : 1);
  }
  char b;
  BOOST_REQUIRE(::read(ready[0], &b, 1) == 1);
  auto t0 = std::chrono::steady_clock::now();
  auto lock = store.lock("c1");
  auto waited = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(waited >= std::chrono::milliseconds(200));
  BOOST_TEST((lock.error().kind() == ErrorKind::not_found));
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

BOOST_AUTO_TEST_CASE(lock_is_not_inherited_by_a_forked_child) {
  gantry::testing::TempDir tmp("gantry-oci-lock2");
  oci::StateStore store(tmp / "root");
  auto lock = store.create_locked("c1");
  BOOST_REQUIRE(lock.has_value());
  // A child forked while we hold the lock (as a container init is) does not hold it: once we
  // release it, another process gets it although the child still lives.
  pid_t sleeper = ::fork();
  if (sleeper == 0) {
    ::pause();
    ::_exit(0);
  }
  *lock = oci::ContainerLock();
  pid_t other = ::fork();
  if (other == 0) ::_exit(store.lock("c1") ? 0 : 1);
  int status = 0;
  ::waitpid(other, &status, 0);
  BOOST_TEST(WEXITSTATUS(status) == 0);
  ::kill(sleeper, SIGKILL);
  ::waitpid(sleeper, nullptr, 0);
}

BOOST_AUTO_TEST_CASE(unreadable_state_is_an_error_not_a_crash) {
  gantry::testing::TempDir tmp("gantry-oci-bad");
  oci::StateStore store(tmp / "root");
  { BOOST_REQUIRE(store.create_locked("c1").has_value()); }
  std::ofstream(tmp / "root" / "c1" / "state.json") << "{\"id\":";
  auto c = store.load("c1");
  BOOST_TEST((c.error().kind() == ErrorKind::invalid_argument));
  BOOST_TEST(store.remove("c1").has_value());
  BOOST_TEST(oci::StateStore(tmp / "nonexistent").remove("c1").has_value());
}

BOOST_AUTO_TEST_CASE(rfc3339_nano_shape) {
  auto t = oci::rfc3339_nano_now();
  BOOST_TEST(t.size() == 30u);
  BOOST_TEST(t[4] == '-');
  BOOST_TEST(t[10] == 'T');
  BOOST_TEST(t[19] == '.');
  BOOST_TEST(t.back() == 'Z');
}

BOOST_AUTO_TEST_SUITE_END()
