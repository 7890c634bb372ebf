// The real gantry-registry program over raw HTTP on 127.0.0.1: every endpoint's answers on the
// wire (keep-alive, chunked bodies, Expect: 100-continue, HEAD), a 100 MB blob up and down with
// the server's peak memory far below it, 32 concurrent uploads, basic auth, bearer tokens from
// its own token server, TLS (checked with curl), the config file, offline gc, and a clean exit
// on SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "model/base/digest.h"
#include "runtime/sys/process.h"
#include "tests/integration/registry/server/http_client.h"
#include "tests/support/registry/registry_process.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace reg = gantry::testing::registry;
namespace sys = gantry::runtime::sys;
using gantry::Digest;
using gantry::testing::RegistryKind;
using gantry::testing::RegistryProcess;
using gantry::testing::RegistryProcessOptions;
using gantry::testing::TempDir;
using reg::HttpClient;

namespace {

std::unique_ptr<RegistryProcess> start(std::vector<std::string> extra = {}) {
  RegistryProcessOptions o;
  o.kind = RegistryKind::gantry;
  o.extra_args = std::move(extra);
  auto p = RegistryProcess::start(o);
  if (!p) BOOST_FAIL("start gantry-registry: " << p.error().to_string());
  return std::move(p).value();
}

std::string code_of(const reg::HttpAnswer& a) {
  auto j = nlohmann::json::parse(a.body, nullptr, false);
  if (!j.is_object() || !j.contains("errors")) return "";
  return j["errors"][0].value("code", "");
}

std::string digest_of(std::string_view s) {
  return Digest::of(s).str();
}

// Pseudo-random bytes that are cheap to make at any offset.
void pattern(uint64_t at, char* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint64_t x = (at + i) * 0x9E3779B97F4A7C15ull;
    out[i] = static_cast<char>(x >> 56);
  }
}

uint64_t vm_hwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

