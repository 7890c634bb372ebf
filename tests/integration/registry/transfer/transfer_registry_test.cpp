// Pull, push, copy and unpack against the distribution registry (Debian's docker-registry,
// started on 127.0.0.1 by the test), through the gantry program as a user runs it, with skopeo
// as the other client: digests are unchanged, trees unpacked from the registry equal trees
// unpacked from the layout, mounts happen between repositories of one registry, login checks
// and stores credentials.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <functional>
#include <random>

#include "runtime/image/media_types.h"
#include "runtime/image/oci_layout.h"
#include "runtime/registry/transfer/copy.h"
#include "runtime/registry/transfer/docker_archive.h"
#include "runtime/registry/transfer/transports.h"
#include "runtime/sys/process.h"
#include "runtime/sys/system_env.h"
#include "runtime/unpack/layer_commit.h"
#include "runtime/unpack/unpacker.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/runtime/registry/transfer/transfer_fixture.h"

using namespace gantry;
using gantry::testing::TempDir;
namespace fs = std::filesystem;
namespace image = gantry::runtime::image;
namespace transfer = gantry::runtime::registry::transfer;
namespace tt = gantry::testing::transfer;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;

namespace {

std::string gantry_bin() {
  const char* bin = std::getenv("GANTRY_BIN");
  return std::string(bin && *bin ? bin : "build/bin") + "/gantry";
}

struct Run {
  int code = -1;
  std::string out, err;
};

Run run(std::vector<std::string> argv) {
  auto r = runtime::sys::run(argv, 120'000);
  BOOST_REQUIRE_MESSAGE(r.has_value(), "could not run " + argv[0]);
  Run out{r->status.exited ? r->status.exit_code : 128, r->stdout_text, r->stderr_text};
  BOOST_TEST_MESSAGE(argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << " -> " << out.code << " "
                             << out.err);
  return out;
}

Run cli(std::vector<std::string> args) {
  args.insert(args.begin(), gantry_bin());
  return run(args);
}

std::unique_ptr<RegistryProcess> start_registry(RegistryKind kind, const std::string& extra = "") {
  gantry::testing::RegistryProcessOptions o;
  o.kind = kind;
  o.distribution_config_extra = extra;
  auto r = RegistryProcess::start(o);
  if (!r && r.error().kind() == ErrorKind::not_found) {
    gantry::testing::require(false, r.error().to_string());
    return nullptr;
  }
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  return std::move(*r);
}

std::unique_ptr<RegistryProcess> start_distribution(const std::string& extra = "") {
  return start_registry(RegistryKind::distribution, extra);
}

Digest tag_digest(const fs::path& layout_dir, const std::string& tag) {
  auto layout = image::OciLayout::open(layout_dir);
  BOOST_REQUIRE(layout.has_value());
  auto d = layout->resolve(tag);
  BOOST_REQUIRE_MESSAGE(d.has_value(), (d.has_value() ? std::string() : d.error().to_string()));
  return d->digest;
}

std::map<std::string, std::string> flatten(const fs::path& layout_dir, const std::string& tag,
                                           const fs::path& out) {
  auto layout = image::OciLayout::open(layout_dir);
  auto loaded = layout->load_image(tag);
  BOOST_REQUIRE(loaded.has_value());
  auto r = runtime::unpack::flatten_image(*layout, *loaded, out);
  BOOST_REQUIRE(r.has_value());
  return tt::describe_tree(out);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transfer_registry)

BOOST_AUTO_TEST_CASE(oci_to_registry_to_oci_keeps_digests_and_unpack_matches) {
  auto reg = start_distribution();
  if (!reg) return;
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "src", "v1", 4, 100000);
  std::string remote = "docker://" + reg->host_port() + "/test/app:v1";
  Run push = cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1", remote});
  BOOST_REQUIRE_EQUAL(push.code, 0);
  BOOST_TEST(push.out == desc.digest.str() + "\n");
  Run pull = cli({"copy", "-q", remote, "oci:" + (tmp / "dst").string() + ":back"});
  BOOST_REQUIRE_EQUAL(pull.code, 0);
  BOOST_TEST(tag_digest(tmp / "dst", "back") == desc.digest);

  Run unpack = cli({"unpack", "-q", remote, (tmp / "tree").string()});
  BOOST_REQUIRE_EQUAL(unpack.code, 0);
  BOOST_TEST(tt::describe_tree(tmp / "tree") == flatten(tmp / "src", "v1", tmp / "ref"));

  Run missing = cli({"copy", "-q", "docker://" + reg->host_port() + "/test/app:nope",
                     "oci:" + (tmp / "dst").string() + ":nope"});
  BOOST_TEST(missing.code == 1);
  BOOST_TEST(missing.err.find("test/app") != std::string::npos);
  auto dst = image::OciLayout::open(tmp / "dst");
  BOOST_TEST(dst->tags()->size() == 1u);
  Run bad_unpack = cli(
      {"unpack", "-q", "docker://" + reg->host_port() + "/test/none:v1", (tmp / "t2").string()});
  BOOST_TEST(bad_unpack.code == 1);
  BOOST_TEST(!fs::exists(tmp / "t2"));
}

// Layers are decoded side by side but applied in order: what an upper layer deletes, replaces
// or changes the type of must end as the upper layer says, whichever decoder finished first.
// Each layer carries a large random file so that all four are in flight at once.
BOOST_AUTO_TEST_CASE(parallel_unpack_applies_upper_layers_over_lower_ones) {
  auto reg = start_distribution();
  if (!reg) return;
  TempDir tmp;
  auto layout = image::OciLayout::create(tmp / "src");
  BOOST_REQUIRE(layout.has_value());
  std::mt19937 rng(7);
  auto big = [&rng](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  // Each step edits a copy of the previous tree; the layer is the diff.
  std::vector<std::function<void(const fs::path&)>> steps = {
      [&](const fs::path& t) {
        tt::write_text(t / "a/keep", "keep 1");
        tt::write_text(t / "a/gone", "gone 1");
        tt::write_text(t / "a/over", "over 1");
        tt::write_text(t / "d/x", "x");
        tt::write_text(t / "d/y", "y");
        tt::write_text(t / "e/f", "f");
        tt::write_text(t / "big1", big(3 << 20));
      },
      [&](const fs::path& t) {
        fs::remove(t / "a/gone");
        tt::write_text(t / "a/over", "over 2");
        fs::remove_all(t / "e");
        fs::remove(t / "d/x");
        tt::write_text(t / "d/z", "z");
        tt::write_text(t / "big2", big(2 << 20));
      },
      [&](const fs::path& t) {
        tt::write_text(t / "a/gone", "gone 3");
        tt::write_text(t / "e", "e is a file now");
        fs::remove(t / "a/keep");
        fs::remove(t / "big1");
        tt::write_text(t / "big3", big(2 << 20));
      },
      [&](const fs::path& t) {
        fs::remove_all(t / "d");
        fs::create_symlink("a", t / "d");
        tt::write_text(t / "a/over", "over 4");
        tt::write_text(t / "big4", big(1 << 20));
      },
  };
  fs::path prev;
  std::optional<image::LoadedImage> base;
  runtime::sys::SystemEnv env;
  for (size_t i = 0; i < steps.size(); ++i) {
    fs::path dir = tmp / ("tree" + std::to_string(i));
    if (!prev.empty())
      fs::copy(prev, dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    fs::create_directories(dir);
    steps[i](dir);
    auto layer = runtime::unpack::commit_directory_diff(layout->store(), prev, dir,
                                                        image::Compression::gzip);
    BOOST_REQUIRE_MESSAGE(layer.has_value(), (layer ? "" : layer.error().to_string()));
    runtime::unpack::AppendRequest req{.base_layout = base ? &*layout : nullptr,
                                       .base = base ? &*base : nullptr,
                                       .layer = *layer,
                                       .tag = "v1",
                                       .created_by = "step " + std::to_string(i)};
    auto desc = runtime::unpack::append_layer(*layout, req, env);
    BOOST_REQUIRE_MESSAGE(desc.has_value(), (desc ? "" : desc.error().to_string()));
    base = *layout->load_image("v1");
    prev = dir;
  }
  std::string remote = "docker://" + reg->host_port() + "/test/order:v1";
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1", remote}).code, 0);
  Run unpack = cli({"unpack", "-q", remote, (tmp / "out").string()});
  BOOST_REQUIRE_EQUAL(unpack.code, 0);
  fs::path out = tmp / "out";
  BOOST_TEST(!fs::exists(out / "a/keep"));
  BOOST_TEST(tt::read_text(out / "a/gone") == "gone 3");
  BOOST_TEST(tt::read_text(out / "a/over") == "over 4");
  BOOST_TEST(fs::is_regular_file(fs::symlink_status(out / "e")));
  BOOST_TEST(tt::read_text(out / "e") == "e is a file now");
  BOOST_TEST(fs::is_symlink(fs::symlink_status(out / "d")));
  BOOST_TEST(!fs::exists(out / "big1"));
  BOOST_TEST(fs::file_size(out / "big4") == size_t{1} << 20);
  // The same tree as the serial flatten of the layout, and as the last step's directory.
  BOOST_TEST(tt::describe_tree(out) == flatten(tmp / "src", "v1", tmp / "ref"));
  BOOST_TEST(tt::describe_tree(out) == tt::describe_tree(prev));
}

BOOST_AUTO_TEST_CASE(gantry_registry_round_trip) {
  auto reg = start_registry(RegistryKind::gantry);
  if (!reg) return;
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "src", "v1", 3, 50000);
  std::string remote = "docker://" + reg->host_port() + "/ours/app:v1";
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1", remote}).code, 0);
  Run pull = cli({"copy", "-q", remote, "oci:" + (tmp / "dst").string() + ":v1"});
  BOOST_REQUIRE_EQUAL(pull.code, 0);
  BOOST_TEST(tag_digest(tmp / "dst", "v1") == desc.digest);
  BOOST_REQUIRE_EQUAL(cli({"unpack", "-q", remote, (tmp / "tree").string()}).code, 0);
  BOOST_TEST(tt::describe_tree(tmp / "tree") == flatten(tmp / "src", "v1", tmp / "ref"));
}

BOOST_AUTO_TEST_CASE(docker_archive_to_registry_to_docker_archive) {
  auto reg = start_distribution();
  if (!reg) return;
  TempDir tmp;
  tt::make_image(tmp.path(), tmp / "src", "v1", 2, 50000);
  std::string archive = (tmp / "a.tar").string();
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1",
                           "docker-archive:" + archive + ":app:v1"})
                          .code,
                      0);
  std::string remote = "docker://" + reg->host_port() + "/fromarchive:v1";
  Run push = cli({"copy", "-q", "docker-archive:" + archive, remote});
  BOOST_REQUIRE_EQUAL(push.code, 0);
  // A Docker schema 2 manifest with gzip layers, as skopeo makes from a docker-archive.
  Run pull = cli({"copy", "-q", remote, "oci:" + (tmp / "pulled").string() + ":v1"});
  BOOST_REQUIRE_EQUAL(pull.code, 0);
  auto pulled = image::OciLayout::open(tmp / "pulled")->load_image("v1");
  BOOST_REQUIRE(pulled.has_value());
  BOOST_TEST(pulled->manifest.media_type == image::media_types::kDockerManifest);
  for (const auto& l : pulled->manifest.layers) {
    BOOST_TEST(l.media_type == image::media_types::kDockerLayerGzip);
  }
  std::string back = (tmp / "b.tar").string();
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", remote, "docker-archive:" + back + ":app:v1"}).code, 0);
  auto a = transfer::DockerArchiveReader::open(archive);
  auto b = transfer::DockerArchiveReader::open(back);
  BOOST_REQUIRE(a.has_value() && b.has_value());
  // Same image id (config) and the same layer tars.
  BOOST_TEST(a->images()[0].config == b->images()[0].config);
  BOOST_TEST(a->images()[0].layers == b->images()[0].layers);
  for (const auto& l : a->images()[0].layers) {
    BOOST_TEST(*a->read_member(l) == *b->read_member(l));
  }
}

