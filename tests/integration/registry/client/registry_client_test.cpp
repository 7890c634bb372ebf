// RegistryClient against real registries: the distribution registry (Debian's docker-registry)
// started per test on 127.0.0.1, plain, with htpasswd basic auth and with TLS; reads cut by a
// proxy in the middle; and bearer tokens from gantry-registry's built-in token server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "runtime/registry/client/registry_client.h"
#include "runtime/sys/process.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace rc = gantry::runtime::registry;
namespace fx = gantry::testing::registry;
namespace sys = gantry::runtime::sys;
using gantry::Digest;
using gantry::ErrorKind;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;
using gantry::testing::TempDir;

namespace {

std::unique_ptr<RegistryProcess> start_distribution(std::string extra = "") {
  auto r = RegistryProcess::start(
      {.kind = RegistryKind::distribution, .distribution_config_extra = std::move(extra)});
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
  return std::move(*r);
}

rc::BlobOpener opener(const std::string& bytes) {
  return
      [&bytes](uint64_t offset) -> gantry::Result<std::unique_ptr<gantry::runtime::image::Source>> {
        return std::unique_ptr<gantry::runtime::image::Source>(
            new gantry::runtime::image::BytesSource(std::string_view(bytes).substr(offset)));
      };
}

gantry::Result<std::string> read_all(gantry::runtime::image::Source& src) {
  std::string out;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    GANTRY_ASSIGN_OR_RETURN(size_t n, src.read(buf));
    if (n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), n);
  }
}

std::shared_ptr<rc::RegistryClient> client(const std::string& registry, rc::ClientOptions o = {}) {
  if (!o.credentials) o.credentials = rc::Credentials{};  // never the user's docker config
  auto c = rc::RegistryClient::create(registry, o);
  BOOST_REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().to_string()));
  return *c;
}

void push(rc::RegistryClient& c, const std::string& repo, const std::string& bytes) {
  auto d = Digest::of(bytes);
  auto r = c.push_blob(repo, d, bytes.size(), opener(bytes));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().to_string()));
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A TCP proxy to 127.0.0.1:upstream that closes its first connection after passing
// `cut_after` bytes from the server.
class CuttingProxy {
 public:
  CuttingProxy(int upstream, size_t cut_after) : upstream_(upstream), cut_after_(cut_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    BOOST_REQUIRE(::listen(listen_fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  int connections() const { return accepted_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      bool cut = accepted_++ == 0;
      conns_.emplace_back([this, c, cut] { pipe(c, cut); });
    }
  }
  void pipe(int c, bool cut) {
    int u = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      size_t down = 0;
      char buf[16384];
      while (!stop_) {
        pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
        if (::poll(p, 2, 200) < 0) break;
        if (p[0].revents) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0 || ::write(u, buf, n) != n) break;
        }
        if (p[1].revents) {
          ssize_t n = ::read(u, buf, sizeof buf);
          if (n <= 0) break;
          if (cut && down + n > cut_after_) n = static_cast<ssize_t>(cut_after_ - down);
          if (n > 0 && ::write(c, buf, n) != n) break;
          down += n;
          if (cut && down >= cut_after_) break;
        }
      }
    }
    ::close(u);
    ::close(c);
  }

  int upstream_;
  size_t cut_after_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

