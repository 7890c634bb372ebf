#include "runtime/registry/client/auth_challenge.h"

#include <boost/test/unit_test.hpp>

namespace rc = gantry::runtime::registry;

BOOST_AUTO_TEST_SUITE(registry_auth_challenge)

BOOST_AUTO_TEST_CASE(bearer_and_basic) {
  auto c = rc::parse_www_authenticate(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
      "scope=\"repository:library/busybox:pull\"");
  BOOST_REQUIRE_EQUAL(c.size(), 1u);
  BOOST_TEST(c[0].scheme == "bearer");
  BOOST_TEST(c[0].params.at("realm") == "https://auth.docker.io/token");
  BOOST_TEST(c[0].params.at("service") == "registry.docker.io");
  BOOST_TEST(c[0].params.at("scope") == "repository:library/busybox:pull");
  auto b = rc::parse_www_authenticate("Basic realm=\"Registry Realm\"");
  BOOST_REQUIRE_EQUAL(b.size(), 1u);
  BOOST_TEST(b[0].scheme == "basic");
  BOOST_TEST(b[0].params.at("realm") == "Registry Realm");
}

BOOST_AUTO_TEST_CASE(several_challenges_tokens_and_escapes) {
  auto c = rc::parse_www_authenticate(
      "Basic realm=x, BEARER Realm=\"a\\\"b\" , scope=\"repository:a:pull,push\", Negotiate");
  BOOST_REQUIRE_EQUAL(c.size(), 3u);
  BOOST_TEST(c[0].params.at("realm") == "x");
  BOOST_TEST(c[1].scheme == "bearer");
  BOOST_TEST(c[1].params.at("realm") == "a\"b");
  BOOST_TEST(c[1].params.at("scope") == "repository:a:pull,push");
  BOOST_TEST(c[2].scheme == "negotiate");
  BOOST_TEST(rc::parse_www_authenticate("").empty());
  BOOST_TEST(rc::parse_www_authenticate("Bearer realm=\"unterminated").size() == 1u);
}

BOOST_AUTO_TEST_CASE(base64_round_trip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "alice:secret", std::string("\0\xff", 2)}) {
    auto d = rc::base64_decode(rc::base64_encode(s));
    BOOST_REQUIRE(d.has_value());
    BOOST_TEST(*d == s);
  }
  BOOST_TEST(rc::base64_encode("alice:secret") == "YWxpY2U6c2VjcmV0");
  BOOST_TEST(!rc::base64_decode("a*b").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
