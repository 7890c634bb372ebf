// What the registry interop tests share: a busybox image made without a network (Debian's
// static /bin/busybox plus its applet symlinks, as a rootfs tar and as a two-layer OCI layout
// made with umoci), a freshly started gantry-registry, and reading what skopeo/docker write
// (OCI layouts, docker-archive tars).
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "model/base/digest.h"
#include "tests/interop/oci/interop_support.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace gantry::testing::interop {

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json json_file(const fs::path& p) {
  return nlohmann::json::parse(slurp(p));
}

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Root, the program and /bin/busybox; false (skipped, or failed in CI) when one is missing.
inline bool require_peers(const std::vector<std::string>& programs) {
  if (!require_root()) return false;
  for (const auto& p : programs)
    if (!require_program(p)) return false;
  return require(access("/bin/busybox", X_OK) == 0, "needs /bin/busybox (busybox-static)");
}

// A fresh gantry-registry on 127.0.0.1 (storage in its own temp dir).
inline std::unique_ptr<RegistryProcess> start_gantry_registry(std::vector<std::string> extra = {}) {
  RegistryProcessOptions o;
  o.kind = RegistryKind::gantry;
  o.extra_args = std::move(extra);
  auto p = RegistryProcess::start(o);
  BOOST_REQUIRE_MESSAGE(p, "start gantry-registry: " + (p ? std::string() : p.error().to_string()));
  BOOST_TEST_MESSAGE("gantry-registry on " << (*p)->host_port());
  return std::move(p).value();
}

// DIR/rootfs: busybox and its applets (bench/oci/make_bundle.sh); DIR/rootfs.tar: the same.
inline fs::path make_busybox_tar(const fs::path& dir) {
  fs::path script = fs::path(env_or("GANTRY_SOURCE", ".")) / "bench/oci/make_bundle.sh";
  auto made = run({script.string(), (dir / "bundle").string(), "--rootfs-only"});
  BOOST_REQUIRE_MESSAGE(made.code == 0, "make_bundle.sh: " + made.err);
  fs::path tar = dir / "rootfs.tar";
  auto t = run({"tar", "-C", (dir / "bundle/rootfs").string(), "-cf", tar.string(), "."});
  BOOST_REQUIRE_MESSAGE(t.code == 0, "tar: " + t.err);
  return tar;
}

// An OCI layout at `layout` with tag `tag`: two gzip layers (the busybox rootfs, then
// /etc/greeting), made by umoci.
inline void make_oci_layout(const fs::path& dir, const fs::path& layout, const std::string& tag) {
  make_busybox_tar(dir);
  const std::string image = layout.string() + ":" + tag;
  BOOST_REQUIRE_EQUAL(run({"umoci", "init", "--layout", layout.string()}).code, 0);
  BOOST_REQUIRE_EQUAL(run({"umoci", "new", "--image", image}).code, 0);
  BOOST_REQUIRE_EQUAL(
      run({"umoci", "insert", "--image", image, (dir / "bundle/rootfs").string(), "/"}).code, 0);
  { std::ofstream(dir / "greeting") << "hello from gantry interop\n"; }
  BOOST_REQUIRE_EQUAL(
      run({"umoci", "insert", "--image", image, (dir / "greeting").string(), "/etc/greeting"}).code,
      0);
  BOOST_REQUIRE_EQUAL(run({"umoci", "config", "--image", image, "--config.cmd", "/bin/sh"}).code,
                      0);
}

// The image of an OCI layout: its manifest (digest and bytes) and what the manifest names.
struct LayoutImage {
  std::string manifest_digest;
  std::string manifest_bytes;
  std::string config_digest;
  std::vector<std::string> layer_digests;
};

inline fs::path blob_path(const fs::path& layout, const std::string& digest) {
  return layout / "blobs/sha256" / digest.substr(digest.find(':') + 1);
}

// The single manifest of index.json (skopeo and umoci write one per tag; the tests use one tag).
inline LayoutImage read_layout(const fs::path& layout) {
  auto index = json_file(layout / "index.json");
  BOOST_REQUIRE_MESSAGE(index["manifests"].size() == 1, "index.json: " + index.dump());
  LayoutImage img;
  img.manifest_digest = index["manifests"][0]["digest"];
  img.manifest_bytes = slurp(blob_path(layout, img.manifest_digest));
  BOOST_REQUIRE_EQUAL(Digest::of(img.manifest_bytes).str(), img.manifest_digest);
  auto m = nlohmann::json::parse(img.manifest_bytes);
  img.config_digest = m["config"]["digest"];
  for (const auto& l : m["layers"]) img.layer_digests.push_back(l["digest"]);
  // Every blob the manifest names is there and hashes to its name.
  BOOST_TEST(Digest::of(slurp(blob_path(layout, img.config_digest))).str() == img.config_digest);
  for (const auto& d : img.layer_digests)
    BOOST_TEST(Digest::of(slurp(blob_path(layout, d))).str() == d);
  return img;
}

// A docker-archive tar as `docker save` writes it: the config (digest of its bytes), its
// rootfs.diff_ids, and the digests of the layer tars it holds (which must be the diff ids).
struct ArchiveImage {
  std::string config_digest;
  std::vector<std::string> diff_ids;
  std::vector<std::string> layer_tar_digests;
};

inline ArchiveImage read_docker_archive(const fs::path& archive, const fs::path& scratch) {
  fs::create_directories(scratch);
  auto x = run({"tar", "-C", scratch.string(), "-xf", archive.string()});
  BOOST_REQUIRE_MESSAGE(x.code == 0, "tar -x " + archive.string() + ": " + x.err);
  auto manifest = json_file(scratch / "manifest.json");
  BOOST_REQUIRE_MESSAGE(manifest.size() == 1, "manifest.json: " + manifest.dump());
  ArchiveImage a;
  std::string config_bytes = slurp(scratch / manifest[0]["Config"].get<std::string>());
  a.config_digest = Digest::of(config_bytes).str();
  auto config = nlohmann::json::parse(config_bytes);
  for (const auto& d : config["rootfs"]["diff_ids"]) a.diff_ids.push_back(d);
  for (const auto& l : manifest[0]["Layers"])
    a.layer_tar_digests.push_back(Digest::of(slurp(scratch / l.get<std::string>())).str());
  return a;
}

}  // namespace gantry::testing::interop
