#include "model/oci/oci_model.h"

#include <boost/test/unit_test.hpp>
#include <sstream>

namespace gantry::model::oci {

// Printing for BOOST_TEST.
inline std::ostream& boost_test_print_type(std::ostream& os, const Outcome& o) {
  return os << o;
}

namespace {

using api::ContainerState;
constexpr int kHup = 1, kKill = 9, kUsr1 = 10, kUsr2 = 12, kTerm = 15, kStop = 19;

Outcome ok() {
  return Outcome::success();
}
Outcome fail(ErrorKind kind) {
  return Outcome::failure(kind);
}
Outcome in(ContainerState s) {
  Outcome o;
  o.state = s;
  return o;
}
Outcome exited(int status, std::string output) {
  Outcome o;
  o.exit_status = status;
  o.output = std::move(output);
  return o;
}

// A model with container `id` created for `args` and started.
OciModel started(const std::vector<std::string>& args, const std::string& id = "c") {
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{id, args}).ok());
  BOOST_REQUIRE(m.apply(Start{id}).ok());
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oci_model)

BOOST_AUTO_TEST_CASE(create_start_state) {
  OciModel m;
  BOOST_TEST(m.apply(Create{"c", {"sleep"}}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::created));
  BOOST_TEST(m.apply(Create{"c", {"exit", "0"}}) == fail(ErrorKind::already_exists));
  BOOST_TEST(m.apply(Create{"", {}}) == fail(ErrorKind::invalid_argument));
  BOOST_TEST(m.apply(Start{"c"}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  BOOST_TEST(m.ids() == std::vector<std::string>{"c"});
}

BOOST_AUTO_TEST_CASE(unknown_id) {
  OciModel m;
  BOOST_TEST(m.apply(Start{"x"}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(State{"x"}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Kill{"x", kKill, false}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Pause{"x"}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Resume{"x"}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Exec{"x", {"exit", "0"}, false}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Wait{"x"}) == fail(ErrorKind::not_found));
  BOOST_TEST(m.apply(Delete{"x", false}) == fail(ErrorKind::not_found));
  // runc: `delete --force` of an unknown id succeeds.
  BOOST_TEST(m.apply(Delete{"x", true}) == ok());
}

BOOST_AUTO_TEST_CASE(terminating_program_stops_with_its_output_and_files) {
  auto m = started({"print", "hello", "write", "/tmp/x", "hi", "cat", "/tmp/x", "exit", "3"});
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::stopped));
  BOOST_TEST(m.apply(Wait{"c"}) == exited(3, "hello\nhi"));
  BOOST_TEST(m.container("c")->files.at("/tmp/x") == "hi");
  // Waiting again gives the same answer.
  BOOST_TEST(m.apply(Wait{"c"}) == exited(3, "hello\nhi"));
}

BOOST_AUTO_TEST_CASE(end_of_program_is_exit_0_and_report_is_a_placeholder) {
  auto m = started({"report"});
  BOOST_TEST(m.apply(Wait{"c"}) == exited(0, "<report>\n"));
  BOOST_TEST(started({}).apply(Wait{"c"}) == exited(0, ""));
}

BOOST_AUTO_TEST_CASE(cat_of_an_unwritten_file_exits_1) {
  BOOST_TEST(started({"print", "a", "cat", "/nope", "print", "b"}).apply(Wait{"c"}) ==
             exited(1, "a\n"));
}

BOOST_AUTO_TEST_CASE(bad_arguments_start_and_exit_2) {
  OciModel m;
  BOOST_TEST(m.apply(Create{"c", {"print", "x", "bogus"}}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::created));
  BOOST_TEST(m.apply(Start{"c"}) == ok());
  BOOST_TEST(m.apply(Wait{"c"}) == exited(2, ""));
}

BOOST_AUTO_TEST_CASE(start_is_legal_only_when_created) {
  auto m = started({"sleep"});
  BOOST_TEST(m.apply(Start{"c"}) == fail(ErrorKind::failed_precondition));  // running
  BOOST_TEST(m.apply(Pause{"c"}) == ok());
  BOOST_TEST(m.apply(Start{"c"}) == fail(ErrorKind::failed_precondition));  // paused
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == ok());
  BOOST_TEST(m.apply(Start{"c"}) == fail(ErrorKind::failed_precondition));  // stopped
}

