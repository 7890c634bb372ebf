// Copies and unpacks between OCI layouts and docker-archives (no registry needed): digests kept
// where nothing changes form, layers converted where the destination wants another form, and
// failures that leave nothing tagged or half-written.
#include "runtime/registry/transfer/copy.h"

#include <boost/test/unit_test.hpp>

#include "runtime/image/media_types.h"
#include "runtime/registry/transfer/archive_endpoint.h"
#include "runtime/registry/transfer/docker_archive.h"
#include "runtime/registry/transfer/oci_endpoint.h"
#include "runtime/registry/transfer/unpack.h"
#include "runtime/unpack/unpacker.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/runtime/registry/transfer/transfer_fixture.h"

using namespace gantry;
using namespace gantry::runtime::registry::transfer;
using gantry::testing::TempDir;
namespace fs = std::filesystem;
namespace image = gantry::runtime::image;
namespace media_types = gantry::runtime::image::media_types;
namespace tt = gantry::testing::transfer;

namespace {

std::map<std::string, std::string> flatten(const fs::path& layout_dir, const std::string& tag,
                                           const fs::path& out) {
  auto layout = image::OciLayout::open(layout_dir);
  BOOST_REQUIRE(layout);
  auto loaded = layout->load_image(tag);
  BOOST_REQUIRE(loaded);
  auto r = runtime::unpack::flatten_image(*layout, *loaded, out);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  return tt::describe_tree(out);
}

Result<CopyReport> copy_from(const std::string& from_dir, const std::string& from_tag,
                             std::unique_ptr<ImageDestination> dst, CopyOptions options = {}) {
  auto src = open_oci_source(from_dir, from_tag);
  if (!src) return src.error();
  return copy_image(**src, *dst, options);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(copy)

BOOST_AUTO_TEST_CASE(oci_to_oci_keeps_the_manifest_digest) {
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "a", "v1", 3);
  auto dst = open_oci_destination((tmp / "b").string(), "copied");
  BOOST_REQUIRE(dst);
  auto r = copy_from((tmp / "a").string(), "v1", std::move(*dst));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_TEST(r->top_digest == desc.digest);
  BOOST_TEST(r->blobs_sent == 4u);
  auto b = image::OciLayout::open(tmp / "b");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->resolve("copied")->digest == desc.digest);
  // Again: everything is there already.
  auto again = open_oci_destination((tmp / "b").string(), "copied");
  auto r2 = copy_from((tmp / "a").string(), "v1", std::move(*again));
  BOOST_REQUIRE(r2);
  BOOST_TEST(r2->blobs_present == 4u);
  BOOST_TEST(r2->blobs_sent == 0u);
}

BOOST_AUTO_TEST_CASE(oci_to_archive_to_oci_keeps_config_and_trees) {
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "a", "v1", 3);
  std::string archive = (tmp / "img.tar").string();
  auto to_archive = open_archive_destination(archive, "example.com/app:v1");
  BOOST_REQUIRE(to_archive);
  auto r = copy_from((tmp / "a").string(), "v1", std::move(*to_archive));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));

  auto reader = DockerArchiveReader::open(archive);
  BOOST_REQUIRE(reader);
  BOOST_REQUIRE_EQUAL(reader->images().size(), 1u);
  BOOST_TEST(reader->images()[0].repo_tags == std::vector<std::string>{"example.com/app:v1"});
  auto a = image::OciLayout::open(tmp / "a");
  auto loaded = a->load_image("v1");
  BOOST_REQUIRE(loaded);
  // The image id (config digest) is the same.
  BOOST_TEST(reader->images()[0].config == loaded->manifest.config.digest.hex() + ".json");
  BOOST_TEST(reader->images()[0].layers.size() == 3u);

  auto src = open_archive_source(archive, "example.com/app:v1");
  BOOST_REQUIRE_MESSAGE(src.has_value(),
                        (src.has_value() ? std::string() : src.error().to_string()));
  auto back = open_oci_destination((tmp / "c").string(), "back");
  BOOST_REQUIRE(back);
  auto r2 = copy_image(**src, **back);
  BOOST_REQUIRE_MESSAGE(r2.has_value(), (r2.has_value() ? std::string() : r2.error().to_string()));
  auto c = image::OciLayout::open(tmp / "c");
  auto reloaded = c->load_image("back");
  BOOST_REQUIRE_MESSAGE(reloaded.has_value(),
                        (reloaded.has_value() ? std::string() : reloaded.error().to_string()));
  BOOST_TEST(reloaded->manifest.media_type == media_types::kDockerManifest);
  BOOST_TEST(reloaded->manifest.config.digest == loaded->manifest.config.digest);
  for (const auto& l : reloaded->manifest.layers) {
    BOOST_TEST(l.media_type == media_types::kDockerLayerGzip);
  }
  BOOST_TEST(flatten(tmp / "a", "v1", tmp / "u1") == flatten(tmp / "c", "back", tmp / "u2"));
  (void)desc;
}

