#include "runtime/image/manifest.h"

#include <boost/test/unit_test.hpp>
#include <string>

#include "runtime/image/media_types.h"

using namespace gantry::runtime::image;
using gantry::Digest;
using gantry::ErrorKind;

namespace {

const std::string kD1 = Digest::of("one").str();
const std::string kD2 = Digest::of("two").str();

std::string manifest_text(const std::string& layer_fields) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kD1 +
         R"(","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)" +
         layer_fields + "}]}";
}

template <class T>
void expect_invalid(const gantry::Result<T>& r, const std::string& needle) {
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST_CONTEXT(r.error().message()) {
    BOOST_TEST(r.error().message().find(needle) != std::string::npos);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(parses_an_oci_manifest) {
  auto m = parse_manifest(
      manifest_text(R"("digest":")" + kD2 + R"(","size":20,"annotations":{"a":"b"},"urls":["u"])"));
  BOOST_REQUIRE(m);
  BOOST_TEST(m->schema_version == 2);
  BOOST_TEST(m->media_type == media_types::kOciManifest);
  BOOST_TEST(m->config.digest.str() == kD1);
  BOOST_TEST(m->config.size == 10);
  BOOST_REQUIRE(m->layers.size() == 1u);
  BOOST_TEST(m->layers[0].size == 20);
  BOOST_TEST(m->layers[0].annotations.at("a") == "b");
  BOOST_TEST(m->layers[0].urls.at(0) == "u");
}

BOOST_AUTO_TEST_CASE(to_json_is_canonical_and_round_trips) {
  auto m = parse_manifest(manifest_text(R"("size":20,"digest":")" + kD2 + R"(")"));
  BOOST_REQUIRE(m);
  std::string text = to_json(*m);
  // keys sorted, compact
  BOOST_TEST(text.find(' ') == std::string::npos);
  BOOST_TEST(text.rfind(R"({"config":{"digest":)", 0) == 0);
  BOOST_TEST(text.find(R"("schemaVersion":2})") != std::string::npos);
  auto again = parse_manifest(text);
  BOOST_REQUIRE(again);
  BOOST_TEST((*again == *m));
  BOOST_TEST(to_json(*again) == text);
}

BOOST_AUTO_TEST_CASE(manifest_errors_name_field_and_reason) {
  expect_invalid(parse_manifest(manifest_text(R"("size":20)")), "'layers[0].digest': missing");
  expect_invalid(parse_manifest(manifest_text(R"("digest":"sha256:xyz","size":20)")),
                 "'layers[0].digest': bad digest");
  expect_invalid(parse_manifest(manifest_text(R"("digest":")" + kD2 + R"(","size":-3)")),
                 "'layers[0].size': negative");
  expect_invalid(parse_manifest(manifest_text(R"("digest":")" + kD2 + R"(","size":"3")")),
                 "'layers[0].size': want an integer, got string");
  expect_invalid(parse_manifest(manifest_text(R"("digest":")" + kD2 + R"(","size":1.5)")),
                 "'layers[0].size': want an integer");
  expect_invalid(
      parse_manifest(manifest_text(R"("digest":")" + kD2 + R"(","size":18446744073709551615)")),
      "out of range");
  expect_invalid(parse_manifest(R"({"schemaVersion":1,"config":{},"layers":[]})"),
                 "'schemaVersion': must be 2, got 1");
  expect_invalid(parse_manifest(R"({"config":{},"layers":[]})"), "'schemaVersion': missing");
  expect_invalid(parse_manifest(R"({"schemaVersion":2,"layers":[]})"), "'config': missing");
  expect_invalid(parse_manifest("[1,2]"), "want a JSON object, got array");
  expect_invalid(parse_manifest("{"), "not valid JSON");
  expect_invalid(parse_manifest(R"({"schemaVersion":2,"manifests":[]})"), "is an image index");
  expect_invalid(
      parse_manifest(R"({"schemaVersion":2,"mediaType":"text/plain","config":{},"layers":[]})"),
      "'mediaType': 'text/plain' is not a manifest media type");
}

BOOST_AUTO_TEST_CASE(both_manifest_and_index_refused) {
  std::string both = R"({"schemaVersion":2,"manifests":[],"config":{"mediaType":"x","digest":")" +
                     kD1 + R"(","size":1},"layers":[]})";
  expect_invalid(parse_manifest(both), "both");
  expect_invalid(parse_index(both), "both");
  expect_invalid(parse_manifest_or_index(both), "both");
}