BOOST_AUTO_TEST_CASE(pid1_ignores_signals_without_handler) {
  auto m = started({"sleep"});
  for (int sig : {kHup, 2, 3, kUsr1, kUsr2, 13, 14, kTerm, 17, 18, 28}) {
    BOOST_TEST(m.apply(Kill{"c", sig, false}) == ok());
    BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  }
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::stopped));
  BOOST_TEST(m.apply(Wait{"c"}) == exited(137, ""));
}

BOOST_AUTO_TEST_CASE(traps) {
  auto m = started({"trap", "TERM", "exit", "trap", "USR1", "print", "trap", "USR2", "ignore",
                    "print", "up", "sleep"});
  BOOST_TEST(m.apply(Kill{"c", kUsr1, false}) == ok());
  BOOST_TEST(m.apply(Kill{"c", kUsr2, false}) == ok());
  BOOST_TEST(m.apply(Kill{"c", kUsr1, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  BOOST_TEST(m.apply(Kill{"c", kTerm, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::stopped));
  BOOST_TEST(m.apply(Wait{"c"}) == exited(143, "up\nsignal SIGUSR1\nsignal SIGUSR1\n"));
}

BOOST_AUTO_TEST_CASE(a_trap_set_after_a_sleep_is_not_in_place) {
  // The program is blocked in the first `sleep`: the later trap has not run.
  auto m = started({"sleep", "trap", "TERM", "exit"});
  BOOST_TEST(m.apply(Kill{"c", kTerm, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
}

BOOST_AUTO_TEST_CASE(kill_of_a_stopped_container_is_refused) {
  auto m = started({"exit", "0"});
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == fail(ErrorKind::failed_precondition));
  BOOST_TEST(m.apply(Kill{"c", kTerm, true}) == fail(ErrorKind::failed_precondition));
}

BOOST_AUTO_TEST_CASE(signals_to_a_created_container_reach_runc_init) {
  for (int sig : {kHup, 2, 3, kTerm}) {
    OciModel m;
    BOOST_REQUIRE(m.apply(Create{"c", {"sleep"}}).ok());
    BOOST_TEST(m.apply(Kill{"c", sig, false}) == ok());
    BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::stopped));
    BOOST_TEST(m.apply(Wait{"c"}) == exited(2, ""));  // Go's exit(2)
  }
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{"c", {"print", "x"}}).ok());
  for (int sig : {kUsr1, kUsr2, 13, 14, 17, 18, 23, 28}) {
    BOOST_TEST(m.apply(Kill{"c", sig, false}) == ok());
    BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::created));
  }
  BOOST_TEST(m.apply(Start{"c"}) == ok());
  BOOST_TEST(m.apply(Wait{"c"}) == exited(0, "x\n"));
  OciModel k;
  BOOST_REQUIRE(k.apply(Create{"c", {"sleep"}}).ok());
  BOOST_TEST(k.apply(Kill{"c", kKill, true}) == ok());
  BOOST_TEST(k.apply(Wait{"c"}) == exited(137, ""));
}

BOOST_AUTO_TEST_CASE(pause_and_resume) {
  auto m = started({"sleep"});
  BOOST_TEST(m.apply(Resume{"c"}) == fail(ErrorKind::failed_precondition));  // running
  BOOST_TEST(m.apply(Pause{"c"}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::paused));
  BOOST_TEST(m.apply(Pause{"c"}) == fail(ErrorKind::failed_precondition));  // paused
  BOOST_TEST(m.apply(Resume{"c"}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == ok());
  BOOST_TEST(m.apply(Pause{"c"}) == fail(ErrorKind::failed_precondition));   // stopped
  BOOST_TEST(m.apply(Resume{"c"}) == fail(ErrorKind::failed_precondition));  // stopped
}

BOOST_AUTO_TEST_CASE(a_paused_created_container_resumes_to_created) {
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{"c", {"print", "x"}}).ok());
  BOOST_TEST(m.apply(Pause{"c"}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::paused));
  BOOST_TEST(m.apply(Start{"c"}) == fail(ErrorKind::failed_precondition));
  BOOST_TEST(m.apply(Resume{"c"}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::created));
  BOOST_TEST(m.apply(Start{"c"}) == ok());
  BOOST_TEST(m.apply(Wait{"c"}) == exited(0, "x\n"));
}

