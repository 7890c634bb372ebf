// What the model reads in a manifest, and what it refuses (MANIFEST_INVALID, naming the field).
#include <boost/test/unit_test.hpp>

#include "model/api/registry_manifest.h"
#include "tests/conformance/registry/registry_fixtures.h"

using namespace gantry::api;
using gantry::Digest;
using gantry::api::RegistryErrorCode;
namespace api = gantry::api;
namespace fx = gantry::testing::registry;

namespace {

const std::string kOci(api::kOciManifestType);
const std::string kIdx(api::kOciIndexType);
const std::string kDocker(api::kDockerManifestType);
const std::string kList(api::kDockerManifestListType);

std::string desc(const std::string& media_type, const std::string& bytes) {
  return "{\"mediaType\":\"" + media_type + "\",\"digest\":\"" + fx::digest_of(bytes) +
         "\",\"size\":" + std::to_string(bytes.size()) + "}";
}

void check_invalid(const std::string& type, const std::string& body, const std::string& field) {
  auto m = parse_manifest(type, body);
  BOOST_REQUIRE_MESSAGE(!m.has_value(), body);
  BOOST_CHECK(m.error().code() == RegistryErrorCode::manifest_invalid);
  BOOST_CHECK_EQUAL(m.error().http_status(), 400);
  BOOST_CHECK_MESSAGE(m.error().message().find(field) != std::string::npos,
                      m.error().message() + " should name " + field);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_manifest)

BOOST_AUTO_TEST_CASE(an_image_manifest_names_its_config_and_layers) {
  fx::ImageSpec spec;
  spec.config = "cfg";
  spec.layers = {"l1", "l2"};
  spec.annotations = {{"k", "v"}};
  auto m = parse_manifest(kOci, fx::image_manifest(spec));
  BOOST_REQUIRE(m.has_value());
  BOOST_CHECK(m->kind == ManifestKind::image);
  BOOST_REQUIRE_EQUAL(m->blobs.size(), 3u);
  BOOST_CHECK(m->blobs[0] == Digest::of("cfg"));
  BOOST_CHECK(m->blobs[2] == Digest::of("l2"));
  BOOST_CHECK(!m->subject);
  BOOST_CHECK_EQUAL(m->artifact_type, std::string(fx::kConfigType));
  BOOST_CHECK(m->annotations.at("k") == "v");
}

BOOST_AUTO_TEST_CASE(artifact_type_field_wins_over_the_config_media_type) {
  fx::ImageSpec spec;
  spec.artifact_type = "application/x.sig";
  spec.subject = "some manifest";
  auto m = parse_manifest(kOci, fx::image_manifest(spec));
  BOOST_REQUIRE(m.has_value());
  BOOST_CHECK_EQUAL(m->artifact_type, "application/x.sig");
  BOOST_CHECK(m->subject == Digest::of("some manifest"));
}

BOOST_AUTO_TEST_CASE(an_index_names_its_children) {
  std::string body = fx::index_manifest({{kOci, "a"}, {kOci, "b"}}, api::kOciIndexType, "x/y");
  auto m = parse_manifest(kIdx, body);
  BOOST_REQUIRE(m.has_value());
  BOOST_CHECK(m->kind == ManifestKind::index);
  BOOST_CHECK(m->blobs.empty());
  BOOST_REQUIRE_EQUAL(m->manifests.size(), 2u);
  BOOST_CHECK(m->manifests[1] == Digest::of("b"));
  BOOST_CHECK_EQUAL(m->artifact_type, "x/y");
  BOOST_CHECK(
      parse_manifest(kList, fx::index_manifest({}, api::kDockerManifestListType)).has_value());
}

BOOST_AUTO_TEST_CASE(oci_media_type_field_may_be_absent_docker_may_not) {
  fx::ImageSpec spec;
  spec.write_media_type = false;
  BOOST_CHECK(parse_manifest(kOci, fx::image_manifest(spec)).has_value());
  spec.media_type = kDocker;
  check_invalid(kDocker, fx::image_manifest(spec), "mediaType");
  spec.write_media_type = true;
  BOOST_CHECK(parse_manifest(kDocker, fx::image_manifest(spec)).has_value());
}

BOOST_AUTO_TEST_CASE(refusals_name_the_field) {
  std::string cfg = desc(std::string(fx::kConfigType), "c");
  check_invalid("application/json", "{}", "media type");
  check_invalid(kOci, "{", "JSON");
  check_invalid(kOci, "[]", "object");
  check_invalid(kOci, "{\"schemaVersion\":1,\"config\":" + cfg + ",\"layers\":[]}",
                "schemaVersion");
  check_invalid(kOci, "{\"config\":" + cfg + ",\"layers\":[]}", "schemaVersion");
  check_invalid(
      kOci,
      "{\"schemaVersion\":2,\"mediaType\":\"" + kIdx + "\",\"config\":" + cfg + ",\"layers\":[]}",
      "differs");
  check_invalid(kOci, "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[],\"manifests\":[]}",
                "both");
  check_invalid(kIdx, "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", "both");
  check_invalid(kIdx, "{\"schemaVersion\":2,\"config\":" + cfg + "}", "config");
  check_invalid(kOci, "{\"schemaVersion\":2,\"layers\":[]}", "config");
  check_invalid(kOci, "{\"schemaVersion\":2,\"config\":" + cfg + "}", "layers");
  check_invalid(kOci, "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":{}}", "layers");
  check_invalid(kIdx, "{\"schemaVersion\":2}", "manifests");
  check_invalid(kOci,
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1},\"layers\":[]}",
                "config.digest");
  check_invalid(kOci,
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:ab\","
                "\"size\":1},\"layers\":[]}",
                "config.digest");
  check_invalid(kOci,
                "{\"schemaVersion\":2,\"config\":{\"digest\":\"" + fx::digest_of("c") +
                    "\",\"size\":1},\"layers\":[]}",
                "config.mediaType");
  check_invalid(kOci,
                "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" +
                    fx::digest_of("c") + "\",\"size\":-1},\"layers\":[]}",
                "config.size");
  check_invalid(kOci, "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[" + cfg + ",3]}",
                "layers[1]");
  check_invalid(
      kOci, "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[],\"annotations\":{\"a\":1}}",
      "annotations.a");
  check_invalid(kOci, "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[],\"subject\":{}}",
                "subject");
  check_invalid(kOci,
                "{\"schemaVersion\":2,\"config\":" + cfg + ",\"layers\":[],\"artifactType\":7}",
                "artifactType");
}

BOOST_AUTO_TEST_SUITE_END()
