#include "runtime/registry/transfer/platform.h"

#include <boost/test/unit_test.hpp>

#include "runtime/image/media_types.h"

using namespace gantry;
using namespace gantry::runtime::registry::transfer;
namespace image = gantry::runtime::image;

namespace {

image::Descriptor entry(std::string os, std::string arch, std::string variant, char fill) {
  image::Descriptor d;
  d.media_type = std::string(image::media_types::kOciManifest);
  d.digest = Digest::of(std::string(1, fill));
  d.size = 1;
  d.platform = image::Platform{.architecture = arch, .os = os, .variant = variant};
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(platform)

BOOST_AUTO_TEST_CASE(parses_os_arch_variant) {
  auto p = parse_platform("linux/arm64/v8");
  BOOST_REQUIRE(p);
  BOOST_TEST(p->os == "linux");
  BOOST_TEST(p->architecture == "arm64");
  BOOST_TEST(p->variant == "v8");
  auto q = parse_platform("linux/amd64");
  BOOST_REQUIRE(q);
  BOOST_TEST(q->variant.empty());
  for (const char* bad : {"", "linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(parse_platform(bad).error().kind() == ErrorKind::invalid_argument);
    }
  }
}

BOOST_AUTO_TEST_CASE(selects_by_os_arch_and_prefers_exact_variant) {
  image::ImageIndex index;
  index.manifests = {entry("linux", "amd64", "", 'a'), entry("linux", "arm", "v6", 'b'),
                     entry("linux", "arm", "v7", 'c'), entry("linux", "arm64", "", 'd'),
                     entry("linux", "arm64", "v8", 'e')};
  BOOST_TEST(select_manifest(index, *parse_platform("linux/amd64"))->digest == Digest::of("a"));
  BOOST_TEST(select_manifest(index, *parse_platform("linux/arm/v7"))->digest == Digest::of("c"));
  BOOST_TEST(select_manifest(index, *parse_platform("linux/arm64/v8"))->digest == Digest::of("e"));
  auto none = select_manifest(index, *parse_platform("windows/amd64"));
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().kind() == ErrorKind::not_found);
  BOOST_TEST(none.error().message().find("linux/arm/v7") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(skips_attestations) {
  image::ImageIndex index;
  auto att = entry("unknown", "unknown", "", 'x');
  auto other = entry("linux", "amd64", "", 'y');
  other.media_type = "application/vnd.example.thing";
  index.manifests = {att, other};
  BOOST_TEST(select_manifest(index, *parse_platform("linux/amd64")).error().kind() ==
             ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(current_platform_is_found) {
  image::ImageIndex index;
  image::Platform cur = image::current_platform();
  index.manifests = {entry("linux", "s390x", "", 'a'),
                     entry(cur.os, cur.architecture, cur.variant, 'b')};
  BOOST_TEST(select_manifest(index, cur)->digest == Digest::of("b"));
}

BOOST_AUTO_TEST_SUITE_END()