BOOST_AUTO_TEST_CASE(copy_within_a_registry_mounts_blobs) {
  auto reg = start_distribution();
  if (!reg) return;
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "src", "v1", 3, 20000);
  std::string a = "docker://" + reg->host_port() + "/team/a:v1";
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1", a}).code, 0);
  auto src = transfer::open_source(*image::parse_image_ref(a));
  auto dst = transfer::open_destination(
      *image::parse_image_ref("docker://" + reg->host_port() + "/team/b:v2"));
  BOOST_REQUIRE(src.has_value() && dst.has_value());
  auto r = transfer::copy_image(**src, **dst);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().to_string()));
  BOOST_TEST(r->top_digest == desc.digest);
  BOOST_TEST(r->blobs_mounted == 4u);  // config and three layers: 201 from the registry
  BOOST_TEST(r->blobs_sent == 0u);
  Run pull = cli({"copy", "-q", "docker://" + reg->host_port() + "/team/b:v2",
                  "oci:" + (tmp / "b").string() + ":v2"});
  BOOST_REQUIRE_EQUAL(pull.code, 0);
  BOOST_TEST(tag_digest(tmp / "b", "v2") == desc.digest);
}

BOOST_AUTO_TEST_CASE(skopeo_reads_what_we_push_and_we_read_what_skopeo_pushes) {
  if (!gantry::testing::require_program("skopeo")) return;
  auto reg = start_distribution();
  if (!reg) return;
  TempDir tmp;
  auto desc = tt::make_image(tmp.path(), tmp / "src", "v1", 2, 30000);
  std::string ours = "docker://" + reg->host_port() + "/ours:v1";
  BOOST_REQUIRE_EQUAL(cli({"copy", "-q", "oci:" + (tmp / "src").string() + ":v1", ours}).code, 0);
  Run sk = run({"skopeo", "copy", "-q", "--src-tls-verify=false", ours,
                "oci:" + (tmp / "sk").string() + ":v1"});
  BOOST_REQUIRE_EQUAL(sk.code, 0);
  BOOST_TEST(tag_digest(tmp / "sk", "v1") == desc.digest);

  auto other = tt::make_image(tmp.path(), tmp / "src2", "v2", 2, 30000, 7);
  std::string theirs = "docker://" + reg->host_port() + "/theirs:v2";
  Run skp = run({"skopeo", "copy", "-q", "--dest-tls-verify=false",
                 "oci:" + (tmp / "src2").string() + ":v2", theirs});
  BOOST_REQUIRE_EQUAL(skp.code, 0);
  Run pull = cli({"copy", "-q", theirs, "oci:" + (tmp / "got").string() + ":v2"});
  BOOST_REQUIRE_EQUAL(pull.code, 0);
  BOOST_TEST(tag_digest(tmp / "got", "v2") == other.digest);
}

