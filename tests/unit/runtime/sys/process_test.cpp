#include "runtime/sys/process.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "tests/support/temp_dir.h"

using namespace gantry;
namespace sys = gantry::runtime::sys;
namespace fs = std::filesystem;

namespace {

// What failed, for a message built whether or not the check passes.
template <class T>
std::string why(const Result<T>& r) {
  return r ? std::string() : r.error().to_string();
}
int64_t elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}
}  // namespace

BOOST_AUTO_TEST_CASE(run_captures_output_and_exit_code) {
  auto r = sys::run({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5000);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->status.exited);
  BOOST_TEST(r->status.exit_code == 3);
  BOOST_TEST(!r->status.success());
  BOOST_TEST(r->stdout_text == "out\n");
  BOOST_TEST(r->stderr_text == "err\n");
  BOOST_TEST(r->status.describe() == "exit code 3");
}

BOOST_AUTO_TEST_CASE(killed_by_signal_is_reported) {
  auto r = sys::run({"sh", "-c", "kill -TERM $$"}, 5000);
  BOOST_REQUIRE(r);
  BOOST_TEST(!r->status.exited);
  BOOST_TEST(r->status.describe() == "killed by signal SIGTERM");
}

BOOST_AUTO_TEST_CASE(timeout_kills_and_reports_unavailable) {
  auto start = std::chrono::steady_clock::now();
  auto r = sys::run({"sleep", "10"}, 200);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::unavailable);
  BOOST_TEST(elapsed_ms(start) < 5000);
}

BOOST_AUTO_TEST_CASE(daemonized_grandchild_does_not_block_the_wait) {
  // The grandchild keeps stdout open; the wait ends when the child exits.
  auto start = std::chrono::steady_clock::now();
  auto r = sys::run({"sh", "-c", "sleep 3 & echo started"}, 5000);
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status.success());
  BOOST_TEST(elapsed_ms(start) < 2000);
}

BOOST_AUTO_TEST_CASE(missing_program_is_not_found) {
  auto r = sys::run({"/nonexistent/program"}, 1000);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::not_found);
  auto r2 = sys::run({"no-such-program-gantry"}, 1000);
  BOOST_REQUIRE(!r2);
  BOOST_TEST(r2.error().kind() == ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(wait_pid_exit_of_a_gone_pid_returns_at_once) {
  auto child = sys::spawn({"true"});
  BOOST_REQUIRE(child);
  pid_t pid = child->pid();
  BOOST_REQUIRE(sys::wait(*child, 5000));
  BOOST_TEST(bool(sys::wait_pid_exit(pid, 100)));
}

BOOST_AUTO_TEST_CASE(find_program_honours_env_then_gantry_bin_then_path) {
  testing::TempDir tmp;
  fs::path prog = tmp / "gantry-probe";
  {
    auto r = sys::run(
        {"sh", "-c", "printf '#!/bin/sh\\n' > " + prog.string() + " && chmod +x " + prog.string()},
        5000);
    BOOST_REQUIRE(r && r->status.success());
  }
  setenv("GANTRY_PROBE_BIN", prog.c_str(), 1);
  auto a = sys::find_program("gantry-probe", "GANTRY_PROBE_BIN");
  BOOST_REQUIRE(a);
  BOOST_TEST(*a == prog);
  unsetenv("GANTRY_PROBE_BIN");
  setenv("GANTRY_BIN", tmp.path().c_str(), 1);
  auto b = sys::find_program("gantry-probe", "GANTRY_PROBE_BIN");
  BOOST_REQUIRE(b);
  BOOST_TEST(*b == prog);
  unsetenv("GANTRY_BIN");
  auto c = sys::find_program("gantry-probe", "GANTRY_PROBE_BIN");
  BOOST_REQUIRE(!c);
  BOOST_TEST(c.error().kind() == ErrorKind::not_found);
  auto d = sys::find_program("sh", "");
  BOOST_TEST(bool(d));
}