BOOST_AUTO_TEST_CASE(signals_wait_while_paused_and_run_highest_first_at_resume) {
  auto m =
      started({"trap", "USR1", "print", "trap", "USR2", "print", "trap", "HUP", "print", "sleep"});
  BOOST_REQUIRE(m.apply(Pause{"c"}).ok());
  for (int sig : {kHup, kUsr2, kUsr1, kUsr1}) BOOST_TEST(m.apply(Kill{"c", sig, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::paused));
  BOOST_TEST(m.container("c")->init.output == "");
  BOOST_TEST(m.apply(Resume{"c"}) == ok());
  BOOST_TEST(m.container("c")->init.output == "signal SIGUSR2\nsignal SIGUSR1\nsignal SIGHUP\n");
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
}

BOOST_AUTO_TEST_CASE(a_pending_exit_trap_with_a_higher_number_wins) {
  auto m = started({"trap", "USR1", "print", "trap", "TERM", "exit", "sleep"});
  BOOST_REQUIRE(m.apply(Pause{"c"}).ok());
  BOOST_TEST(m.apply(Kill{"c", kUsr1, false}) == ok());
  BOOST_TEST(m.apply(Kill{"c", kTerm, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::paused));
  BOOST_TEST(m.apply(Resume{"c"}) == ok());
  BOOST_TEST(m.apply(Wait{"c"}) == exited(143, ""));
}

BOOST_AUTO_TEST_CASE(sigkill_stops_a_paused_container_at_once) {
  auto m = started({"sleep"});
  BOOST_REQUIRE(m.apply(Pause{"c"}).ok());
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::stopped));
  BOOST_TEST(m.apply(Resume{"c"}) == fail(ErrorKind::failed_precondition));
  BOOST_TEST(m.apply(Wait{"c"}) == exited(137, ""));
  BOOST_TEST(m.apply(Delete{"c", false}) == ok());
}

BOOST_AUTO_TEST_CASE(kill_all_thaws_a_paused_container) {
  auto m = started({"trap", "USR1", "print", "sleep"});
  BOOST_REQUIRE(m.apply(Pause{"c"}).ok());
  BOOST_TEST(m.apply(Kill{"c", kUsr1, true}) == ok());
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  BOOST_TEST(m.container("c")->init.output == "signal SIGUSR1\n");
  OciModel k;
  BOOST_REQUIRE(k.apply(Create{"c", {"sleep"}}).ok());
  BOOST_REQUIRE(k.apply(Pause{"c"}).ok());
  BOOST_TEST(k.apply(Kill{"c", kTerm, true}) == ok());
  BOOST_TEST(k.apply(State{"c"}) == in(ContainerState::stopped));
}

BOOST_AUTO_TEST_CASE(delete_rules) {
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{"created", {"sleep"}}).ok());
  BOOST_TEST(m.apply(Delete{"created", false}) == ok());
  BOOST_TEST(!m.exists("created"));

  m = started({"sleep"}, "run");
  BOOST_TEST(m.apply(Delete{"run", false}) == fail(ErrorKind::failed_precondition));
  BOOST_REQUIRE(m.apply(Pause{"run"}).ok());
  BOOST_TEST(m.apply(Delete{"run", false}) == fail(ErrorKind::failed_precondition));
  BOOST_TEST(m.apply(Delete{"run", true}) == ok());
  BOOST_TEST(m.apply(State{"run"}) == fail(ErrorKind::not_found));

  m = started({"exit", "1"}, "stop");
  BOOST_TEST(m.apply(Delete{"stop", false}) == ok());
  // The id can be used again, with a fresh rootfs.
  BOOST_TEST(m.apply(Create{"stop", {"cat", "/tmp/x"}}) == ok());
  BOOST_TEST(m.apply(Start{"stop"}) == ok());
  BOOST_TEST(m.apply(Wait{"stop"}) == exited(1, ""));
}

BOOST_AUTO_TEST_CASE(exec_rules) {
  OciModel m;
  BOOST_REQUIRE(m.apply(Create{"c", {"sleep"}}).ok());
  BOOST_TEST(m.apply(Exec{"c", {"print", "in-created"}, false}) == exited(0, "in-created\n"));
  BOOST_REQUIRE(m.apply(Start{"c"}).ok());
  BOOST_TEST(m.apply(Exec{"c", {"write", "/tmp/x", "hi", "exit", "7"}, false}) == exited(7, ""));
  BOOST_TEST(m.apply(Exec{"c", {"cat", "/tmp/x"}, false}) == exited(0, "hi"));
  BOOST_TEST(m.apply(Exec{"c", {"bogus"}, false}) == exited(2, ""));
  BOOST_TEST(m.apply(Exec{"c", {"sleep", "1", "print", "late"}, false}) == exited(0, "late\n"));
  BOOST_TEST(m.apply(Exec{"c", {"sleep"}, false}) == fail(ErrorKind::unavailable));
  BOOST_REQUIRE(m.apply(Pause{"c"}).ok());
  BOOST_TEST(m.apply(Exec{"c", {"exit", "0"}, false}) == fail(ErrorKind::failed_precondition));
  BOOST_REQUIRE(m.apply(Kill{"c", kKill, false}).ok());
  BOOST_TEST(m.apply(Exec{"c", {"exit", "0"}, false}) == fail(ErrorKind::failed_precondition));
}

