// podman (rootful, runtime runc) against a freshly started gantry-registry: push an imported
// busybox image, remove it, pull it back (same image id, same digest), run it; and the same
// through `podman login` when the registry asks for basic auth (--htpasswd, bcrypt).
// Storage, run state and containers.conf live in a temp dir (peers.md).
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/interop/registry/registry_interop.h"

using gantry::testing::TempDir;
using namespace gantry::testing::interop;

namespace {

const char* kLocal = "localhost/interop/busybox:v1";

struct Podman {
  TempDir dir{"gantry-interop-podman"};

  Podman() {
    std::ofstream conf(dir / "containers.conf");
    conf << "[containers]\n"
         << "netns = \"none\"\n"
         << "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
         << "[engine]\n"
         << "runtime = \"runc\"\n"
         << "cgroup_manager = \"cgroupfs\"\n"
         << "events_logger = \"file\"\n"
         << "tmp_dir = \"" << (dir / "libpod-tmp").string() << "\"\n";
    conf.close();
    setenv("CONTAINERS_CONF", (dir / "containers.conf").c_str(), 1);
    // Credentials from `podman login` stay in the lab too (podman wants the file to exist).
    std::ofstream(dir / "auth.json") << "{}\n";
    setenv("REGISTRY_AUTH_FILE", (dir / "auth.json").c_str(), 1);
  }

  std::vector<std::string> operator()(std::vector<std::string> args) const {
    std::vector<std::string> argv = {"podman", "--root", (dir / "root").string(), "--runroot",
                                     (dir / "run").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::string image_id(const std::string& ref) const {
    auto r = run((*this)({"image", "inspect", "--format", "{{.Id}}", ref}));
    BOOST_REQUIRE_MESSAGE(r.code == 0, "podman image inspect " + ref + ": " + r.err);
    return trimmed(r.out);
  }
};

// Imports busybox, pushes it to `remote`, removes it locally, pulls it back and runs it.
void push_pull_run(const Podman& podman, const std::string& remote) {
  fs::path tar = make_busybox_tar(podman.dir.path());
  auto imported = run(podman({"import", tar.string(), kLocal}));
  BOOST_REQUIRE_MESSAGE(imported.code == 0, "podman import: " + imported.err);
  const std::string id = podman.image_id(kLocal);

  const fs::path digest_file = podman.dir / "pushed.digest";
  auto push = run(podman({"push", "--tls-verify=false", "--digestfile", digest_file.string(),
                          kLocal, "docker://" + remote}));
  BOOST_REQUIRE_MESSAGE(push.code == 0, "podman push: " + push.err);
  const std::string pushed = trimmed(slurp(digest_file));
  BOOST_TEST(pushed.rfind("sha256:", 0) == 0u, "digest file: " << pushed);

  auto rmi = run(podman({"rmi", kLocal}));
  BOOST_REQUIRE_MESSAGE(rmi.code == 0, "podman rmi: " + rmi.err);
  BOOST_TEST(run(podman({"image", "exists", id})).code == 1);

  auto pull = run(podman({"pull", "--tls-verify=false", remote}));
  BOOST_REQUIRE_MESSAGE(pull.code == 0, "podman pull: " + pull.err);
  BOOST_TEST(trimmed(pull.out) == id);
  BOOST_TEST(podman.image_id(remote) == id);
  auto digest = run(podman({"image", "inspect", "--format", "{{.Digest}}", remote}));
  BOOST_TEST(trimmed(digest.out) == pushed);

  auto hi = run(podman({"run", "--rm", "--network", "none", remote, "/bin/busybox", "echo", "hi"}));
  BOOST_TEST(hi.code == 0, "podman run: " << hi.err);
  BOOST_TEST(hi.out == "hi\n");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(podman_registry_interop)

BOOST_AUTO_TEST_CASE(push_rmi_pull_run) {
  if (!require_peers({"podman", "runc"})) return;
  Podman podman;
  auto registry = start_gantry_registry();
  push_pull_run(podman, registry->host_port() + "/interop/podman:v1");
}

BOOST_AUTO_TEST_CASE(login_with_basic_auth_then_push_and_pull) {
  if (!require_peers({"podman", "runc", "htpasswd"})) return;
  Podman podman;
  const fs::path users = podman.dir / "htpasswd";
  auto h = run({"htpasswd", "-B", "-b", "-c", users.string(), "alice", "s3cret-pass"});
  BOOST_REQUIRE_MESSAGE(h.code == 0, "htpasswd: " + h.err);
  auto registry = start_gantry_registry({"--htpasswd", users.string()});
  const std::string remote = registry->host_port() + "/interop/private:v1";

  // Before login: the push is refused.
  fs::path tar = make_busybox_tar(podman.dir.path());
  BOOST_REQUIRE_EQUAL(run(podman({"import", tar.string(), "localhost/interop/early:v1"})).code, 0);
  auto anon = run(
      podman({"push", "--tls-verify=false", "localhost/interop/early:v1", "docker://" + remote}));
  BOOST_TEST(anon.code != 0);
  BOOST_TEST(run(podman({"rmi", "localhost/interop/early:v1"})).code == 0);
  auto wrong = run(podman({"login", "--tls-verify=false", "--username", "alice", "--password",
                           "wrong", registry->host_port()}));
  BOOST_TEST(wrong.code != 0);

  auto login = run(podman({"login", "--tls-verify=false", "--username", "alice", "--password",
                           "s3cret-pass", registry->host_port()}));
  BOOST_REQUIRE_MESSAGE(login.code == 0, "podman login: " + login.err);
  push_pull_run(podman, remote);
  BOOST_TEST(run(podman({"logout", registry->host_port()})).code == 0);
  auto after = run(podman({"pull", "--tls-verify=false", remote}));
  BOOST_TEST(after.code != 0);
}

BOOST_AUTO_TEST_SUITE_END()
