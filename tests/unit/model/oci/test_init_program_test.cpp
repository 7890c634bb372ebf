#include "model/oci/test_init_program.h"

#include <boost/test/unit_test.hpp>

namespace gantry::model::oci {
namespace {

Program parse_ok(const std::vector<std::string>& args) {
  auto p = parse_test_init(args);
  BOOST_REQUIRE_MESSAGE(bool(p), (p ? std::string() : p.error().message()));
  return *p;
}

void expect_bad(const std::vector<std::string>& args) {
  auto p = parse_test_init(args);
  BOOST_REQUIRE(!p.has_value());
  BOOST_TEST(p.error().kind() == ErrorKind::invalid_argument);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(test_init_program)

BOOST_AUTO_TEST_CASE(every_command_parses) {
  auto p = parse_ok({"print",  "hello", "write", "/data/x", "hi",    "cat",  "/data/x", "trap",
                     "TERM",   "exit",  "trap",  "SIGUSR1", "print", "trap", "2",       "ignore",
                     "report", "sleep", "3",     "sleep",   "exit",  "7"});
  BOOST_REQUIRE_EQUAL(p.size(), 10u);
  BOOST_TEST((p[0].verb == Verb::print && p[0].text == "hello"));
  BOOST_TEST((p[1].verb == Verb::write && p[1].path == "/data/x" && p[1].text == "hi"));
  BOOST_TEST((p[2].verb == Verb::cat && p[2].path == "/data/x"));
  BOOST_TEST((p[3].verb == Verb::trap && p[3].number == 15 && p[3].action == TrapAction::exit));
  BOOST_TEST((p[4].number == 10 && p[4].action == TrapAction::print));
  BOOST_TEST((p[5].number == 2 && p[5].action == TrapAction::ignore));
  BOOST_TEST((p[6].verb == Verb::report));
  BOOST_TEST((p[7].verb == Verb::sleep && p[7].number == 3));
  BOOST_TEST((p[8].verb == Verb::sleep && p[8].number == -1));
  BOOST_TEST((p[9].verb == Verb::exit && p[9].number == 7));
}

BOOST_AUTO_TEST_CASE(sleep_takes_only_a_number) {
  auto p = parse_ok({"sleep", "print", "x"});
  BOOST_REQUIRE_EQUAL(p.size(), 2u);
  BOOST_TEST(p[0].number == -1);
  BOOST_TEST(parse_ok({"sleep"})[0].number == -1);
  BOOST_TEST(parse_ok({"sleep", "0"})[0].number == 0);
}

BOOST_AUTO_TEST_CASE(empty_program_is_valid) {
  BOOST_TEST(parse_ok({}).empty());
}

BOOST_AUTO_TEST_CASE(bad_arguments) {
  expect_bad({"bogus"});
  expect_bad({"exit"});
  expect_bad({"exit", "256"});
  expect_bad({"exit", "-1"});
  expect_bad({"exit", "x"});
  expect_bad({"print"});
  expect_bad({"write", "/x"});
  expect_bad({"write", "", "text"});
  expect_bad({"cat"});
  expect_bad({"cat", ""});
  expect_bad({"trap", "TERM"});
  expect_bad({"trap", "NOPE", "exit"});
  expect_bad({"trap", "KILL", "exit"});
  expect_bad({"trap", "STOP", "print"});
  expect_bad({"trap", "TERM", "dance"});
  expect_bad({"print", "ok", "exit"});  // a later error: nothing runs
}

BOOST_AUTO_TEST_CASE(signal_names) {
  BOOST_TEST(signal_from_string("TERM") == 15);
  BOOST_TEST(signal_from_string("sigterm") == 15);
  BOOST_TEST(signal_from_string("9") == 9);
  BOOST_TEST(signal_from_string("0") == 0);
  BOOST_TEST(signal_from_string("65") == 0);
  BOOST_TEST(signal_from_string("FOO") == 0);
  BOOST_TEST(signal_name(10) == "SIGUSR1");
  BOOST_TEST(signal_name(40) == "SIG40");
}

BOOST_AUTO_TEST_CASE(report_lines_are_normalized) {
  BOOST_TEST(normalize_output("a\n{\"pid\":1}\nb\n") == "a\n<report>\nb\n");
  BOOST_TEST(normalize_output("{x}") == "<report>");
  BOOST_TEST(normalize_output("") == "");
  BOOST_TEST(normalize_output("{ not a report") == "{ not a report");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace gantry::model::oci