BOOST_AUTO_TEST_CASE(login_checks_and_stores_credentials_logout_removes_them) {
  if (!gantry::testing::require_program("htpasswd")) return;
  TempDir tmp;
  Run h = run({"htpasswd", "-Bbc", (tmp / "htpasswd").string(), "alice", "s3cret"});
  BOOST_REQUIRE_EQUAL(h.code, 0);
  auto reg = start_distribution("auth:\n  htpasswd:\n    realm: gantry-test\n    path: " +
                                (tmp / "htpasswd").string() + "\n");
  if (!reg) return;
  std::string authfile = (tmp / "config.json").string();
  Run bad = cli({"login", reg->host_port(), "-u", "alice", "-p", "wrong", "--authfile", authfile});
  BOOST_TEST(bad.code == 1);
  BOOST_TEST(!fs::exists(authfile));
  Run good =
      cli({"login", reg->host_port(), "-u", "alice", "-p", "s3cret", "--authfile", authfile});
  BOOST_REQUIRE_EQUAL(good.code, 0);
  BOOST_TEST(tt::read_text(authfile).find(reg->host_port()) != std::string::npos);

  BOOST_REQUIRE_EQUAL(cli({"logout", reg->host_port(), "--authfile", authfile}).code, 0);
  BOOST_TEST(tt::read_text(authfile).find(reg->host_port()) == std::string::npos);
  BOOST_TEST(cli({"logout", reg->host_port(), "--authfile", authfile}).code == 1);
}

