// Faults: gantry-registry is killed with SIGKILL while a blob upload streams and while a
// manifest body streams, then started again on the same root. What must hold (issue 4, and
// docs/registry-storage.md): no partial blob is visible (HEAD of the unfinished digest is 404),
// every acknowledged blob and manifest is intact, and the upload session resumes from the
// offset the registry reports (at least the last acknowledged one) and completes with the right
// digest. Finally every file under blobs/sha256 hashes to its name.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "model/base/digest.h"
#include "tests/integration/registry/server/http_client.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"

namespace fs = std::filesystem;
using gantry::Digest;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;
using gantry::testing::RegistryProcessOptions;
using gantry::testing::registry::HttpAnswer;
using gantry::testing::registry::HttpClient;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// Deterministic bytes of the big blob: byte i is a function of i.
char byte_at(uint64_t i) {
  return static_cast<char>((i * 2654435761u) >> 13);
}

std::string big_blob(uint64_t size) {
  std::string s(size, '\0');
  for (uint64_t i = 0; i < size; ++i) s[i] = byte_at(i);
  return s;
}

std::string path_of(const std::string& location) {
  // Location may be absolute ("http://host/v2/...") or a path.
  auto at = location.find("/v2/");
  BOOST_REQUIRE(at != std::string::npos);
  return location.substr(at);
}

std::string with_digest(const std::string& target, const std::string& digest) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
}

// Pushes bytes as a blob (monolithic POST then PUT) and checks the 201.
void push_blob(HttpClient& c, const std::string& repo, const std::string& bytes) {
  HttpAnswer start = c.request("POST", "/v2/" + repo + "/blobs/uploads/");
  BOOST_REQUIRE_EQUAL(start.status, 202);
  HttpAnswer put =
      c.request("PUT", with_digest(path_of(start.header("location")), Digest::of(bytes).str()),
                {{"Content-Type", "application/octet-stream"}}, bytes);
  BOOST_REQUIRE_EQUAL(put.status, 201);
}

std::string image_manifest(const std::string& config, const std::string& layer,
                           const std::string& padding) {
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config",
                       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", Digest::of(config).str()},
                        {"size", config.size()}}},
                      {"layers",
                       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                         {"digest", Digest::of(layer).str()},
                         {"size", layer.size()}}}},
                      {"annotations", {{"padding", padding}}}};
  return m.dump();
}

const std::vector<std::pair<std::string, std::string>> kManifestType = {
    {"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};

// Streams `body` to target and kills the server (SIGKILL) once `kill_at` bytes were handed to
// the socket. The request must not be acknowledged.
void stream_and_kill(RegistryProcess& reg, const std::string& method, const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers,
                     const std::string& body, uint64_t kill_at) {
  HttpClient c(reg.host_port());
  bool killed = false;
  int status = 0;
  try {
    HttpAnswer a = c.request_streamed(method, target, headers, body.size(),
                                      [&](uint64_t at, char* buf, size_t n) {
                                        if (at >= kill_at && !killed) {
                                          BOOST_REQUIRE(reg.stop(SIGKILL).has_value());
                                          killed = true;
                                        }
                                        std::memcpy(buf, body.data() + at, n);
                                      });
    status = a.status;
  } catch (const std::runtime_error&) {
    // The connection broke: what a client of a crashed server sees.
  }
  BOOST_REQUIRE(killed);
  BOOST_TEST(status == 0, "a request cut by the crash got an answer: " << status);
}

// Every blob file hashes to its name.
void check_blob_files(const fs::path& root) {
  size_t count = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().parent_path().filename() != "sha256") continue;
    if (e.path().parent_path().parent_path().filename() != "blobs") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(Digest::of(bytes).hex() == e.path().filename().string(),
               "blob file " << e.path() << " does not hash to its name");
    ++count;
  }
  BOOST_TEST(count >= 3u);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_faults)

