#include "runtime/image/oci_layout.h"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "runtime/image/media_types.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace gantry::runtime::image;
using gantry::Digest;
using gantry::ErrorKind;

namespace {

ImageConfig sample_config(const std::string& arch) {
  ImageConfig c;
  c.architecture = arch;
  c.os = "linux";
  c.config = ContainerConfig{};
  c.config->cmd = std::vector<std::string>{"sh"};
  c.rootfs.diff_ids.push_back(Digest::of("layer"));
  return c;
}

// Writes config + manifest for arch into the layout and returns the manifest's descriptor.
Descriptor add_image(OciLayout& layout, const std::string& arch) {
  auto config = layout.write_config(sample_config(arch));
  BOOST_REQUIRE(config);
  auto layer = layout.write_blob("layer", media_types::kOciLayerTar);
  BOOST_REQUIRE(layer);
  ImageManifest m;
  m.media_type = media_types::kOciManifest;
  m.config = *config;
  m.layers.push_back(*layer);
  auto d = layout.write_manifest(m);
  BOOST_REQUIRE(d);
  return *d;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(create_then_open) {
  gantry::testing::TempDir tmp;
  auto created = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(created);
  BOOST_TEST(fs::exists(tmp / "l" / "oci-layout"));
  BOOST_TEST(fs::exists(tmp / "l" / "index.json"));
  BOOST_TEST(fs::is_directory(tmp / "l" / "blobs" / "sha256"));
  auto opened = OciLayout::open(tmp / "l");
  BOOST_REQUIRE(opened);
  BOOST_TEST(opened->tags().value().empty());
  auto again = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(!again);
  BOOST_TEST(again.error().kind() == ErrorKind::already_exists);
}

BOOST_AUTO_TEST_CASE(open_refuses_what_is_not_a_layout) {
  gantry::testing::TempDir tmp;
  fs::create_directories(tmp / "x");
  BOOST_TEST(OciLayout::open(tmp / "x").error().kind() == ErrorKind::not_found);
  write_file(tmp / "x" / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  BOOST_TEST(OciLayout::open(tmp / "x").error().kind() == ErrorKind::invalid_argument);
  write_file(tmp / "x" / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  BOOST_TEST(OciLayout::open(tmp / "x").error().kind() == ErrorKind::not_found);  // no index
  write_file(tmp / "x" / "index.json", R"({"schemaVersion":2})");
  auto r = OciLayout::open(tmp / "x");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(r.error().message().find("'manifests': missing") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(set_tag_resolve_and_replace) {
  gantry::testing::TempDir tmp;
  auto layout = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(layout);
  Descriptor a = add_image(*layout, "amd64");
  Descriptor b = add_image(*layout, "arm64");
  BOOST_REQUIRE(layout->set_tag("one", a));
  BOOST_REQUIRE(layout->set_tag("two", a));
  BOOST_REQUIRE(layout->set_tag("one", b));  // replaces, keeps its place
  BOOST_TEST((layout->tags().value() == std::vector<std::string>{"one", "two"}));
  auto one = layout->resolve("one");
  BOOST_REQUIRE(one);
  BOOST_TEST(one->digest == b.digest);
  BOOST_TEST(one->annotations.at(std::string(kRefNameAnnotation)) == "one");
  auto missing = layout->resolve("three");
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().kind() == ErrorKind::not_found);
  BOOST_TEST(missing.error().message().find("'three'") != std::string::npos);
  BOOST_TEST(missing.error().message().find("one, two") != std::string::npos);
  BOOST_TEST(layout->set_tag("", a).error().kind() == ErrorKind::invalid_argument);
  BOOST_REQUIRE(layout->remove_tag("two"));
  BOOST_TEST(layout->remove_tag("two").error().kind() == ErrorKind::not_found);
  BOOST_TEST((layout->tags().value() == std::vector<std::string>{"one"}));
  // no temp files left beside index.json
  for (auto& e : fs::directory_iterator(tmp / "l")) {
    BOOST_TEST(e.path().filename().string().find(".tmp") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(concurrent_set_tag_loses_nothing) {
  gantry::testing::TempDir tmp;
  auto layout = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(layout);
  Descriptor a = add_image(*layout, "amd64");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto mine = OciLayout::open(tmp / "l");
      for (int i = 0; i < 10 && mine; ++i) {
        (void)mine->set_tag("t" + std::to_string(t) + "-" + std::to_string(i), a);
      }
    });
  }
  for (auto& th : threads) th.join();
  BOOST_TEST(layout->tags().value().size() == 40u);
}

BOOST_AUTO_TEST_CASE(load_image_from_manifest_and_through_index) {
  gantry::testing::TempDir tmp;
  auto layout = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(layout);
  Descriptor amd = add_image(*layout, "amd64");
  Descriptor arm = add_image(*layout, "arm64");
  BOOST_REQUIRE(layout->set_tag("plain", amd));
  auto plain = layout->load_image("plain");
  BOOST_REQUIRE(plain);
  BOOST_TEST(plain->descriptor.digest == amd.digest);
  BOOST_TEST(plain->config.config->cmd.value().at(0) == "sh");

  ImageIndex idx;
  idx.media_type = media_types::kOciIndex;
  arm.platform = Platform{"arm64", "linux", "v8"};
  amd.platform = Platform{"amd64", "linux"};
  idx.manifests = {arm, amd};
  auto idx_desc = layout->write_index(idx);
  BOOST_REQUIRE(idx_desc);
  BOOST_REQUIRE(layout->set_tag("multi", *idx_desc));
  auto got = layout->load_image("multi", Platform{"amd64", "linux"});
  BOOST_REQUIRE(got);
  BOOST_TEST(got->descriptor.digest == amd.digest);
  BOOST_TEST(got->config.architecture == "amd64");
  auto got_arm = layout->load_image("multi", Platform{"arm64", "linux"});
  BOOST_REQUIRE(got_arm);
  BOOST_TEST(got_arm->config.architecture == "arm64");
  auto none = layout->load_image("multi", Platform{"s390x", "linux"});
  BOOST_REQUIRE(!none);
  BOOST_TEST(none.error().kind() == ErrorKind::not_found);
  BOOST_TEST(none.error().message().find("linux/arm64/v8") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupt_blob_is_named) {
  gantry::testing::TempDir tmp;
  auto layout = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(layout);
  Descriptor d = add_image(*layout, "amd64");
  BOOST_REQUIRE(layout->set_tag("t", d));
  auto m = layout->read_manifest(d);
  BOOST_REQUIRE(m);
  // Same length, other bytes.
  fs::path config = layout->store().path_of(m->config.digest);
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text[text.size() - 2] = text[text.size() - 2] == '1' ? '2' : '1';
  fs::permissions(config, fs::perms::owner_write, fs::perm_options::add);
  write_file(config, text);
  auto r = layout->load_image("t");
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().kind() == ErrorKind::internal);
  BOOST_TEST(r.error().message().find(m->config.digest.str()) != std::string::npos);
  // Wrong size in the descriptor.
  Descriptor lie = d;
  lie.size += 1;
  auto r2 = layout->read_manifest(lie);
  BOOST_REQUIRE(!r2);
  BOOST_TEST(r2.error().kind() == ErrorKind::internal);
  BOOST_TEST(r2.error().message().find(d.digest.str()) != std::string::npos);
  // Missing blob.
  Descriptor gone = d;
  gone.digest = Digest::of("nothing");
  BOOST_TEST(layout->read_manifest(gone).error().kind() == ErrorKind::not_found);
}

BOOST_AUTO_TEST_CASE(non_image_manifest_refused_by_load) {
  gantry::testing::TempDir tmp;
  auto layout = OciLayout::create(tmp / "l");
  BOOST_REQUIRE(layout);
  auto empty = layout->write_blob("{}", media_types::kOciEmpty);
  BOOST_REQUIRE(empty);
  ImageManifest m;
  m.media_type = media_types::kOciManifest;
  m.artifact_type = "application/example";
  m.config = *empty;
  auto d = layout->write_manifest(m);
  BOOST_REQUIRE(d);
  BOOST_REQUIRE(layout->set_tag("art", *d));
  BOOST_TEST(layout->load_image("art").error().kind() == ErrorKind::failed_precondition);
}

BOOST_AUTO_TEST_CASE(interop_umoci_layout) {
  if (!gantry::testing::require_program("umoci")) return;
  gantry::testing::TempDir tmp;
  std::string dir = (tmp / "u").string();
  std::string cmd = "umoci init --layout '" + dir + "' && umoci new --image '" + dir + ":t'";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  auto layout = OciLayout::open(dir);
  BOOST_REQUIRE_MESSAGE(layout.has_value(), (layout ? "" : layout.error().to_string()));
  BOOST_TEST((layout->tags().value() == std::vector<std::string>{"t"}));
  auto d = layout->resolve("t");
  BOOST_REQUIRE(d);
  auto m = layout->read_manifest(*d);
  BOOST_REQUIRE(m);
  auto c = layout->read_config(m->config);
  BOOST_REQUIRE(c);
  BOOST_TEST(c->os == "linux");
  auto img = layout->load_image("t");
  BOOST_REQUIRE_MESSAGE(img.has_value(), (img ? "" : img.error().to_string()));
  BOOST_TEST(img->manifest.layers.empty());

  // And umoci reads what we wrote: tag our own image in its layout and let umoci list it.
  Descriptor ours = add_image(*layout, "amd64");
  BOOST_REQUIRE(layout->set_tag("ours", ours));
  std::string ls = "umoci ls --layout '" + dir + "' | grep -qx ours";
  BOOST_TEST(std::system(ls.c_str()) == 0);
  std::string stat = "umoci stat --image '" + dir + ":t' >/dev/null";
  BOOST_TEST(std::system(stat.c_str()) == 0);
}
