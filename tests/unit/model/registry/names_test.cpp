// The name, tag and reference grammar of distribution-spec 1.1.
#include <boost/test/unit_test.hpp>

#include "model/api/registry_names.h"

using namespace gantry::api;
using gantry::api::RegistryErrorCode;

BOOST_AUTO_TEST_SUITE(registry_names)

BOOST_AUTO_TEST_CASE(repository_names_follow_the_grammar) {
  for (const char* good : {"a", "library/busybox", "a.b", "a_b", "a__b", "a-b", "a---b", "0",
                           "a/b/c/d", "x9.y8_z7-w6"})
    BOOST_CHECK_MESSAGE(valid_repository_name(good), good);
  for (const char* bad : {"", "A", "a/B", "/a", "a/", "a//b", ".a", "a.", "_a", "a_", "-a", "a-",
                          "a..b", "a._b", "a___b", "a b", "a:b", "a@b", "é"})
    BOOST_CHECK_MESSAGE(!valid_repository_name(bad), bad);
}

BOOST_AUTO_TEST_CASE(repository_names_are_at_most_255_characters) {
  BOOST_CHECK(valid_repository_name(std::string(255, 'a')));
  BOOST_CHECK(!valid_repository_name(std::string(256, 'a')));
}

BOOST_AUTO_TEST_CASE(tags_follow_the_grammar) {
  for (const char* good : {"latest", "v1.0", "_", "A", "a-b_c.d", "0"})
    BOOST_CHECK_MESSAGE(valid_tag(good), good);
  for (const char* bad : {"", ".a", "-a", "a/b", "a:b", "a b", "a@b"})
    BOOST_CHECK_MESSAGE(!valid_tag(bad), bad);
  BOOST_CHECK(valid_tag(std::string(128, 'a')));
  BOOST_CHECK(!valid_tag(std::string(129, 'a')));
}

BOOST_AUTO_TEST_CASE(references_are_tags_or_digests) {
  auto tag = parse_reference("v1", RegistryErrorCode::manifest_invalid);
  BOOST_REQUIRE(tag.has_value());
  BOOST_CHECK(std::get<Tag>(*tag).name == "v1");
  std::string d = gantry::Digest::of("x").str();
  auto dig = parse_reference(d, RegistryErrorCode::manifest_invalid);
  BOOST_REQUIRE(dig.has_value());
  BOOST_CHECK(std::get<gantry::Digest>(*dig).str() == d);
  auto bad_digest = parse_reference("sha256:abc", RegistryErrorCode::manifest_invalid);
  BOOST_REQUIRE(!bad_digest.has_value());
  BOOST_CHECK(bad_digest.error().code() == RegistryErrorCode::digest_invalid);
  auto other_algo =
      parse_reference("sha512:" + std::string(128, 'a'), RegistryErrorCode::manifest_unknown);
  BOOST_CHECK(!other_algo.has_value() &&
              other_algo.error().code() == RegistryErrorCode::digest_invalid);
  auto bad_tag = parse_reference(".x", RegistryErrorCode::manifest_unknown);
  BOOST_REQUIRE(!bad_tag.has_value());
  BOOST_CHECK(bad_tag.error().code() == RegistryErrorCode::manifest_unknown);
}

BOOST_AUTO_TEST_SUITE_END()