BOOST_AUTO_TEST_CASE(detached_execs_follow_default_signal_actions_and_die_with_init) {
  auto m = started({"sleep"});
  BOOST_TEST(m.apply(Exec{"c", {"sleep"}, true}) == ok());
  BOOST_TEST(m.apply(Exec{"c", {"trap", "TERM", "ignore", "sleep"}, true}) == ok());
  BOOST_TEST(m.apply(Kill{"c", kTerm, true}) == ok());
  const Container* c = m.container("c");
  BOOST_TEST((c->init.phase == Process::Phase::blocked));  // pid 1: ignored
  BOOST_TEST((c->execs[0].phase == Process::Phase::exited));
  BOOST_TEST(c->execs[0].exit_status == 143);
  BOOST_TEST((c->execs[1].phase == Process::Phase::blocked));
  BOOST_TEST(m.apply(Kill{"c", kKill, false}) == ok());
  BOOST_TEST(m.container("c")->execs[1].exit_status == 137);
}

BOOST_AUTO_TEST_CASE(wait_finishes_timed_sleeps_and_refuses_to_block) {
  auto m = started({"print", "a", "sleep", "2", "print", "b", "exit", "4"});
  BOOST_TEST(m.apply(State{"c"}) == in(ContainerState::running));
  BOOST_TEST(!m.wait_would_block("c"));
  BOOST_TEST(m.apply(Wait{"c"}) == exited(4, "a\nb\n"));

  auto blocked = started({"sleep", "1", "sleep"});
  const OciModel before = blocked;
  BOOST_TEST(blocked.wait_would_block("c"));
  BOOST_TEST(blocked.apply(Wait{"c"}) == fail(ErrorKind::unavailable));
  BOOST_TEST((blocked == before));

  OciModel created;
  BOOST_REQUIRE(created.apply(Create{"c", {"exit", "0"}}).ok());
  BOOST_TEST(created.apply(Wait{"c"}) == fail(ErrorKind::unavailable));
  BOOST_REQUIRE(created.apply(Start{"c"}).ok());
  BOOST_REQUIRE(created.apply(Pause{"c"}).ok() == false);  // already stopped
}

BOOST_AUTO_TEST_CASE(signal_numbers) {
  auto m = started({"sleep"});
  BOOST_TEST(m.apply(Kill{"c", 0, false}) == fail(ErrorKind::invalid_argument));
  BOOST_TEST(m.apply(Kill{"c", 65, false}) == fail(ErrorKind::invalid_argument));
  BOOST_TEST(m.apply(Kill{"c", kStop, false}) == fail(ErrorKind::not_implemented));
  BOOST_TEST(m.apply(Kill{"c", 40, false}) == fail(ErrorKind::not_implemented));
}

BOOST_AUTO_TEST_CASE(copies_are_independent_values) {
  auto a = started({"sleep"});
  OciModel b = a;
  BOOST_TEST((a == b));
  BOOST_REQUIRE(b.apply(Kill{"c", kKill, false}).ok());
  BOOST_TEST(!(a == b));
  BOOST_TEST(a.apply(State{"c"}) == in(ContainerState::running));
}

BOOST_AUTO_TEST_CASE(printing) {
  std::ostringstream os;
  os << OciOp{Kill{"c", kTerm, true}} << " | " << OciOp{Exec{"c", {"print", "x"}, true}} << " | "
     << exited(3, "a\n") << " | " << fail(ErrorKind::not_found);
  BOOST_TEST(os.str() ==
             "kill --all c SIGTERM | exec --detach c test_init print x | ok exit=3 output='a\n' | "
             "error not_found");
  BOOST_TEST(op_id(OciOp{Delete{"zz", true}}) == "zz");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace gantry::model::oci