BOOST_AUTO_TEST_CASE(stored_credentials_are_used_by_copy) {
  if (!gantry::testing::require_program("htpasswd")) return;
  TempDir tmp;
  Run h = run({"htpasswd", "-Bbc", (tmp / "htpasswd").string(), "alice", "s3cret"});
  BOOST_REQUIRE_EQUAL(h.code, 0);
  auto reg = start_distribution("auth:\n  htpasswd:\n    realm: gantry-test\n    path: " +
                                (tmp / "htpasswd").string() + "\n");
  if (!reg) return;
  std::string authfile = (tmp / "config.json").string();
  BOOST_REQUIRE_EQUAL(
      cli({"login", reg->host_port(), "-u", "alice", "-p", "s3cret", "--authfile", authfile}).code,
      0);
  // The stored credentials are used by copy.
  auto desc = tt::make_image(tmp.path(), tmp / "src", "v1", 1, 1000);
  Run push =
      cli({"copy", "-q", "--dest-authfile", authfile, "oci:" + (tmp / "src").string() + ":v1",
           "docker://" + reg->host_port() + "/private:v1"});
  BOOST_REQUIRE_EQUAL(push.code, 0);
  Run anon =
      cli({"copy", "-q", "--src-authfile", (tmp / "none.json").string(),
           "docker://" + reg->host_port() + "/private:v1", "oci:" + (tmp / "x").string() + ":v1"});
  BOOST_TEST(anon.code == 1);
  Run creds =
      cli({"copy", "-q", "--src-creds", "alice:s3cret",
           "docker://" + reg->host_port() + "/private:v1", "oci:" + (tmp / "y").string() + ":v1"});
  BOOST_REQUIRE_EQUAL(creds.code, 0);
  BOOST_TEST(tag_digest(tmp / "y", "v1") == desc.digest);
}

BOOST_AUTO_TEST_SUITE_END()
