// dockerd (its own data root, exec root, pidfile and socket in a temp dir; no bridge, no
// iptables: peers.md) against a freshly started gantry-registry on 127.0.0.1, which docker
// treats as insecure (plain HTTP) without configuration: import, push, rmi, pull (same
// RepoDigest as the push reported), run; and a pull of an OCI image that skopeo put there.
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "runtime/sys/process.h"
#include "tests/interop/registry/registry_interop.h"

using gantry::testing::TempDir;
using namespace gantry::testing::interop;

namespace {

// Debian's client speaks the API of Debian's dockerd; a newer CLI first on PATH may not.
std::string docker_client() {
  return access("/usr/bin/docker", X_OK) == 0 ? "/usr/bin/docker" : "docker";
}

struct Dockerd {
  TempDir dir{"gantry-interop-docker"};
  sys::Child child;
  bool started = false;

  std::string socket() const { return "unix://" + (dir / "docker.sock").string(); }

  std::vector<std::string> operator()(std::vector<std::string> args) const {
    std::vector<std::string> argv = {docker_client(), "--host", socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  void start() {
    const std::string cmd =
        "exec dockerd --host " + socket() + " --data-root " + (dir / "data").string() +
        " --exec-root " + (dir / "exec").string() + " --pidfile " + (dir / "docker.pid").string() +
        " --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false" +
        " >" + (dir / "dockerd.log").string() + " 2>&1";
    auto c = sys::spawn({"sh", "-c", cmd});
    BOOST_REQUIRE_MESSAGE(c, "start dockerd: " + (c ? std::string() : c.error().to_string()));
    child = std::move(c).value();
    started = true;
    for (int i = 0; i < 300; ++i) {
      auto v = sys::run((*this)({"version", "--format", "{{.Server.Version}}"}), 10'000);
      if (v && v->status.success()) {
        BOOST_TEST_MESSAGE("dockerd " << v->stdout_text);
        return;
      }
      usleep(100'000);
    }
    BOOST_FAIL("dockerd did not answer in 30 s:\n" << slurp(dir / "dockerd.log"));
  }

  ~Dockerd() {
    if (!started) return;
    kill(child.pid(), SIGTERM);
    auto w = sys::wait(child, 30'000);  // SIGKILL after the timeout
    if (!w) BOOST_TEST_MESSAGE("dockerd did not stop on SIGTERM: " << w.error().to_string());
  }
};

// The digest in `docker push` output ("v1: digest: sha256:... size: N").
std::string pushed_digest(const std::string& out) {
  std::smatch m;
  static const std::regex re("digest: (sha256:[0-9a-f]{64})");
  return std::regex_search(out, m, re) ? m[1].str() : "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(docker_registry_interop)

BOOST_AUTO_TEST_CASE(push_rmi_pull_run_and_pull_a_skopeo_oci_image) {
  if (!require_peers({"dockerd", docker_client(), "skopeo", "umoci"})) return;
  Dockerd docker;
  docker.start();
  auto registry = start_gantry_registry();
  const std::string repo = registry->host_port() + "/interop/docker";
  const std::string image = repo + ":v1";

  fs::path tar = make_busybox_tar(docker.dir.path());
  auto imported = run(docker({"import", tar.string(), image}));
  BOOST_REQUIRE_MESSAGE(imported.code == 0, "docker import: " + imported.err);
  const std::string id = trimmed(imported.out);
  auto push = run(docker({"push", image}));
  BOOST_REQUIRE_MESSAGE(push.code == 0, "docker push: " + push.err + push.out);
  const std::string digest = pushed_digest(push.out);
  BOOST_REQUIRE_MESSAGE(!digest.empty(), "no digest in docker push output: " + push.out);

  auto rmi = run(docker({"rmi", image}));
  BOOST_REQUIRE_MESSAGE(rmi.code == 0, "docker rmi: " + rmi.err);
  auto pull = run(docker({"pull", image}));
  BOOST_REQUIRE_MESSAGE(pull.code == 0, "docker pull: " + pull.err + pull.out);
  BOOST_TEST(pull.out.find("Digest: " + digest) != std::string::npos, pull.out);
  auto repo_digests = run(docker({"image", "inspect", "--format", "{{json .RepoDigests}}", image}));
  BOOST_TEST(repo_digests.code == 0);
  BOOST_TEST(nlohmann::json::parse(repo_digests.out) ==
             nlohmann::json::array({repo + "@" + digest}));
  auto pulled_id = run(docker({"image", "inspect", "--format", "{{.Id}}", image}));
  BOOST_TEST(trimmed(pulled_id.out) == id);
  auto hi = run(docker({"run", "--rm", "--network", "none", image, "/bin/busybox", "echo", "hi"}));
  BOOST_TEST(hi.code == 0, "docker run: " << hi.err);
  BOOST_TEST(hi.out == "hi\n");

  // An OCI manifest (umoci layout, pushed by skopeo) pulled by docker.
  make_oci_layout(docker.dir.path(), docker.dir / "layout", "v1");
  const LayoutImage src = read_layout(docker.dir / "layout");
  const std::string oci_image = registry->host_port() + "/interop/busybox:v1";
  auto copy = run({"skopeo", "copy", "--dest-tls-verify=false",
                   "oci:" + (docker.dir / "layout").string() + ":v1", "docker://" + oci_image});
  BOOST_REQUIRE_MESSAGE(copy.code == 0, "skopeo copy: " + copy.err);
  auto oci_pull = run(docker({"pull", oci_image}));
  BOOST_REQUIRE_MESSAGE(oci_pull.code == 0,
                        "docker pull (OCI manifest): " + oci_pull.err + oci_pull.out);
  BOOST_TEST(oci_pull.out.find("Digest: " + src.manifest_digest) != std::string::npos,
             oci_pull.out);
  auto oci_id = run(docker({"image", "inspect", "--format", "{{.Id}}", oci_image}));
  BOOST_TEST(trimmed(oci_id.out) == src.config_digest);
  auto greeting =
      run(docker({"run", "--rm", "--network", "none", oci_image, "cat", "/etc/greeting"}));
  BOOST_TEST(greeting.code == 0, "docker run: " << greeting.err);
  BOOST_TEST(greeting.out == "hello from gantry interop\n");
}

BOOST_AUTO_TEST_SUITE_END()
