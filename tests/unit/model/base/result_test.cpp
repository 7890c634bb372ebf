#include "model/base/result.h"

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <string>

#include "model/base/digest.h"
#include "model/base/env.h"

using namespace gantry;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return Error(ErrorKind::invalid_argument, "not positive");
  return v;
}
Result<int> doubled(int v) {
  GANTRY_ASSIGN_OR_RETURN_CTX(int x, parse_positive(v), "doubled");
  return 2 * x;
}
Result<void> check(int v) {
  GANTRY_TRY_CTX(doubled(v), "check " + std::to_string(v));
  return ok();
}
}  // namespace

BOOST_AUTO_TEST_CASE(result_carries_value_or_error) {
  auto good = doubled(4);
  BOOST_REQUIRE(good);
  BOOST_TEST(*good == 8);
  auto bad = doubled(-1);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(bad.error().message() == "doubled: not positive");
}

BOOST_AUTO_TEST_CASE(context_accumulates_outermost_first) {
  auto r = check(0);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().message() == "check 0: doubled: not positive");
  BOOST_TEST(check(3).has_value());
}

BOOST_AUTO_TEST_CASE(errno_maps_to_kind_and_prints_name) {
  Error e = errno_error(ENOENT, "open 'x'");
  BOOST_TEST(e.kind() == ErrorKind::not_found);
  BOOST_TEST(e.errno_value() == ENOENT);
  BOOST_TEST(e.to_string() == "open 'x': ENOENT (No such file or directory)");
  BOOST_TEST(errno_error(EEXIST, "").kind() == ErrorKind::already_exists);
  BOOST_TEST(errno_error(EACCES, "").kind() == ErrorKind::permission_denied);
}

BOOST_AUTO_TEST_CASE(digest_of_known_strings) {
  BOOST_TEST(Digest::of("").str() ==
             "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(Digest::of("abc").hex() ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update(std::string_view("a"));
  h.update(std::string_view("bc"));
  BOOST_TEST(h.finish() == Digest::of("abc"));
}

BOOST_AUTO_TEST_CASE(digest_parse_round_trips_and_rejects) {
  auto d = Digest::of("hello");
  auto parsed = Digest::parse(d.str());
  BOOST_REQUIRE(parsed);
  BOOST_TEST((*parsed == d));
  for (const char* bad : {"", "sha256:", "md5:abcd", "sha256:XYZ",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}) {
    auto r = Digest::parse(bad);
    BOOST_TEST(!r, bad);
    if (!r) BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(sim_env_is_reproducible_from_its_seed) {
  SimEnv a(42), b(42), c(43);
  BOOST_TEST(a.new_id() == b.new_id());
  BOOST_TEST(a.new_id().size() == 64u);
  BOOST_TEST(a.random_u64() != c.random_u64());
  int64_t t = a.now_ns();
  a.advance_ns(5);
  BOOST_TEST(a.now_ns() == t + 5);
}