int port_of(const std::string& host_port) {
  return std::stoi(host_port.substr(host_port.rfind(':') + 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_client)

BOOST_AUTO_TEST_CASE(push_and_pull_verified) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed"))
    return;
  auto server = start_distribution();
  auto c = client(server->host_port());
  BOOST_TEST(c->check_auth().has_value());
  std::string big = fx::blob_bytes(1, 3 << 20);  // streamed PATCH then PUT
  std::string small = "hello";
  push(*c, "app", big);
  push(*c, "app", small);
  push(*c, "app", small);  // already there: HEAD, nothing sent
  auto size = c->stat_blob("app", Digest::of(big));
  BOOST_REQUIRE(size.has_value());
  BOOST_TEST(size->value_or(0) == big.size());
  BOOST_TEST(!c->stat_blob("app", Digest::of("absent"))->has_value());
  auto src = c->open_blob("app", Digest::of(big), big.size());
  BOOST_REQUIRE_MESSAGE(src.has_value(), (src ? "" : src.error().to_string()));
  auto got = read_all(**src);
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(*got == big);
  BOOST_TEST(*c->read_blob("app", Digest::of(small)) == small);
  auto missing = c->open_blob("app", Digest::of("absent"));
  BOOST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().kind() == ErrorKind::not_found);
  // A wrong expected size is an error at the end, not good data.
  auto wrong = c->open_blob("app", Digest::of(small), 4);
  BOOST_REQUIRE(wrong.has_value());
  BOOST_TEST(!read_all(**wrong).has_value());
}

BOOST_AUTO_TEST_CASE(corrupted_blob_on_disk_is_a_digest_error) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed"))
    return;
  auto server = start_distribution();
  auto c = client(server->host_port());
  std::string bytes = fx::blob_bytes(2, 100000);
  push(*c, "app", bytes);
  Digest d = Digest::of(bytes);
  auto path = server->root() / "data/docker/registry/v2/blobs/sha256" / d.hex().substr(0, 2) /
              d.hex() / "data";
  BOOST_REQUIRE(std::filesystem::exists(path));
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  auto src = c->open_blob("app", d);
  BOOST_REQUIRE_MESSAGE(src.has_value(), (src ? "" : src.error().to_string()));
  auto got = read_all(**src);
  BOOST_REQUIRE(!got.has_value());
  BOOST_TEST(got.error().kind() == ErrorKind::invalid_argument);
  BOOST_TEST(got.error().message().find(d.str()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(manifests_of_all_four_types_tags_and_mount) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed"))
    return;
  auto server = start_distribution();
  auto c = client(server->host_port());
  fx::ImageSpec oci;
  oci.config = "{\"architecture\":\"amd64\"}";
  oci.layers = {"layer-one", "layer-two"};
  fx::ImageSpec docker = oci;
  docker.media_type = std::string(gantry::api::kDockerManifestType);
  docker.config_media_type = std::string(fx::kDockerConfigType);
  docker.layer_media_type = std::string(fx::kDockerLayerType);
  for (const auto& b : {oci.config, oci.layers[0], oci.layers[1]}) push(*c, "app", b);
  std::string oci_m = fx::image_manifest(oci);
  std::string docker_m = fx::image_manifest(docker);
  std::string index = fx::index_manifest({{std::string(gantry::api::kOciManifestType), oci_m}});
  std::string list = fx::index_manifest({{std::string(gantry::api::kDockerManifestType), docker_m}},
                                        gantry::api::kDockerManifestListType);
  std::vector<std::pair<std::string, std::string>> docs = {
      {std::string(gantry::api::kOciManifestType), oci_m},
      {std::string(gantry::api::kDockerManifestType), docker_m},
      {std::string(gantry::api::kOciIndexType), index},
      {std::string(gantry::api::kDockerManifestListType), list}};
  int i = 0;
  for (const auto& [type, bytes] : docs) {
    std::string tag = "t" + std::to_string(i++);
    auto put = c->put_manifest("app", tag, type, bytes);
    BOOST_REQUIRE_MESSAGE(put.has_value(), (put ? "" : put.error().to_string()));
    BOOST_TEST(*put == Digest::of(bytes));
    auto got = c->get_manifest("app", tag);
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(got->bytes == bytes);
    BOOST_TEST(got->media_type == type);
    auto by_digest = c->get_manifest("app", Digest::of(bytes).str());
    BOOST_REQUIRE(by_digest.has_value());
    auto head = c->stat_manifest("app", tag);
    BOOST_REQUIRE(head.has_value());
    BOOST_TEST(head->digest == Digest::of(bytes));
  }
  BOOST_TEST(c->get_manifest("app", "nope").error().kind() == ErrorKind::not_found);
  auto tags = c->list_tags("app");
  BOOST_REQUIRE(tags.has_value());
  BOOST_TEST((std::set<std::string>(tags->begin(), tags->end()) ==
              std::set<std::string>{"t0", "t1", "t2", "t3"}));
  auto mounted = c->mount_blob("other", Digest::of(oci.layers[0]), "app");
  BOOST_REQUIRE(mounted.has_value());
  BOOST_TEST(*mounted);
  BOOST_TEST(c->stat_blob("other", Digest::of(oci.layers[0]))->has_value());
  auto not_mounted = c->mount_blob("other", Digest::of("absent"), "app");
  BOOST_REQUIRE(not_mounted.has_value());
  BOOST_TEST(!*not_mounted);
}

BOOST_AUTO_TEST_CASE(catalog_pages_of_tags_follow_link) {
  // gantry-registry pages tags with Link (distribution ignores n): list_tags follows it.
  auto program = RegistryProcess::program(RegistryKind::gantry);
  if (!gantry::testing::require(program.has_value(), "gantry-registry is not built")) return;
  auto server = RegistryProcess::start({.kind = RegistryKind::gantry});
  BOOST_REQUIRE(server.has_value());
  auto c = client((*server)->host_port());
  fx::ImageSpec spec;
  push(*c, "app", spec.config);
  std::string m = fx::image_manifest(spec);
  std::set<std::string> want;
  for (int i = 0; i < 5; ++i) {
    want.insert("v" + std::to_string(i));
    BOOST_REQUIRE(c->put_manifest("app", "v" + std::to_string(i),
                                  std::string(gantry::api::kOciManifestType), m)
                      .has_value());
  }
  auto tags = c->list_tags("app");
  BOOST_REQUIRE(tags.has_value());
  BOOST_TEST((std::set<std::string>(tags->begin(), tags->end()) == want));
}

BOOST_AUTO_TEST_CASE(basic_auth_with_htpasswd) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed") ||
      !gantry::testing::require_program("htpasswd"))
    return;
  TempDir dir;
  std::string file = (dir / "htpasswd").string();
  auto made = sys::run({"htpasswd", "-B", "-b", "-c", file, "alice", "secret"}, 30000);
  BOOST_REQUIRE(made && made->status.success());
  auto server =
      start_distribution("auth:\n  htpasswd:\n    realm: gantry-test\n    path: " + file + "\n");
  auto good = client(server->host_port(), {.credentials = rc::Credentials{"alice", "secret", ""}});
  BOOST_TEST(good->check_auth().has_value());
  push(*good, "app", "authorized bytes");
  BOOST_TEST(*good->read_blob("app", Digest::of("authorized bytes")) == "authorized bytes");
  auto bad = client(server->host_port(), {.credentials = rc::Credentials{"alice", "nope", ""}});
  BOOST_TEST(bad->check_auth().error().kind() == ErrorKind::permission_denied);
  auto anonymous = client(server->host_port());
  BOOST_TEST(anonymous->check_auth().error().kind() == ErrorKind::permission_denied);
  BOOST_TEST(anonymous->stat_blob("app", Digest::of("authorized bytes")).error().kind() ==
             ErrorKind::permission_denied);
}