BOOST_AUTO_TEST_CASE(unpack_from_a_source_equals_flatten) {
  TempDir tmp;
  tt::make_image(tmp.path(), tmp / "a", "v1", 4, 200000);
  auto src = open_oci_source((tmp / "a").string(), "v1");
  BOOST_REQUIRE(src);
  auto r = unpack_image(**src, tmp / "out");
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_TEST(r->layers.size() == 4u);
  BOOST_TEST(r->streamed_layer_count >= 1u);
  BOOST_TEST(tt::describe_tree(tmp / "out") == flatten(tmp / "a", "v1", tmp / "ref"));
  // One transfer at a time: every layer streams.
  auto src2 = open_oci_source((tmp / "a").string(), "v1");
  auto r2 = unpack_image(**src2, tmp / "out2", {.transfers = 1});
  BOOST_REQUIRE(r2);
  BOOST_TEST(tt::describe_tree(tmp / "out2") == tt::describe_tree(tmp / "ref"));
  auto again = unpack_image(**src2, tmp / "out2");
  BOOST_TEST(again.error().kind() == ErrorKind::already_exists);
}

BOOST_AUTO_TEST_CASE(a_corrupt_layer_fails_naming_it_and_leaves_nothing) {
  TempDir tmp;
  tt::make_image(tmp.path(), tmp / "a", "v1", 3, 50000);
  auto a = image::OciLayout::open(tmp / "a");
  auto loaded = a->load_image("v1");
  BOOST_REQUIRE(loaded);
  const auto& bad = loaded->manifest.layers[1];
  fs::path blob = a->store().path_of(bad.digest);
  fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x42');
  }
  auto src = open_oci_source((tmp / "a").string(), "v1");
  auto u = unpack_image(**src, tmp / "out");
  BOOST_REQUIRE(!u);
  BOOST_TEST_MESSAGE(u.error().message());
  BOOST_TEST(u.error().message().find("layer 2") != std::string::npos);
  BOOST_TEST(!fs::exists(tmp / "out"));
  for (const auto& e : fs::directory_iterator(tmp.path())) {
    BOOST_TEST(e.path().filename().string().find("unpack") == std::string::npos);
  }

  auto dst = open_oci_destination((tmp / "b").string(), "copied");
  auto r = copy_from((tmp / "a").string(), "v1", std::move(*dst), {.transfers = 1});
  BOOST_REQUIRE(!r);
  BOOST_TEST_MESSAGE(r.error().message());
  BOOST_TEST(r.error().message().find(bad.digest.str()) != std::string::npos);
  auto b = image::OciLayout::open(tmp / "b");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->tags()->empty());
  BOOST_TEST(!b->store().contains(bad.digest));
}

BOOST_AUTO_TEST_CASE(an_index_is_copied_whole_or_narrowed) {
  TempDir tmp;
  auto amd = tt::make_image(tmp.path(), tmp / "a", "amd", 1, 1000, 1);
  auto arm = tt::make_image(tmp.path(), tmp / "a", "arm", 2, 1000, 2);
  auto a = image::OciLayout::open(tmp / "a");
  image::ImageIndex index;
  index.media_type = std::string(media_types::kOciIndex);
  amd.annotations.clear();
  arm.annotations.clear();
  amd.platform = image::Platform{.architecture = "amd64", .os = "linux"};
  arm.platform = image::Platform{.architecture = "arm64", .os = "linux", .variant = "v8"};
  index.manifests = {amd, arm};
  auto idx = a->write_index(index);
  BOOST_REQUIRE(idx);
  BOOST_REQUIRE(a->set_tag("multi", *idx));

  auto whole = open_oci_destination((tmp / "b").string(), "multi");
  auto r = copy_from((tmp / "a").string(), "multi", std::move(*whole));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_TEST(r->top_digest == idx->digest);
  auto b = image::OciLayout::open(tmp / "b");
  BOOST_TEST(b->store().contains(arm.digest));

  auto one = open_oci_destination((tmp / "c").string(), "arm");
  auto r2 = copy_from((tmp / "a").string(), "multi", std::move(*one),
                      {.platform = image::Platform{.architecture = "arm64", .os = "linux"}});
  BOOST_REQUIRE(r2);
  BOOST_TEST(r2->top_digest == arm.digest);
  auto c = image::OciLayout::open(tmp / "c");
  BOOST_TEST(!c->store().contains(amd.digest));

  auto src = open_oci_source((tmp / "a").string(), "multi");
  auto u = unpack_image(**src, tmp / "u",
                        {.platform = image::Platform{.architecture = "arm64", .os = "linux"}});
  BOOST_REQUIRE(u);
  BOOST_TEST(u->manifest_digest == arm.digest);
}

BOOST_AUTO_TEST_SUITE_END()