BOOST_AUTO_TEST_CASE(kill_during_upload_and_manifest_push) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::gantry).has_value(),
                                "gantry-registry is not built"))
    return;
  auto started = RegistryProcess::start({.kind = RegistryKind::gantry});
  BOOST_REQUIRE_MESSAGE(started.has_value(),
                        (started.has_value() ? std::string() : started.error().to_string()));
  RegistryProcess& reg = **started;
  const std::string repo = "faults/app";

  // Acknowledged before any crash: a config, a layer, a manifest tagged v1.
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}})";
  std::string layer = big_blob(3 * kMiB + 17);
  std::string manifest = image_manifest(config, layer, "v1");
  std::string manifest_digest = Digest::of(manifest).str();
  {
    HttpClient c(reg.host_port());
    push_blob(c, repo, config);
    push_blob(c, repo, layer);
    HttpAnswer put = c.request("PUT", "/v2/" + repo + "/manifests/v1", kManifestType, manifest);
    BOOST_REQUIRE_EQUAL(put.status, 201);
    BOOST_REQUIRE_EQUAL(put.header("docker-content-digest"), manifest_digest);
  }

  // An upload: 2 MiB acknowledged, then a PATCH of the rest cut by SIGKILL after 4 MiB.
  const uint64_t big_size = 24 * kMiB + 5;
  std::string big = big_blob(big_size);
  std::string big_digest = Digest::of(big).str();
  std::string location;
  {
    HttpClient c(reg.host_port());
    HttpAnswer start = c.request("POST", "/v2/" + repo + "/blobs/uploads/");
    BOOST_REQUIRE_EQUAL(start.status, 202);
    location = path_of(start.header("location"));
    HttpAnswer first =
        c.request("PATCH", location,
                  {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-2097151"}},
                  std::string_view(big).substr(0, 2 * kMiB));
    BOOST_REQUIRE_EQUAL(first.status, 202);
    location = path_of(first.header("location"));
  }
  std::string rest = big.substr(2 * kMiB);
  stream_and_kill(
      reg, "PATCH", location,
      {{"Content-Type", "application/octet-stream"},
       {"Content-Range", std::to_string(2 * kMiB) + "-" + std::to_string(big_size - 1)}},
      rest, 4 * kMiB);

  // Restart; then a manifest push (a 3 MiB document) cut by SIGKILL after 1 MiB.
  BOOST_REQUIRE(reg.restart().has_value());
  std::string manifest2 = image_manifest(config, layer, std::string(3 * kMiB, 'p'));
  stream_and_kill(reg, "PUT", "/v2/" + repo + "/manifests/v2", kManifestType, manifest2, kMiB);
  BOOST_REQUIRE(reg.restart().has_value());

  HttpClient c(reg.host_port());
  // No partial blob, and the cut manifest does not exist.
  BOOST_TEST(c.request("HEAD", "/v2/" + repo + "/blobs/" + big_digest).status == 404);
  BOOST_TEST(c.request("GET", "/v2/" + repo + "/manifests/v2").status == 404);
  BOOST_TEST(c.request("GET", "/v2/" + repo + "/manifests/" + Digest::of(manifest2).str()).status ==
             404);
  // Acknowledged things are intact.
  HttpAnswer got = c.request("GET", "/v2/" + repo + "/manifests/v1",
                             {{"Accept", "application/vnd.oci.image.manifest.v1+json"}});
  BOOST_REQUIRE_EQUAL(got.status, 200);
  BOOST_TEST(got.body == manifest);
  BOOST_TEST(got.header("docker-content-digest") == manifest_digest);
  HttpAnswer layer_got = c.request("GET", "/v2/" + repo + "/blobs/" + Digest::of(layer).str());
  BOOST_REQUIRE_EQUAL(layer_got.status, 200);
  BOOST_TEST(Digest::of(layer_got.body).str() == Digest::of(layer).str());

  // The session resumes from the offset the registry reports (at least the acknowledged 2 MiB).
  HttpAnswer status = c.request("GET", location);
  BOOST_REQUIRE_EQUAL(status.status, 204);
  std::string range = status.header("range");
  BOOST_REQUIRE(range.rfind("0-", 0) == 0);
  uint64_t offset = std::stoull(range.substr(2)) + 1;
  BOOST_TEST(offset >= 2 * kMiB);
  BOOST_REQUIRE(offset <= big_size);
  location = path_of(status.header("location").empty() ? location : status.header("location"));
  HttpAnswer resumed =
      c.request("PATCH", location,
                {{"Content-Type", "application/octet-stream"},
                 {"Content-Range", std::to_string(offset) + "-" + std::to_string(big_size - 1)}},
                std::string_view(big).substr(offset));
  BOOST_REQUIRE_EQUAL(resumed.status, 202);
  HttpAnswer done = c.request("PUT", with_digest(path_of(resumed.header("location")), big_digest));
  BOOST_REQUIRE_EQUAL(done.status, 201);
  HttpAnswer head = c.request("HEAD", "/v2/" + repo + "/blobs/" + big_digest);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("content-length") == std::to_string(big_size));
  HttpAnswer big_got = c.request("GET", "/v2/" + repo + "/blobs/" + big_digest);
  BOOST_TEST(Digest::of(big_got.body).str() == big_digest);

  // The manifest push now succeeds (its blobs survived), and every blob file is whole.
  HttpAnswer put2 = c.request("PUT", "/v2/" + repo + "/manifests/v2", kManifestType, manifest2);
  BOOST_TEST(put2.status == 201);
  check_blob_files(reg.root());
}

BOOST_AUTO_TEST_SUITE_END()
