#include "runtime/image/image_ref.h"

#include <boost/test/unit_test.hpp>

using namespace gantry::runtime::image;
using gantry::ErrorKind;

BOOST_AUTO_TEST_CASE(oci_prefix_and_bare_mean_the_same) {
  auto a = parse_image_ref("oci:/images/app:v1");
  auto b = parse_image_ref("/images/app:v1");
  BOOST_REQUIRE(a && b);
  BOOST_TEST((*a == *b));
  BOOST_TEST((a->transport == Transport::oci));
  BOOST_TEST(a->layout_dir == "/images/app");
  BOOST_TEST(a->tag == "v1");
}

BOOST_AUTO_TEST_CASE(tag_defaults_to_latest) {
  auto a = parse_image_ref("oci:layout");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->layout_dir == "layout");
  BOOST_TEST(a->tag == "latest");
  auto b = parse_image_ref("./layout");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->tag == "latest");
}

BOOST_AUTO_TEST_CASE(splits_at_the_last_colon) {
  auto a = parse_image_ref("oci:/tmp/a:b:v2");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->layout_dir == "/tmp/a:b");
  BOOST_TEST(a->tag == "v2");
}

BOOST_AUTO_TEST_CASE(empty_parts_refused) {
  for (const char* text : {"", "oci:", "oci::t", ":t", "oci:dir:", "d:", "docker://"}) {
    auto r = parse_image_ref(text);
    BOOST_TEST_CONTEXT(text) {
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_tags_refused) {
  for (const char* text : {"d:-x", "d:x-", "d:a..b", "d:a b", "d:a//b", "d:/a"}) {
    auto r = parse_image_ref(text);
    BOOST_TEST_CONTEXT(text) {
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
    }
  }
  BOOST_TEST(is_valid_tag("v1.0-rc1"));
  BOOST_TEST(is_valid_tag("a--b"));
  BOOST_TEST(is_valid_tag("lib/alpine"));
  BOOST_TEST(is_valid_tag("A_b+c@d"));
  BOOST_TEST(!is_valid_tag("a---b"));
}

BOOST_AUTO_TEST_CASE(docker_transport_recognised) {
  auto r = parse_image_ref("docker://docker.io/library/alpine:3.19");
  BOOST_REQUIRE(r);
  BOOST_TEST((r->transport == Transport::docker));
  BOOST_TEST(r->remote == "docker.io/library/alpine:3.19");
  BOOST_TEST(to_string(*r) == "docker://docker.io/library/alpine:3.19");
}

BOOST_AUTO_TEST_CASE(docker_archive_splits_at_the_first_colon) {
  auto a = parse_image_ref("docker-archive:/tmp/app.tar:example.com/app:v1");
  BOOST_REQUIRE(a);
  BOOST_TEST((a->transport == Transport::docker_archive));
  BOOST_TEST(a->archive_path == "/tmp/app.tar");
  BOOST_TEST(a->archive_ref == "example.com/app:v1");
  auto b = parse_image_ref("docker-archive:app.tar");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->archive_path == "app.tar");
  BOOST_TEST(b->archive_ref.empty());
  auto c = parse_image_ref("docker-archive:app.tar:@1");
  BOOST_REQUIRE(c);
  BOOST_TEST(c->archive_ref == "@1");
}

BOOST_AUTO_TEST_CASE(docker_archive_bad_parts_refused) {
  for (const char* text : {"docker-archive:", "docker-archive::x:1", "docker-archive:a.tar:",
                           "docker-archive:a.tar:@", "docker-archive:a.tar:@x",
                           "docker-archive:a.tar:a b", "docker-archive:a.tar:x@sha256:00"}) {
    auto r = parse_image_ref(text);
    BOOST_TEST_CONTEXT(text) {
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
    }
  }
}

BOOST_AUTO_TEST_CASE(other_transports_not_implemented) {
  for (const char* text :
       {"oci-archive:x.tar:t", "dir:/x", "containers-storage:alpine", "docker-daemon:alpine:1"}) {
    auto r = parse_image_ref(text);
    BOOST_TEST_CONTEXT(text) {
      BOOST_REQUIRE(!r.has_value());
      BOOST_TEST(r.error().kind() == ErrorKind::not_implemented);
    }
  }
}

BOOST_AUTO_TEST_CASE(to_string_round_trips) {
  for (const char* text : {"oci:/x:y", "/a:b:c", "rel", "docker://x", "docker-archive:/a.tar",
                           "docker-archive:a.tar:app:v1", "docker-archive:a.tar:@2"}) {
    auto r = parse_image_ref(text);
    BOOST_REQUIRE(r);
    auto again = parse_image_ref(to_string(*r));
    BOOST_REQUIRE(again);
    BOOST_TEST((*again == *r));
  }
}