BOOST_AUTO_TEST_CASE(tls_with_a_self_signed_certificate) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed") ||
      !gantry::testing::require_program("openssl"))
    return;
  TempDir dir;
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  auto made = sys::run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                       60000);
  BOOST_REQUIRE(made && made->status.success());
  // Indented: these lines continue the `http:` section the config ends with.
  auto server =
      RegistryProcess::start({.kind = RegistryKind::distribution,
                              .distribution_config_extra =
                                  "  tls:\n    certificate: " + cert + "\n    key: " + key + "\n"});
  // The process helper probes readiness over plain http; a TLS server answers that with 400.
  BOOST_REQUIRE_MESSAGE(server.has_value(), (server ? "" : server.error().to_string()));
  std::string registry = "localhost:" + std::to_string(port_of((*server)->host_port()));
  auto c = client(registry, {.plain_http = false, .ca_file = cert});
  BOOST_TEST(c->check_auth().has_value());
  std::string bytes = fx::blob_bytes(3, 2 << 20);
  push(*c, "app", bytes);
  auto src = c->open_blob("app", Digest::of(bytes));
  BOOST_REQUIRE_MESSAGE(src.has_value(), (src ? "" : src.error().to_string()));
  BOOST_TEST(*read_all(**src) == bytes);
  auto untrusted = client(registry, {.plain_http = false});
  BOOST_TEST(untrusted->check_auth().error().kind() == ErrorKind::unavailable);
  auto unverified = client(registry, {.plain_http = false, .tls_verify = false});
  BOOST_TEST(unverified->check_auth().has_value());
}

