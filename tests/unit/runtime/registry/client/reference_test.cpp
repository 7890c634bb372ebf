// The reference grammar and docker's normalization, as a table.
#include <boost/test/unit_test.hpp>

#include "runtime/registry/client/reference.h"

namespace rc = gantry::runtime::registry;

namespace {
const std::string kHex(64, 'a');
}

BOOST_AUTO_TEST_SUITE(registry_reference)

BOOST_AUTO_TEST_CASE(accepted_references_normalize) {
  struct Row {
    std::string in, full;
  };
  const std::vector<Row> rows = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox", "docker.io/library/busybox:latest"},
      {"user/app", "docker.io/user/app:latest"},
      {"localhost/app", "localhost/app:latest"},
      {"localhost:5000/a/b:v1", "localhost:5000/a/b:v1"},
      {"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"},
      {"ghcr.io/o/r@sha256:" + kHex, "ghcr.io/o/r@sha256:" + kHex},
      {"ghcr.io/o/r:t@sha256:" + kHex, "ghcr.io/o/r:t@sha256:" + kHex},
      {"[::1]:5000/x", "[::1]:5000/x:latest"},
      {"a/b.c-d_e__f---g", "docker.io/a/b.c-d_e__f---g:latest"},
  };
  for (const auto& r : rows) {
    auto ref = rc::parse_reference(r.in);
    BOOST_REQUIRE_MESSAGE(ref.has_value(), r.in + ": " + (ref ? "" : ref.error().message()));
    BOOST_TEST(rc::to_string(*ref) == r.full, r.in);
    BOOST_TEST((*rc::parse_reference(rc::to_string(*ref)) == *ref), r.in);
  }
  auto d = rc::parse_reference("x@sha256:" + kHex);
  BOOST_TEST(d->manifest_reference() == "sha256:" + kHex);
  BOOST_TEST(!d->tag.has_value());
  BOOST_TEST(rc::parse_reference("x")->manifest_reference() == "latest");
  BOOST_TEST(rc::parse_reference("localhost:5000/a/b:v1")->repository == "a/b");
}

BOOST_AUTO_TEST_CASE(rejected_references_name_the_part) {
  struct Row {
    std::string in, part;
  };
  const std::vector<Row> rows = {
      {"", "reference"},
      {"Busybox", "lowercase"},
      {"busybox:", "tag"},
      {"busybox:a:b", "repository"},
      {"x:" + std::string(129, 'a'), "tag"},
      {"x@sha256:abc", "digest"},
      {"x@md5:" + kHex, "digest"},
      {"a..b/c", "registry"},
      {"localhost:port/x", "registry"},
      {"a//b", "repository"},
      {"x/", "repository"},
      {"-a", "repository"},
      {"localhost:5000/" + std::string(250, 'a'), "255"},
  };
  for (const auto& r : rows) {
    auto ref = rc::parse_reference(r.in);
    BOOST_REQUIRE_MESSAGE(!ref.has_value(), r.in + " should be refused");
    BOOST_TEST(ref.error().kind() == gantry::ErrorKind::invalid_argument);
    BOOST_TEST(ref.error().message().find(r.part) != std::string::npos,
               r.in << ": " << ref.error().message());
  }
}

BOOST_AUTO_TEST_SUITE_END()