int free_port() {
  sys::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string basic(const std::string& user_password) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < user_password.size(); i += 3) {
    uint32_t v = (uint8_t(user_password[i]) << 16) | (uint8_t(user_password[i + 1]) << 8) |
                 uint8_t(user_password[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += tbl[(v >> k) & 63];
  }
  size_t rest = user_password.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(user_password[i]) << 16;
    if (rest == 2) v |= uint8_t(user_password[i + 1]) << 8;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += rest == 2 ? tbl[(v >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

std::string write_htpasswd(const TempDir& dir) {
  auto line = sys::run({"htpasswd", "-nbB", "alice", "secret"}, 30000);
  BOOST_REQUIRE(line && line->status.success());
  std::string path = (dir / "htpasswd").string();
  std::ofstream(path) << line->stdout_text;
  return path;
}

// Starts gantry-registry ourselves (for TLS and exit-status checks) and reads its first line.
struct OwnProcess {
  sys::Child child;
  std::string first_line;
  OwnProcess(std::vector<std::string> args) {
    auto prog = RegistryProcess::program(RegistryKind::gantry);
    BOOST_REQUIRE(prog);
    args.insert(args.begin(), prog->string());
    sys::SpawnOptions o;
    o.capture_stdout = true;
    auto c = sys::spawn(args, o);
    BOOST_REQUIRE(c);
    child = std::move(*c);
    // The pipe may be non-blocking: wait for each byte (15 s at most in all).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{child.stdout_fd().get(), POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      char ch;
      ssize_t n = ::read(child.stdout_fd().get(), &ch, 1);
      if (n == 0 || (n == 1 && ch == '\n')) break;
      if (n == 1) first_line += ch;
    }
  }
  std::string port() const { return first_line.substr(first_line.rfind(':') + 1); }
  sys::ExitStatus stop(int sig) {
    ::kill(child.pid(), sig);
    auto r = sys::wait(child, 15000);
    BOOST_REQUIRE(r);
    return r->status;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_server)

BOOST_AUTO_TEST_CASE(endpoints_on_the_wire) {
  auto server = start();
  HttpClient c(server->host_port());  // one connection for everything: keep-alive
  auto base = c.request("GET", "/v2/");
  BOOST_TEST(base.status == 200);
  BOOST_TEST(base.header("docker-distribution-api-version") == "registry/2.0");

  std::string blob = "0123456789";
  std::string d = digest_of(blob);
  auto mono = c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + d, {}, blob);
  BOOST_TEST(mono.status == 201);
  BOOST_TEST(mono.header("docker-content-digest") == d);
  auto head = c.request("HEAD", "/v2/lib/app/blobs/" + d);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("content-length") == "10");
  BOOST_TEST(head.header("docker-content-digest") == d);
  auto get = c.request("GET", "/v2/lib/app/blobs/" + d);
  BOOST_TEST(get.body == blob);
  auto range = c.request("GET", "/v2/lib/app/blobs/" + d, {{"Range", "bytes=3-5"}});
  BOOST_TEST(range.status == 206);
  BOOST_TEST(range.body == "345");
  BOOST_TEST(range.header("content-range") == "bytes 3-5/10");
  BOOST_TEST(c.request("GET", "/v2/lib/app/blobs/" + d, {{"Range", "bytes=10-"}}).status == 416);
  auto unknown = c.request("GET", "/v2/lib/app/blobs/" + digest_of("nope"));
  BOOST_TEST(unknown.status == 404);
  BOOST_TEST(code_of(unknown) == "BLOB_UNKNOWN");

  // Chunked upload: PATCH with Content-Range, a chunked-encoding PATCH, Expect: 100-continue.
  auto s = c.request("POST", "/v2/lib/app/blobs/uploads/");
  BOOST_TEST(s.status == 202);
  std::string loc = s.header("location");
  BOOST_TEST(s.header("range") == "0-0");
  auto p1 = c.request("PATCH", loc, {{"Content-Range", "0-2"}}, "abc");
  BOOST_TEST(p1.status == 202);
  BOOST_TEST(p1.header("range") == "0-2");
  BOOST_TEST(c.request("PATCH", loc, {{"Content-Range", "0-2"}}, "abc").status == 416);
  auto p2 = c.request("PATCH", loc, {{"Transfer-Encoding", "chunked"}}, "def");
  BOOST_TEST(p2.status == 202);
  BOOST_TEST(p2.header("range") == "0-5");
  auto p3 = c.request("PATCH", loc, {{"Expect", "100-continue"}, {"Content-Range", "6-8"}}, "ghi");
  BOOST_TEST(p3.status == 202);
  BOOST_TEST(c.request("GET", loc).status == 204);
  std::string whole = "abcdefghijkl";
  auto put = c.request("PUT", loc + "?digest=" + digest_of(whole), {}, "jkl");
  BOOST_TEST(put.status == 201);
  BOOST_TEST(put.header("docker-content-digest") == digest_of(whole));
  BOOST_TEST(c.request("GET", "/v2/lib/app/blobs/" + digest_of(whole)).body == whole);
  auto gone = c.request("GET", loc);
  BOOST_TEST(gone.status == 404);
  BOOST_TEST(code_of(gone) == "BLOB_UPLOAD_UNKNOWN");
  auto s2 = c.request("POST", "/v2/lib/app/blobs/uploads/");
  BOOST_TEST(c.request("DELETE", s2.header("location")).status == 204);

  // Manifests, tags, catalog.
  std::string config = "{}";
  c.request("POST", "/v2/lib/app/blobs/uploads/?digest=" + digest_of(config), {}, config);
  nlohmann::ordered_json m = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", digest_of(config)},
        {"size", 2}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"}, {"digest", d}, {"size", 10}}}}};
  std::string mb = m.dump();
  const std::string type = "application/vnd.oci.image.manifest.v1+json";
  for (const char* tag : {"a", "b", "c"})
    BOOST_TEST(
        c.request("PUT", std::string("/v2/lib/app/manifests/") + tag, {{"Content-Type", type}}, mb)
            .status == 201);
  auto mg = c.request("GET", "/v2/lib/app/manifests/a");
  BOOST_TEST(mg.body == mb);
  BOOST_TEST(mg.header("content-type") == type);
  BOOST_TEST(mg.header("docker-content-digest") == digest_of(mb));
  auto mh = c.request("HEAD", "/v2/lib/app/manifests/" + digest_of(mb));
  BOOST_TEST(mh.status == 200);
  BOOST_TEST(mh.header("content-length") == std::to_string(mb.size()));
  auto tags = c.request("GET", "/v2/lib/app/tags/list?n=2");
  BOOST_TEST(tags.header("link") == "</v2/lib/app/tags/list?n=2&last=b>; rel=\"next\"");
  BOOST_TEST(nlohmann::json::parse(tags.body)["tags"] == nlohmann::json({"a", "b"}));
  auto cat = c.request("GET", "/v2/_catalog");
  BOOST_TEST(nlohmann::json::parse(cat.body)["repositories"] == nlohmann::json({"lib/app"}));
  BOOST_TEST(c.request("GET", "/v2/lib/app/referrers/" + digest_of(mb)).status == 200);
  auto missing_blob = c.request("PUT", "/v2/other/manifests/x", {{"Content-Type", type}}, mb);
  BOOST_TEST(code_of(missing_blob) == "MANIFEST_BLOB_UNKNOWN");
  BOOST_TEST(c.request("DELETE", "/v2/lib/app/manifests/c").status == 202);
  BOOST_TEST(c.request("DELETE", "/v2/lib/app/blobs/" + d).status == 202);
  BOOST_TEST(c.request("GET", "/v2/lib/app/blobs/" + d).status == 404);

  // Routes and methods that do not exist; a head too large.
  auto nowhere = c.request("GET", "/nowhere");
  BOOST_TEST(nowhere.status == 404);
  BOOST_TEST(code_of(nowhere) == "UNSUPPORTED");
  BOOST_TEST(c.request("PUT", "/v2/lib/app/blobs/" + d).status == 405);
  HttpClient big(server->host_port());
  auto huge = big.request("GET", "/v2/", {{"X-Filler", std::string(100 * 1024, 'x')}});
  BOOST_TEST(huge.status == 431);
}

BOOST_AUTO_TEST_CASE(manifest_over_the_limit_is_refused_unread) {
  auto server = start();
  HttpClient c(server->host_port());
  // 64 MiB announced with Expect: 100-continue: the answer comes at once, no body is read,
  // and the connection closes.
  auto a = c.request_streamed(
      "PUT", "/v2/a/manifests/t",
      {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}, {"Expect", "100-continue"}},
      64ull << 20, nullptr);
  BOOST_TEST(a.status == 413);
  BOOST_TEST(code_of(a) == "SIZE_INVALID");
  BOOST_TEST(a.header("connection") == "close");
  BOOST_TEST(c.closed_by_peer());
}

BOOST_AUTO_TEST_CASE(blob_of_100_mb_streams_with_constant_memory) {
  auto server = start({"--no-fsync"});
  const uint64_t size = 100ull << 20;
  gantry::Sha256 hash;
  std::vector<char> tmp(1 << 20);
  for (uint64_t at = 0; at < size; at += tmp.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(tmp.size(), size - at));
    pattern(at, tmp.data(), n);
    hash.update({reinterpret_cast<const uint8_t*>(tmp.data()), n});
  }
  std::string d = hash.finish().str();

  HttpClient c(server->host_port());
  auto s = c.request("POST", "/v2/big/blobs/uploads/");
  auto t0 = std::chrono::steady_clock::now();
  auto p = c.request_streamed("PATCH", s.header("location"), {}, size, pattern);
  BOOST_REQUIRE_EQUAL(p.status, 202);
  auto put = c.request("PUT", p.header("location") + "?digest=" + d);
  BOOST_REQUIRE_EQUAL(put.status, 201);
  auto t1 = std::chrono::steady_clock::now();

  gantry::Sha256 down;
  uint64_t got = 0;
  c.set_sink([&](const char* data, size_t n) {
    down.update({reinterpret_cast<const uint8_t*>(data), n});
    got += n;
  });
  auto g = c.request("GET", "/v2/big/blobs/" + d);
  auto t2 = std::chrono::steady_clock::now();
  BOOST_TEST(g.status == 200);
  BOOST_TEST(got == size);
  BOOST_TEST(down.finish().str() == d);
  auto mbps = [&](auto a, auto b) { return 100.0 / std::chrono::duration<double>(b - a).count(); };
  uint64_t hwm = vm_hwm_kib(server->pid());
  BOOST_TEST_MESSAGE("100 MB blob: push " << mbps(t0, t1) << " MB/s, pull " << mbps(t1, t2)
                                          << " MB/s, server VmHWM " << hwm / 1024 << " MiB");
  BOOST_TEST(hwm > 0u);
  BOOST_TEST(hwm < 40u * 1024, "server peak memory " << hwm << " KiB for a 100 MB blob");
}

