// The offline commands as a user runs them: the gantry program on images we build, images
// umoci builds, and hostile or corrupt images. Each failure case checks the exit status, that
// the message names the culprit, and that nothing was written outside (or half into) the target.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/image/compression.h"
#include "runtime/image/media_types.h"
#include "runtime/image/oci_layout.h"
#include "runtime/sys/process.h"
#include "tests/support/layers/disk.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;
using namespace gantry;
using gantry::testing::TempDir;
namespace image = gantry::runtime::image;

namespace {

std::string gantry_bin() {
  const char* bin = std::getenv("GANTRY_BIN");
  return std::string(bin && *bin ? bin : "build/bin") + "/gantry";
}

struct Run {
  int code = -1;
  std::string out, err;
};

Run run_gantry(const TempDir& state, std::vector<std::string> args) {
  std::vector<std::string> argv = {gantry_bin(), "--root", (state / "state").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runtime::sys::run(argv, 120'000);
  BOOST_REQUIRE_MESSAGE(
      r, "could not run " + gantry_bin() + ": " + (r ? std::string() : r.error().to_string()));
  Run out{r->status.exited ? r->status.exit_code : 128, r->stdout_text, r->stderr_text};
  BOOST_TEST_MESSAGE("gantry " << args.front() << " -> " << out.code << " " << out.err);
  return out;
}

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

model::layers::Tree tree_of(const fs::path& dir) {
  auto t = testing::layers::read_tree(dir);
  BOOST_REQUIRE_MESSAGE(
      t, "read_tree " + dir.string() + ": " + (t ? std::string() : t.error().to_string()));
  return *t;
}

// A base root filesystem: busybox when present, plus files we change later.
void make_rootfs(const fs::path& root) {
  fs::create_directories(root / "bin");
  if (fs::exists("/bin/busybox")) fs::copy_file("/bin/busybox", root / "bin/busybox");
  fs::create_symlink("busybox", root / "bin/sh");
  write_file(root / "etc/hostname", "base\n");
  write_file(root / "etc/motd", "welcome\n");
  write_file(root / "srv/data/a.txt", std::string(10000, 'a'));
  write_file(root / "srv/data/b.txt", "b\n");
  fs::create_hard_link(root / "srv/data/b.txt", root / "srv/data/b-link");
}

// A one-layer image whose layer is the given tar (uncompressed), with the right digests, so
// that only the layer's content is hostile.
void make_image_with_layer(const fs::path& layout_dir, const std::string& tag,
                           const std::string& tar) {
  auto layout = image::OciLayout::open(layout_dir);
  if (!layout) layout = image::OciLayout::create(layout_dir);
  BOOST_REQUIRE(layout);
  auto gz = image::compress_bytes(tar);
  BOOST_REQUIRE(gz);
  auto layer = layout->write_blob(*gz, image::media_types::kOciLayerTarGzip);
  BOOST_REQUIRE(layer);
  image::ImageConfig config;
  config.architecture = image::current_platform().architecture;
  config.os = "linux";
  config.rootfs.diff_ids.push_back(Digest::of(tar));
  image::ImageManifest manifest;
  manifest.media_type = std::string(image::media_types::kOciManifest);
  auto cfg = layout->write_config(config);
  BOOST_REQUIRE(cfg);
  manifest.config = *cfg;
  manifest.layers.push_back(*layer);
  auto m = layout->write_manifest(manifest);
  BOOST_REQUIRE(m);
  BOOST_REQUIRE(layout->set_tag(tag, *m));
}

struct TarBuilder {
  std::string bytes;
  archive* a = archive_write_new();
  TarBuilder() {
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 0);
    archive_write_open(
        a, this, nullptr,
        [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
          static_cast<TarBuilder*>(self)->bytes.append(static_cast<const char*>(buf), n);
          return static_cast<la_ssize_t>(n);
        },
        nullptr);
  }
  void add(const std::string& name, mode_t type, const std::string& content = "",
           const std::string& link = "", bool hardlink = false) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    if (!link.empty()) {
      if (hardlink) {
        archive_entry_set_hardlink(e, link.c_str());
      } else {
        archive_entry_set_symlink(e, link.c_str());
      }
    }
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, e);
    if (!content.empty()) archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  std::string finish() {
    archive_write_close(a);
    archive_write_free(a);
    return bytes;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(import_unpack_gives_back_the_directory) {
  TempDir t;
  make_rootfs(t / "rootfs");
  BOOST_REQUIRE_EQUAL(
      run_gantry(t, {"import", (t / "rootfs").string(), "oci:" + (t / "img").string() + ":base"})
          .code,
      0);
  Run r = run_gantry(t, {"unpack", (t / "img").string() + ":base", (t / "out").string()});
  BOOST_REQUIRE_EQUAL(r.code, 0);
  std::string diff = testing::layers::tree_diff(tree_of(t / "rootfs"), tree_of(t / "out"));
  BOOST_TEST(diff.empty(), diff);
  // An existing target is refused, untouched.
  r = run_gantry(t, {"unpack", (t / "img").string() + ":base", (t / "out").string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("exists") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mount_change_repack_per_snapshotter) {
  for (std::string backend : {"copy", "overlay", "fuse"}) {
    BOOST_TEST_CONTEXT("snapshotter " << backend) {
      if (backend == "fuse" ? !testing::require_fuse() : !testing::require_root()) continue;
      TempDir t;
      make_rootfs(t / "rootfs");
      std::string base = "oci:" + (t / "img").string() + ":base";
      std::string next = "oci:" + (t / "img").string() + ":next";
      BOOST_REQUIRE_EQUAL(run_gantry(t, {"import", (t / "rootfs").string(), base}).code, 0);
      fs::create_directory(t / "m");
      BOOST_REQUIRE_EQUAL(
          run_gantry(t, {"mount", "--snapshotter", backend, base, (t / "m").string()}).code, 0);
      // A whiteout, a copy-up, an addition, a new hardlink to a lower file.
      fs::remove(t / "m/etc/motd");
      write_file(t / "m/etc/hostname", "changed\n");
      write_file(t / "m/srv/new.txt", "new\n");
      fs::create_hard_link(t / "m/srv/data/a.txt", t / "m/srv/a-link");
      model::layers::Tree seen = tree_of(t / "m");
      Run r = run_gantry(t, {"repack", (t / "m").string(), next});
      BOOST_REQUIRE_EQUAL(r.code, 0);
      BOOST_REQUIRE_EQUAL(run_gantry(t, {"umount", (t / "m").string()}).code, 0);
      // The lower layer is untouched by the copy-up.
      BOOST_TEST(read_file(t / "rootfs/etc/hostname") == "base\n");
      BOOST_REQUIRE_EQUAL(run_gantry(t, {"unpack", next, (t / "out").string()}).code, 0);
      std::string diff = testing::layers::tree_diff(seen, tree_of(t / "out"));
      BOOST_TEST(diff.empty(), diff);
      BOOST_TEST(!fs::exists(t / "out/etc/motd"));
      // After umount the directory is empty again and not a mount point.
      BOOST_TEST(fs::is_empty(t / "m"));
      r = run_gantry(t, {"umount", (t / "m").string()});
      BOOST_TEST(r.code != 0);
      BOOST_TEST(r.err.find("not mounted") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(images_from_umoci_unpack_the_same) {
  if (!testing::require_program("umoci") || !testing::require_root()) return;
  TempDir t;
  std::string layout = (t / "umoci").string();
  auto sh = [&](const std::string& cmd) {
    BOOST_TEST_MESSAGE(cmd);
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
  };
  sh("umoci init --layout " + layout);
  sh("umoci new --image " + layout + ":t");
  sh("umoci unpack --image " + layout + ":t " + (t / "bundle").string() + " >/dev/null");
  make_rootfs(t / "bundle/rootfs/x");
  sh("umoci repack --image " + layout + ":t2 " + (t / "bundle").string() + " >/dev/null");
  // A second layer with a deletion (umoci writes the whiteout) and a change.
  fs::remove(t / "bundle/rootfs/x/etc/motd");
  fs::remove_all(t / "bundle/rootfs/x/srv/data");
  write_file(t / "bundle/rootfs/x/etc/hostname", "umoci\n");
  sh("umoci repack --image " + layout + ":t3 " + (t / "bundle").string() + " >/dev/null");
  sh("umoci raw unpack --image " + layout + ":t3 " + (t / "by-umoci").string());
  BOOST_REQUIRE_EQUAL(
      run_gantry(t, {"unpack", "oci:" + layout + ":t3", (t / "by-gantry").string()}).code, 0);
  std::string diff = testing::layers::tree_diff(tree_of(t / "by-umoci"), tree_of(t / "by-gantry"));
  BOOST_TEST(diff.empty(), diff);
  BOOST_TEST(!fs::exists(t / "by-gantry/x/etc/motd"));
}

BOOST_AUTO_TEST_CASE(hostile_layers_fail_naming_the_entry_and_write_nothing_outside) {
  struct Case {
    std::string name;
    std::string tar;
    std::string must_name;
  };
  std::vector<Case> cases;
  {
    TarBuilder b;
    b.add("../escaped", AE_IFREG, "x");
    cases.push_back({"dotdot", b.finish(), "../escaped"});
  }
  {
    TarBuilder b;
    b.add("link", AE_IFREG, "", "../../outside-target", true);
    cases.push_back({"hardlink-out", b.finish(), "'link'"});
  }
  {
    TarBuilder b;
    b.add("d", AE_IFDIR);
    b.add("h", AE_IFREG, "", "d", true);
    cases.push_back({"hardlink-to-dir", b.finish(), "'h'"});
  }
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("case " << c.name) {
      TempDir t;
      fs::create_directories(t / "sentinel");
      write_file(t / "outside-target", "keep");
      make_image_with_layer(t / "img", "bad", c.tar);
      Run r = run_gantry(t, {"unpack", (t / "img").string() + ":bad", (t / "work/out").string()});
      BOOST_TEST(r.code != 0);
      BOOST_TEST(r.err.find(c.must_name) != std::string::npos, r.err);
      BOOST_TEST(!fs::exists(t / "work/out"));
      BOOST_TEST(!fs::exists(t / "escaped"));
      BOOST_TEST(!fs::exists(t / "work/escaped"));
      BOOST_TEST(read_file(t / "outside-target") == "keep");
      BOOST_TEST(fs::is_empty(t / "sentinel"));
      // No temporary directory left beside the target either.
      if (fs::exists(t / "work")) BOOST_TEST(fs::is_empty(t / "work"));
    }
  }
}

BOOST_AUTO_TEST_CASE(symlink_then_write_through_it_stays_inside) {
  TempDir t;
  fs::create_directories(t / "victim");
  TarBuilder b;
  b.add("x", AE_IFLNK, "", (t / "victim").string());
  b.add("x/owned", AE_IFREG, "pwned");
  make_image_with_layer(t / "img", "bad", b.finish());
  Run r = run_gantry(t, {"unpack", (t / "img").string() + ":bad", (t / "out").string()});
  // Either refused or contained: never a file in the victim directory.
  BOOST_TEST(fs::is_empty(t / "victim"));
  if (r.code == 0) {
    BOOST_TEST(fs::is_symlink(t / "out/x"));
  } else {
    BOOST_TEST(r.err.find("x/owned") != std::string::npos, r.err);
  }
}

BOOST_AUTO_TEST_CASE(corrupt_blob_and_wrong_diff_id_are_refused) {
  TempDir t;
  make_rootfs(t / "rootfs");
  BOOST_REQUIRE_EQUAL(
      run_gantry(t, {"import", (t / "rootfs").string(), (t / "img").string() + ":v"}).code, 0);
  auto layout = image::OciLayout::open(t / "img");
  BOOST_REQUIRE(layout);
  auto loaded = layout->load_image("v");
  BOOST_REQUIRE(loaded);
  fs::path blob = layout->store().path_of(loaded->manifest.layers[0].digest);
  // Flip one byte in the middle of the compressed layer.
  {
    fs::permissions(blob, fs::perms::owner_write, fs::perm_options::add);
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(blob) / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(fs::file_size(blob) / 2));
    f.put(static_cast<char>(c ^ 0x55));
  }
  Run r = run_gantry(t, {"unpack", (t / "img").string() + ":v", (t / "out").string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find(loaded->manifest.layers[0].digest.str()) != std::string::npos, r.err);
  BOOST_TEST(!fs::exists(t / "out"));

  // A layer whose tar is fine but whose config names another diff_id.
  TempDir u;
  TarBuilder b;
  b.add("f", AE_IFREG, "content");
  std::string tar = b.finish();
  make_image_with_layer(u / "img", "v", tar);
  auto l2 = image::OciLayout::open(u / "img");
  BOOST_REQUIRE(l2);
  auto img = l2->load_image("v");
  BOOST_REQUIRE(img);
  image::ImageConfig cfg = img->config;
  cfg.rootfs.diff_ids[0] = Digest::of("something else");
  auto cfg_desc = l2->write_config(cfg);
  BOOST_REQUIRE(cfg_desc);
  image::ImageManifest m = img->manifest;
  m.config = *cfg_desc;
  auto md = l2->write_manifest(m);
  BOOST_REQUIRE(md);
  BOOST_REQUIRE(l2->set_tag("v", *md));
  r = run_gantry(u, {"unpack", (u / "img").string() + ":v", (u / "out").string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("diff_id") != std::string::npos, r.err);
  BOOST_TEST(!fs::exists(u / "out"));
}

BOOST_AUTO_TEST_CASE(unknown_names_get_clear_errors) {
  TempDir t;
  Run r = run_gantry(t, {"unpack", (t / "nowhere").string() + ":v", (t / "out").string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("nowhere") != std::string::npos, r.err);
  make_rootfs(t / "rootfs");
  BOOST_REQUIRE_EQUAL(
      run_gantry(t, {"import", (t / "rootfs").string(), (t / "img").string() + ":v"}).code, 0);
  r = run_gantry(t, {"unpack", (t / "img").string() + ":missing", (t / "out").string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("missing") != std::string::npos, r.err);
  r = run_gantry(
      t, {"mount", "--snapshotter", "zfs", (t / "img").string() + ":v", (t).path().string()});
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("zfs") != std::string::npos, r.err);
  BOOST_TEST(!fs::exists(t / "out"));
}
