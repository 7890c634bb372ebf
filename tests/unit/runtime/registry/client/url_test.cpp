#include "runtime/registry/client/url.h"

#include <boost/test/unit_test.hpp>

namespace rc = gantry::runtime::registry;

BOOST_AUTO_TEST_SUITE(registry_url)

BOOST_AUTO_TEST_CASE(parse_and_print) {
  auto u = rc::parse_url("https://ghcr.io/v2/?x=1");
  BOOST_REQUIRE(u.has_value());
  BOOST_TEST(u->tls);
  BOOST_TEST(u->host == "ghcr.io");
  BOOST_TEST(u->port == "443");
  BOOST_TEST(u->target == "/v2/?x=1");
  BOOST_TEST(u->str() == "https://ghcr.io/v2/?x=1");
  auto l = rc::parse_url("http://127.0.0.1:5000");
  BOOST_TEST(l->authority() == "127.0.0.1:5000");
  BOOST_TEST(l->target == "/");
  BOOST_TEST(rc::parse_url("http://[::1]:5000/x")->authority() == "[::1]:5000");
  BOOST_TEST(!rc::parse_url("ftp://x").has_value());
  BOOST_TEST(!rc::parse_url("http://a b/").has_value());
  BOOST_TEST(!rc::parse_url("http://host:port/").has_value());
}

BOOST_AUTO_TEST_CASE(locations_and_queries) {
  auto base = *rc::parse_url("http://127.0.0.1:5000");
  BOOST_TEST(rc::resolve_location(base, "/v2/a/blobs/uploads/u?_state=s")->str() ==
             "http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=s");
  BOOST_TEST(rc::resolve_location(base, "https://cdn.example/blob")->host == "cdn.example");
  BOOST_TEST(!rc::resolve_location(base, "relative").has_value());
  BOOST_TEST(rc::with_query("/v2/a/blobs/uploads/", "digest", "sha256:ab") ==
             "/v2/a/blobs/uploads/?digest=sha256%3Aab");
  BOOST_TEST(rc::with_query("/u?_state=s", "digest", "x y") == "/u?_state=s&digest=x%20y");
  BOOST_TEST(rc::escape_path("a/b c") == "a/b%20c");
}

BOOST_AUTO_TEST_CASE(registry_endpoints) {
  BOOST_TEST(rc::registry_base_url("docker.io", std::nullopt)->str() ==
             "https://registry-1.docker.io/");
  BOOST_TEST(rc::registry_base_url("localhost:5000", std::nullopt)->str() ==
             "http://localhost:5000/");
  BOOST_TEST(rc::registry_base_url("127.0.0.1:5000", false)->tls);
  BOOST_TEST(!rc::registry_base_url("ghcr.io", true)->tls);
  BOOST_TEST(rc::is_loopback_host("127.1.2.3"));
  BOOST_TEST(rc::is_loopback_host("[::1]:5000"));
  BOOST_TEST(!rc::is_loopback_host("10.0.0.1:5000"));
  BOOST_TEST(!rc::is_loopback_host("127.example.com"));
}

BOOST_AUTO_TEST_SUITE_END()