BOOST_AUTO_TEST_CASE(thirty_two_uploads_at_once) {
  auto server = start();
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      try {
        HttpClient c(server->host_port());
        std::string blob(256 * 1024 + t, static_cast<char>('a' + t % 26));
        std::string repo = "conc/r" + std::to_string(t % 4);
        auto s = c.request("POST", "/v2/" + repo + "/blobs/uploads/");
        size_t half = blob.size() / 2;
        auto p = c.request("PATCH", s.header("location"),
                           {{"Content-Range", "0-" + std::to_string(half - 1)}},
                           std::string_view(blob).substr(0, half));
        auto put = c.request("PUT", p.header("location") + "?digest=" + digest_of(blob), {},
                             std::string_view(blob).substr(half));
        if (put.status == 201 &&
            c.request("GET", "/v2/" + repo + "/blobs/" + digest_of(blob)).body == blob)
          ++created;
      } catch (const std::exception&) {
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(created.load() == 32);
}

BOOST_AUTO_TEST_CASE(basic_auth_over_http) {
  if (!gantry::testing::require_program("htpasswd")) return;
  TempDir dir;
  auto server = start({"--htpasswd", write_htpasswd(dir)});
  HttpClient c(server->host_port());
  auto anon = c.request("GET", "/v2/");
  BOOST_TEST(anon.status == 401);
  BOOST_TEST(anon.header("www-authenticate") == "Basic realm=\"gantry-registry\"");
  BOOST_TEST(code_of(anon) == "UNAUTHORIZED");
  BOOST_TEST(c.request("GET", "/v2/", {{"Authorization", basic("alice:nope")}}).status == 401);
  BOOST_TEST(c.request("GET", "/v2/", {{"Authorization", basic("alice:secret")}}).status == 200);
}

BOOST_AUTO_TEST_CASE(bearer_with_the_built_in_token_server) {
  if (!gantry::testing::require_program("htpasswd") || !gantry::testing::require_program("openssl"))
    return;
  TempDir dir;
  std::string key = (dir / "token.pem").string();
  auto made = sys::run({"openssl", "genrsa", "-out", key, "2048"}, 30000);
  BOOST_REQUIRE(made && made->status.success());
  std::string port = std::to_string(free_port());
  // Our own port, so that the realm names this server's /token.
  OwnProcess p({"serve", "--addr", "127.0.0.1:" + port, "--root", (dir / "root").string(),
                "--htpasswd", write_htpasswd(dir), "--token-realm",
                "http://127.0.0.1:" + port + "/token", "--token-service", "gantry-test",
                "--token-issuer", "gantry-test-issuer", "--token-key", key, "--token-server"});
  BOOST_REQUIRE_EQUAL(p.first_line, "listening on http://127.0.0.1:" + port);
  HttpClient c("127.0.0.1:" + port);
  auto challenge = c.request("GET", "/v2/app/tags/list");
  BOOST_TEST(challenge.status == 401);
  std::string www = challenge.header("www-authenticate");
  BOOST_TEST(www == "Bearer realm=\"http://127.0.0.1:" + port +
                        "/token\",service=\"gantry-test\",scope=\"repository:app:pull,push\"");
  auto tok = c.request("GET", "/token?service=gantry-test&scope=repository:app:pull,push",
                       {{"Authorization", basic("alice:secret")}});
  BOOST_REQUIRE_EQUAL(tok.status, 200);
  std::string bearer = "Bearer " + nlohmann::json::parse(tok.body)["token"].get<std::string>();
  auto s = c.request("POST", "/v2/app/blobs/uploads/?digest=" + digest_of("x"),
                     {{"Authorization", bearer}}, "x");
  BOOST_TEST(s.status == 201);
  BOOST_TEST(
      c.request("GET", "/v2/app/blobs/" + digest_of("x"), {{"Authorization", bearer}}).body == "x");
  BOOST_TEST(
      c.request("GET", "/v2/other/blobs/" + digest_of("x"), {{"Authorization", bearer}}).status ==
      401);
  BOOST_TEST(p.stop(SIGTERM).success());
}

BOOST_AUTO_TEST_CASE(tls_with_a_self_signed_certificate) {
  if (!gantry::testing::require_program("openssl") || !gantry::testing::require_program("curl"))
    return;
  TempDir dir;
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  auto made =
      sys::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
               30000);
  BOOST_REQUIRE(made && made->status.success());
  OwnProcess p({"serve", "--addr", "127.0.0.1:0", "--root", (dir / "root").string(), "--tls-cert",
                cert, "--tls-key", key});
  BOOST_REQUIRE(p.first_line.starts_with("listening on https://127.0.0.1:"));
  std::string url = "https://127.0.0.1:" + p.port();
  auto blob = (dir / "blob").string();
  std::ofstream(blob) << "over tls";
  auto push = sys::run(
      {"curl", "-sS", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
       "--data-binary", "@" + blob, url + "/v2/t/blobs/uploads/?digest=" + digest_of("over tls")},
      30000);
  BOOST_REQUIRE(push);
  BOOST_TEST(push->stdout_text == "201");
  auto pull = sys::run(
      {"curl", "-sS", "--cacert", cert, url + "/v2/t/blobs/" + digest_of("over tls")}, 30000);
  BOOST_REQUIRE(pull);
  BOOST_TEST(pull->stdout_text == "over tls");
  BOOST_TEST(p.stop(SIGTERM).success());
}