BOOST_AUTO_TEST_CASE(blob_read_cut_in_the_middle_resumes) {
  if (!gantry::testing::require(RegistryProcess::program(RegistryKind::distribution).has_value(),
                                "docker-registry is not installed"))
    return;
  auto server = start_distribution();
  std::string bytes = fx::blob_bytes(4, 3 << 20);
  push(*client(server->host_port()), "app", bytes);
  CuttingProxy proxy(port_of(server->host_port()), 1 << 20);
  auto c = client("127.0.0.1:" + std::to_string(proxy.port()));
  auto src = c->open_blob("app", Digest::of(bytes), bytes.size());
  BOOST_REQUIRE_MESSAGE(src.has_value(), (src ? "" : src.error().to_string()));
  auto got = read_all(**src);
  BOOST_REQUIRE_MESSAGE(got.has_value(), (got ? "" : got.error().to_string()));
  BOOST_TEST(*got == bytes);
  BOOST_TEST(proxy.connections() >= 2);
}

BOOST_AUTO_TEST_CASE(bearer_token_from_gantry_registry) {
  auto program = RegistryProcess::program(RegistryKind::gantry);
  if (!gantry::testing::require(program.has_value(), "gantry-registry is not built") ||
      !gantry::testing::require_program("htpasswd") || !gantry::testing::require_program("openssl"))
    return;
  TempDir dir;
  std::string key = (dir / "token.pem").string(), users = (dir / "htpasswd").string();
  auto k = sys::run({"openssl", "genrsa", "-out", key, "2048"}, 60000);
  BOOST_REQUIRE(k && k->status.success());
  auto h = sys::run({"htpasswd", "-B", "-b", "-c", users, "alice", "secret"}, 30000);
  BOOST_REQUIRE(h && h->status.success());
  std::string port = std::to_string(free_port());
  std::string hp = "127.0.0.1:" + port;
  auto child = sys::spawn(
      {program->string(), "serve", "--addr", hp, "--root", (dir / "root").string(), "--htpasswd",
       users, "--token-realm", "http://" + hp + "/token", "--token-service", "gantry-test",
       "--token-issuer", "gantry-test", "--token-key", key, "--token-server"},
      {.capture_stdout = true});
  BOOST_REQUIRE(child.has_value());
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{child->pid()};
  // Wait for its "listening on" line (the pipe may be non-blocking).
  char line[256];
  ssize_t got = -1;
  for (int i = 0; i < 100 && got <= 0; ++i) {
    pollfd p{child->stdout_fd().get(), POLLIN, 0};
    ::poll(&p, 1, 100);
    got = ::read(child->stdout_fd().get(), line, sizeof line);
  }
  BOOST_REQUIRE(got > 0);
  auto c = client(hp, {.credentials = rc::Credentials{"alice", "secret", ""}});
  BOOST_TEST(c->check_auth("app").has_value());
  push(*c, "app", "token bytes");
  BOOST_TEST(*c->read_blob("app", Digest::of("token bytes")) == "token bytes");
  auto bad = client(hp, {.credentials = rc::Credentials{"alice", "nope", ""}});
  BOOST_TEST(bad->check_auth("app").error().kind() == ErrorKind::permission_denied);
}

BOOST_AUTO_TEST_SUITE_END()
