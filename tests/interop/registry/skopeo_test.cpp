// skopeo against a freshly started gantry-registry: an OCI layout pushed and pulled back keeps
// every digest (manifest, config, layers) and the manifest bytes; a docker-archive pushed and
// pulled back into a docker-archive keeps its config and its layer diff ids (skopeo compresses
// the layers on the way up, so only the uncompressed identities are comparable there).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "tests/interop/registry/registry_interop.h"

using gantry::testing::TempDir;
using namespace gantry::testing::interop;

BOOST_AUTO_TEST_SUITE(skopeo_registry_interop)

BOOST_AUTO_TEST_CASE(oci_layout_round_trip_keeps_every_digest) {
  if (!require_peers({"skopeo", "umoci"})) return;
  TempDir dir{"gantry-interop-skopeo"};
  make_oci_layout(dir.path(), dir / "src", "v1");
  const LayoutImage src = read_layout(dir / "src");
  BOOST_REQUIRE_EQUAL(src.layer_digests.size(), 2u);
  auto registry = start_gantry_registry();
  const std::string ref = "docker://" + registry->host_port() + "/interop/busybox";

  auto push = run({"skopeo", "copy", "--dest-tls-verify=false",
                   "oci:" + (dir / "src").string() + ":v1", ref + ":v1"});
  BOOST_REQUIRE_MESSAGE(push.code == 0, "skopeo copy to gantry-registry: " + push.err);

  // The registry serves the manifest byte for byte, by tag and by digest.
  auto raw = run({"skopeo", "inspect", "--raw", "--tls-verify=false", ref + ":v1"});
  BOOST_REQUIRE_MESSAGE(raw.code == 0, "skopeo inspect --raw: " + raw.err);
  BOOST_TEST(raw.out == src.manifest_bytes);
  auto by_digest =
      run({"skopeo", "inspect", "--raw", "--tls-verify=false", ref + "@" + src.manifest_digest});
  BOOST_REQUIRE_MESSAGE(by_digest.code == 0, "skopeo inspect --raw by digest: " + by_digest.err);
  BOOST_TEST(by_digest.out == src.manifest_bytes);
  auto inspect = run({"skopeo", "inspect", "--tls-verify=false", ref + ":v1"});
  BOOST_REQUIRE_MESSAGE(inspect.code == 0, "skopeo inspect: " + inspect.err);
  auto info = nlohmann::json::parse(inspect.out);
  BOOST_TEST(info["Digest"].get<std::string>() == src.manifest_digest);
  BOOST_TEST(info["Layers"].size() == 2u);
  auto tags = run({"skopeo", "list-tags", "--tls-verify=false", ref});
  BOOST_REQUIRE_MESSAGE(tags.code == 0, "skopeo list-tags: " + tags.err);
  BOOST_TEST(nlohmann::json::parse(tags.out)["Tags"] == nlohmann::json::array({"v1"}));

  auto pull = run({"skopeo", "copy", "--src-tls-verify=false", ref + ":v1",
                   "oci:" + (dir / "dst").string() + ":v1"});
  BOOST_REQUIRE_MESSAGE(pull.code == 0, "skopeo copy from gantry-registry: " + pull.err);
  const LayoutImage dst = read_layout(dir / "dst");
  BOOST_TEST(dst.manifest_digest == src.manifest_digest);
  BOOST_TEST(dst.manifest_bytes == src.manifest_bytes);
  BOOST_TEST(dst.config_digest == src.config_digest);
  BOOST_TEST(dst.layer_digests == src.layer_digests, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(docker_archive_round_trip_keeps_config_and_diff_ids) {
  if (!require_peers({"skopeo", "umoci"})) return;
  TempDir dir{"gantry-interop-skopeo"};
  make_oci_layout(dir.path(), dir / "src", "v1");
  const fs::path a = dir / "a.tar";
  const fs::path b = dir / "b.tar";
  auto save = run({"skopeo", "copy", "oci:" + (dir / "src").string() + ":v1",
                   "docker-archive:" + a.string() + ":interop/archive:v1"});
  BOOST_REQUIRE_MESSAGE(save.code == 0, "skopeo copy to docker-archive: " + save.err);
  const ArchiveImage src = read_docker_archive(a, dir / "a");
  BOOST_REQUIRE_EQUAL(src.diff_ids.size(), 2u);
  BOOST_TEST(src.layer_tar_digests == src.diff_ids, boost::test_tools::per_element());

  auto registry = start_gantry_registry();
  const std::string ref = "docker://" + registry->host_port() + "/interop/archive:v1";
  auto push =
      run({"skopeo", "copy", "--dest-tls-verify=false", "docker-archive:" + a.string(), ref});
  BOOST_REQUIRE_MESSAGE(push.code == 0,
                        "skopeo copy docker-archive to gantry-registry: " + push.err);
  auto pull = run({"skopeo", "copy", "--src-tls-verify=false", ref,
                   "docker-archive:" + b.string() + ":interop/archive:v1"});
  BOOST_REQUIRE_MESSAGE(pull.code == 0,
                        "skopeo copy gantry-registry to docker-archive: " + pull.err);
  const ArchiveImage dst = read_docker_archive(b, dir / "b");
  BOOST_TEST(dst.config_digest == src.config_digest);
  BOOST_TEST(dst.diff_ids == src.diff_ids, boost::test_tools::per_element());
  BOOST_TEST(dst.layer_tar_digests == src.layer_tar_digests, boost::test_tools::per_element());
  // The manifest the registry holds is a Docker schema 2 one naming that config.
  auto raw = run({"skopeo", "inspect", "--raw", "--tls-verify=false", ref});
  BOOST_REQUIRE_MESSAGE(raw.code == 0, "skopeo inspect --raw: " + raw.err);
  auto m = nlohmann::json::parse(raw.out);
  BOOST_TEST(m["mediaType"].get<std::string>() ==
             "application/vnd.docker.distribution.manifest.v2+json");
  BOOST_TEST(m["config"]["digest"].get<std::string>() == src.config_digest);
}

BOOST_AUTO_TEST_SUITE_END()
