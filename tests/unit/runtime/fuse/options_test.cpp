#include "runtime/fuse/options.h"

#include <boost/test/unit_test.hpp>

namespace gantry::runtime::fuse {
namespace {

BOOST_AUTO_TEST_CASE(parses_the_contract) {
  auto o = parse_args(
      {"-o", "lowerdir=/a:/b\\:c:/d,upperdir=/u", "--pid-file", "/p", "--foreground", "/m"});
  BOOST_REQUIRE(o);
  BOOST_TEST(o->lowers.size() == 3u);
  BOOST_TEST(o->lowers[1].string() == "/b:c");
  BOOST_TEST(o->upper->string() == "/u");
  BOOST_TEST(o->pid_file->string() == "/p");
  BOOST_TEST(o->foreground);
  BOOST_TEST(o->writable());
  BOOST_TEST(o->mountpoint.string() == "/m");
}

BOOST_AUTO_TEST_CASE(read_only_forms) {
  auto ro = parse_args({"-o", "lowerdir=/a,upperdir=/u,ro", "/m"});
  BOOST_REQUIRE(ro);
  BOOST_TEST(!ro->writable());
  auto no_upper = parse_args({"-o", "lowerdir=/a", "/m"});
  BOOST_REQUIRE(no_upper);
  BOOST_TEST(!no_upper->writable());
}

BOOST_AUTO_TEST_CASE(rejects_bad_input) {
  BOOST_TEST(parse_args({"/m"}).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o", "upperdir=/u", "/m"}).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o", "lowerdir=/a::/b", "/m"}).error().kind() ==
             ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o", "lowerdir=/a,bogus", "/m"}).error().kind() ==
             ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o", "lowerdir=/a"}).error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o", "lowerdir=/a", "/m", "/n"}).error().kind() ==
             ErrorKind::invalid_argument);
  BOOST_TEST(parse_args({"-o"}).error().kind() == ErrorKind::invalid_argument);
}

BOOST_AUTO_TEST_CASE(validate_reports_missing_dirs) {
  Options o;
  o.lowers = {"/nonexistent-gantry-layer"};
  o.mountpoint = "/";
  auto r = validate(o);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::not_found);
  BOOST_TEST(r.error().message().find("nonexistent-gantry-layer") != std::string::npos);
}

}  // namespace
}  // namespace gantry::runtime::fuse