BOOST_AUTO_TEST_CASE(deep_nesting_refused) {
  std::string deep =
      R"({"schemaVersion":2,"annotations":)" + std::string(200, '[') + std::string(200, ']') + "}";
  expect_invalid(parse_manifest(deep), "nested deeper");
}

BOOST_AUTO_TEST_CASE(parses_an_index_with_platforms) {
  std::string text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
      R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("digest":")" +
      kD1 + R"(","size":5,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]})";
  auto i = parse_index(text);
  BOOST_REQUIRE(i);
  BOOST_REQUIRE(i->manifests.size() == 1u);
  BOOST_REQUIRE(i->manifests[0].platform.has_value());
  BOOST_TEST(to_string(*i->manifests[0].platform) == "linux/arm64/v8");
  auto again = parse_index(to_json(*i));
  BOOST_REQUIRE(again);
  BOOST_TEST((*again == *i));
  auto either = parse_manifest_or_index(text);
  BOOST_REQUIRE(either);
  BOOST_TEST(std::holds_alternative<ImageIndex>(*either));
  expect_invalid(parse_index(R"({"schemaVersion":2,"manifests":[{"digest":")" + kD1 +
                             R"(","size":1,"mediaType":"m","platform":{"os":"linux"}}]})"),
                 "'manifests[0].platform.architecture': missing");
}

BOOST_AUTO_TEST_CASE(parses_a_docker_config_keeping_what_it_does_not_interpret) {
  std::string text =
      R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",)"
      R"("config":{"User":"1000","Env":["PATH=/bin"],"Cmd":["sh"],"Entrypoint":null,)"
      R"("WorkingDir":"/w","Labels":{"k":"v"},"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGTERM"},)"
      R"("rootfs":{"type":"layers","diff_ids":[")" +
      kD1 + R"("]},"history":[{"created_by":"RUN x","empty_layer":true}],"docker_version":"24"})";
  auto c = parse_config(text);
  BOOST_REQUIRE(c);
  BOOST_REQUIRE(c->config.has_value());
  BOOST_TEST(c->config->user == "1000");
  BOOST_TEST(c->config->env.at(0) == "PATH=/bin");
  BOOST_TEST(c->config->cmd.value().at(0) == "sh");
  BOOST_TEST(!c->config->entrypoint.has_value());
  BOOST_TEST(c->config->labels.at("k") == "v");
  BOOST_TEST(c->config->other.contains("ExposedPorts"));
  BOOST_TEST(c->other.at("docker_version") == "24");
  BOOST_TEST(c->rootfs.diff_ids.at(0).str() == kD1);
  BOOST_TEST(c->history.at(0).empty_layer);
  std::string out = to_json(*c);
  BOOST_TEST(out.find(R"("ExposedPorts":{"80/tcp":{}})") != std::string::npos);
  auto again = parse_config(out);
  BOOST_REQUIRE(again);
  BOOST_TEST((*again == *c));
}

BOOST_AUTO_TEST_CASE(config_errors) {
  expect_invalid(parse_config(R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[]}})"),
                 "'architecture': missing");
  expect_invalid(
      parse_config(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}})"),
      "'rootfs.type': must be \"layers\"");
  expect_invalid(
      parse_config(
          R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["nope"]}})"),
      "'rootfs.diff_ids[0]': bad digest");
  expect_invalid(
      parse_config(
          R"({"architecture":"amd64","os":"linux","config":{"Env":"A=1"},"rootfs":{"type":"layers","diff_ids":[]}})"),
      "'config.Env': want an array of strings, got string");
  expect_invalid(
      parse_config(
          R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"x":1e999})"),
      "");
}

BOOST_AUTO_TEST_CASE(descriptor_round_trip) {
  Descriptor d;
  d.media_type = std::string(media_types::kOciLayerTarZstd);
  d.digest = Digest::of("x");
  d.size = 1;
  d.platform = Platform{"arm", "linux", "v7", "", {"f"}};
  d.artifact_type = "a/b";
  auto back = parse_descriptor(to_json(d));
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == d));
}