BOOST_AUTO_TEST_CASE(config_file_gc_and_sigterm) {
  TempDir dir;
  std::string config = (dir / "config.json").string();
  std::ofstream(config) << R"({"addr": "127.0.0.1:0", "no-delete": true, "gc-interval": 1,
                              "threads": 2})";
  OwnProcess p({"serve", "--root", (dir / "root").string(), "--config", config});
  BOOST_REQUIRE(p.first_line.starts_with("listening on http://127.0.0.1:"));
  HttpClient c("127.0.0.1:" + p.port());
  c.request("POST", "/v2/g/blobs/uploads/?digest=" + digest_of("y"), {}, "y");
  auto del = c.request("DELETE", "/v2/g/blobs/" + digest_of("y"));
  BOOST_TEST(del.status == 405);
  BOOST_TEST(code_of(del) == "UNSUPPORTED");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));               // a gc round or two
  BOOST_TEST(c.request("GET", "/v2/g/blobs/" + digest_of("y")).body == "y");  // linked: kept
  sys::ExitStatus st = p.stop(SIGTERM);
  BOOST_TEST(st.success(), st.describe());

  std::ofstream(config) << R"({"bogus": 1})";
  auto bad = sys::run({RegistryProcess::program(RegistryKind::gantry)->string(), "serve", "--root",
                       (dir / "root").string(), "--config", config},
                      10000);
  BOOST_REQUIRE(bad);
  BOOST_TEST(bad->status.exit_code == 2);
  BOOST_TEST(bad->stderr_text.find("bogus") != std::string::npos);

  auto gc = sys::run({RegistryProcess::program(RegistryKind::gantry)->string(), "gc", "--root",
                      (dir / "root").string()},
                     30000);
  BOOST_REQUIRE(gc);
  BOOST_TEST(gc->status.success(), gc->stderr_text);
  BOOST_TEST(gc->stderr_text.find("gc: removed") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
