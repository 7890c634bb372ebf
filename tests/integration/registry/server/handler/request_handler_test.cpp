// gantry-registry's HTTP details, without sockets: routes, methods, the headers of each answer
// (Docker-Content-Digest, Location, Range, Link, Content-Range), HEAD, Range GETs, the manifest
// size limit, chunked bodies, basic auth, bearer tokens and the built-in token server.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/api/registry_http.h"
#include "runtime/registry/server/auth.h"
#include "runtime/registry/server/jwt.h"
#include "runtime/sys/process.h"
#include "tests/conformance/registry/registry_fixtures.h"
#include "tests/integration/registry/server/handler/handler_registry.h"
#include "tests/support/require.h"
#include "tests/support/temp_dir.h"

namespace reg = gantry::testing::registry;
namespace server = gantry::runtime::registry::server;
namespace sys = gantry::runtime::sys;
using gantry::testing::TempDir;
using server::HttpRequest;

namespace {

std::string code_of(const server::HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("errors")) return "";
  return j["errors"][0].value("code", "");
}

std::string pushed(reg::HandlerRegistry& r, const std::string& repo, const std::string& bytes) {
  std::string d = reg::digest_of(bytes);
  auto a = r.send({"POST", "/v2/" + repo + "/blobs/uploads/?digest=" + d, {}, bytes});
  BOOST_REQUIRE_EQUAL(a.response.status, 201);
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_request_handler)

BOOST_AUTO_TEST_CASE(base_and_unknown_routes) {
  reg::HandlerRegistry r;
  auto base = r.send({"GET", "/v2/", {}, {}});
  BOOST_TEST(base.response.status == 200);
  BOOST_TEST(base.response.header("Docker-Distribution-API-Version") == "registry/2.0");
  auto nowhere = r.send({"GET", "/v3/foo", {}, {}});
  BOOST_TEST(nowhere.response.status == 404);
  BOOST_TEST(code_of(nowhere.response) == "UNSUPPORTED");
  BOOST_TEST(r.send({"GET", "/v2/foo/bar", {}, {}}).response.status == 404);
  BOOST_TEST(r.send({"GET", "/token", {}, {}}).response.status == 404);  // no token server
  auto wrong = r.send({"PATCH", "/v2/foo/manifests/latest", {}, {}});
  BOOST_TEST(wrong.response.status == 405);
  BOOST_TEST(wrong.response.header("Allow") == "GET, HEAD, PUT, DELETE");
  BOOST_TEST(code_of(wrong.response) == "UNSUPPORTED");
  BOOST_TEST(r.send({"POST", "/v2/_catalog", {}, {}}).response.status == 405);
}

BOOST_AUTO_TEST_CASE(blob_head_get_and_ranges) {
  reg::HandlerRegistry r;
  std::string bytes = "0123456789";
  std::string d = pushed(r, "a/b", bytes);
  auto head = r.send({"HEAD", "/v2/a/b/blobs/" + d, {}, {}});
  BOOST_TEST(head.response.status == 200);
  BOOST_TEST(head.response.header("Docker-Content-Digest") == d);
  BOOST_TEST(head.response.content_length.value_or(0) == 10u);
  BOOST_TEST(!head.response.file.has_value());
  BOOST_TEST(head.response.body.empty());

  auto get = r.send({"GET", "/v2/a/b/blobs/" + d, {}, {}});
  BOOST_TEST(get.response.status == 200);
  BOOST_TEST(get.file_bytes == bytes);
  BOOST_TEST(get.response.header("Docker-Content-Digest") == d);

  auto part = r.send({"GET", "/v2/a/b/blobs/" + d, {{"Range", "bytes=2-4"}}, {}});
  BOOST_TEST(part.response.status == 206);
  BOOST_TEST(part.file_bytes == "234");
  BOOST_TEST(part.response.header("Content-Range") == "bytes 2-4/10");
  auto open = r.send({"GET", "/v2/a/b/blobs/" + d, {{"Range", "bytes=7-"}}, {}});
  BOOST_TEST(open.response.status == 206);
  BOOST_TEST(open.file_bytes == "789");
  auto beyond = r.send({"GET", "/v2/a/b/blobs/" + d, {{"Range", "bytes=10-20"}}, {}});
  BOOST_TEST(beyond.response.status == 416);
  BOOST_TEST(beyond.response.header("Content-Range") == "bytes */10");
  BOOST_TEST(code_of(beyond.response) == "RANGE_INVALID");
  BOOST_TEST(r.send({"GET", "/v2/a/b/blobs/" + d, {{"Range", "bytes=5-3"}}, {}}).response.status ==
             416);
  // Forms the server does not read are ignored (RFC 9110): the whole blob.
  BOOST_TEST(r.send({"GET", "/v2/a/b/blobs/" + d, {{"Range", "bytes=-3"}}, {}}).response.status ==
             200);

  // A digest that is not UTF-8 is quoted in the message: still a JSON error body.
  auto binary = r.send({"GET", std::string("/v2/a/b/blobs/sha256:\xc8\x00\xff", 24), {}, {}});
  BOOST_TEST(binary.response.status == 400);
  BOOST_TEST(code_of(binary.response) == "DIGEST_INVALID");

  auto missing = r.send({"GET", "/v2/a/b/blobs/" + reg::digest_of("x"), {}, {}});
  BOOST_TEST(missing.response.status == 404);
  BOOST_TEST(code_of(missing.response) == "BLOB_UNKNOWN");
  auto missing_head = r.send({"HEAD", "/v2/a/b/blobs/" + reg::digest_of("x"), {}, {}});
  BOOST_TEST(missing_head.response.status == 404);
  BOOST_TEST(missing_head.response.body.empty());
}

BOOST_AUTO_TEST_CASE(chunked_upload_headers) {
  reg::HandlerRegistry r;
  auto start = r.send({"POST", "/v2/repo/blobs/uploads/", {}, {}});
  BOOST_TEST(start.response.status == 202);
  std::string loc(start.response.header("Location"));
  BOOST_TEST(loc.starts_with("/v2/repo/blobs/uploads/"));
  BOOST_TEST(start.response.header("Range") == "0-0");
  BOOST_TEST(start.response.header("Docker-Upload-UUID") == loc.substr(loc.rfind('/') + 1));

  auto c1 = r.send({"PATCH", loc, {{"Content-Range", "0-4"}}, "hello"});
  BOOST_TEST(c1.response.status == 202);
  BOOST_TEST(c1.response.header("Range") == "0-4");
  BOOST_TEST(c1.response.header("Location") == loc);
  auto stale = r.send({"PATCH", loc, {{"Content-Range", "0-4"}}, "hello"});
  BOOST_TEST(stale.response.status == 416);
  BOOST_TEST(code_of(stale.response) == "RANGE_INVALID");
  auto bad = r.send({"PATCH", loc, {{"Content-Range", "5-9"}}, "abc"});  // length disagrees
  BOOST_TEST(bad.response.status == 416);
  // A streamed PATCH (no Content-Range, chunked transfer) appends at the offset.
  HttpRequest streamed{"PATCH", loc, {}, " world"};
  streamed.chunked = true;
  auto c2 = r.send(streamed);
  BOOST_TEST(c2.response.status == 202);
  BOOST_TEST(c2.response.header("Range") == "0-10");
  auto status = r.send({"GET", loc, {}, {}});
  BOOST_TEST(status.response.status == 204);
  BOOST_TEST(status.response.header("Range") == "0-10");

  std::string d = reg::digest_of("hello world!");
  auto done = r.send({"PUT", loc + "?digest=" + d, {}, "!"});
  BOOST_TEST(done.response.status == 201);
  BOOST_TEST(done.response.header("Docker-Content-Digest") == d);
  BOOST_TEST(done.response.header("Location") == "/v2/repo/blobs/" + d);
  BOOST_TEST(r.send({"GET", loc, {}, {}}).response.status == 404);
  BOOST_TEST(r.send({"GET", "/v2/repo/blobs/" + d, {}, {}}).file_bytes == "hello world!");

  // A wrong digest ends the session (400 DIGEST_INVALID, then 404).
  auto s2 = r.send({"POST", "/v2/repo/blobs/uploads", {}, {}});
  std::string loc2(s2.response.header("Location"));
  auto wrong = r.send({"PUT", loc2 + "?digest=" + reg::digest_of("other"), {}, "data"});
  BOOST_TEST(wrong.response.status == 400);
  BOOST_TEST(code_of(wrong.response) == "DIGEST_INVALID");
  BOOST_TEST(r.send({"GET", loc2, {}, {}}).response.status == 404);
  BOOST_TEST(r.send({"DELETE", loc2, {}, {}}).response.status == 404);
}

BOOST_AUTO_TEST_CASE(monolithic_post_and_mount) {
  reg::HandlerRegistry r;
  HttpRequest chunked{"POST", "/v2/x/blobs/uploads/?digest=" + reg::digest_of("abc"), {}, "abc"};
  chunked.chunked = true;
  BOOST_TEST(r.send(chunked).response.status == 201);
  auto bad = r.send({"POST", "/v2/x/blobs/uploads/?digest=" + reg::digest_of("abd"), {}, "abc"});
  BOOST_TEST(bad.response.status == 400);
  BOOST_TEST(code_of(bad.response) == "DIGEST_INVALID");
  auto malformed = r.send({"POST", "/v2/x/blobs/uploads/?digest=sha256:zz", {}, "abc"});
  BOOST_TEST(code_of(malformed.response) == "DIGEST_INVALID");
  auto bad_name = r.send({"POST", "/v2/X/blobs/uploads/", {}, {}});
  BOOST_TEST(bad_name.response.status == 400);
  BOOST_TEST(code_of(bad_name.response) == "NAME_INVALID");

  std::string d = reg::digest_of("abc");
  auto mounted = r.send({"POST", "/v2/y/blobs/uploads/?mount=" + d + "&from=x", {}, {}});
  BOOST_TEST(mounted.response.status == 201);
  BOOST_TEST(mounted.response.header("Docker-Content-Digest") == d);
  BOOST_TEST(mounted.response.header("Location") == "/v2/y/blobs/" + d);
  auto fallback = r.send({"POST", "/v2/y/blobs/uploads/?mount=" + d + "&from=nowhere", {}, {}});
  BOOST_TEST(fallback.response.status == 202);
  BOOST_TEST(!fallback.response.header("Location").empty());
}

BOOST_AUTO_TEST_CASE(manifests_tags_catalog_referrers) {
  reg::HandlerRegistry r;
  reg::ImageSpec spec;
  spec.layers = {"layer-one"};
  for (const auto& b : {spec.config, spec.layers[0]}) pushed(r, "app", b);
  std::string m = reg::image_manifest(spec);
  std::string d = reg::digest_of(m);
  for (const char* tag : {"v1", "v2", "v3"}) {
    auto put = r.send({"PUT",
                       std::string("/v2/app/manifests/") + tag,
                       {{"Content-Type", std::string(gantry::api::kOciManifestType)}},
                       m});
    BOOST_TEST(put.response.status == 201);
    BOOST_TEST(put.response.header("Docker-Content-Digest") == d);
    BOOST_TEST(put.response.header("Location") == "/v2/app/manifests/" + d);
  }
  auto get = r.send({"GET", "/v2/app/manifests/v1", {}, {}});
  BOOST_TEST(get.response.status == 200);
  BOOST_TEST(get.response.body == m);
  BOOST_TEST(get.response.header("Content-Type") == gantry::api::kOciManifestType);
  BOOST_TEST(get.response.header("Docker-Content-Digest") == d);
  auto head = r.send({"HEAD", "/v2/app/manifests/" + d, {}, {}});
  BOOST_TEST(head.response.status == 200);
  BOOST_TEST(head.response.content_length.value_or(0) == m.size());
  BOOST_TEST(head.response.body.empty());

  auto page = r.send({"GET", "/v2/app/tags/list?n=2", {}, {}});
  BOOST_TEST(page.response.status == 200);
  BOOST_TEST(nlohmann::json::parse(page.response.body)["tags"] == nlohmann::json({"v1", "v2"}));
  BOOST_TEST(page.response.header("Link") == "</v2/app/tags/list?n=2&last=v2>; rel=\"next\"");
  auto rest = r.send({"GET", "/v2/app/tags/list?n=2&last=v2", {}, {}});
  BOOST_TEST(rest.response.header("Link").empty());
  BOOST_TEST(r.send({"GET", "/v2/nothing/tags/list", {}, {}}).response.status == 404);
  BOOST_TEST(r.send({"GET", "/v2/app/tags/list?n=x", {}, {}}).response.status == 400);
  auto cat = r.send({"GET", "/v2/_catalog", {}, {}});
  BOOST_TEST(nlohmann::json::parse(cat.response.body)["repositories"] == nlohmann::json({"app"}));

  // A referrer of the manifest.
  reg::ImageSpec sig;
  sig.config = "{\"sig\":1}";
  sig.artifact_type = "application/vnd.example.sig";
  sig.subject = m;
  pushed(r, "app", sig.config);
  std::string sm = reg::image_manifest(sig);
  auto put = r.send({"PUT",
                     "/v2/app/manifests/" + reg::digest_of(sm),
                     {{"Content-Type", std::string(gantry::api::kOciManifestType)}},
                     sm});
  BOOST_TEST(put.response.status == 201);
  BOOST_TEST(put.response.header("OCI-Subject") == d);
  auto refs = r.send(
      {"GET", "/v2/app/referrers/" + d + "?artifactType=application/vnd.example.sig", {}, {}});
  BOOST_TEST(refs.response.status == 200);
  BOOST_TEST(refs.response.header("OCI-Filters-Applied") == "artifactType");
  BOOST_TEST(nlohmann::json::parse(refs.response.body)["manifests"].size() == 1u);

  BOOST_TEST(r.send({"DELETE", "/v2/app/manifests/v3", {}, {}}).response.status == 202);
  BOOST_TEST(r.send({"DELETE", "/v2/app/manifests/" + d, {}, {}}).response.status == 202);
  BOOST_TEST(r.send({"GET", "/v2/app/manifests/v1", {}, {}}).response.status == 404);
}

BOOST_AUTO_TEST_CASE(manifest_size_limit) {
  reg::HandlerRegistry r({}, server::HandlerOptions{.manifest_limit_bytes = 1000});
  std::string big(2000, ' ');
  // Known length above the limit: refused before the body is read, and the connection closes.
  auto pending = r.handler().begin(server::RequestHead{
      "PUT", "/v2/a/manifests/t", {}, gantry::api::kOciManifestType, {}, {}, 5u << 20});
  BOOST_TEST(!pending->wants_body());
  auto early = pending->finish();
  BOOST_TEST(early.status == 413);
  BOOST_TEST(early.close);
  BOOST_TEST(code_of(early) == "SIZE_INVALID");
  // Chunked: counted as it comes, not kept.
  HttpRequest chunked{"PUT",
                      "/v2/a/manifests/t",
                      {{"Content-Type", std::string(gantry::api::kOciManifestType)}},
                      big};
  chunked.chunked = true;
  BOOST_TEST(r.send(chunked).response.status == 413);
  // Name and reference are checked first (the model's order).
  BOOST_TEST(code_of(r.send({"PUT", "/v2/A/manifests/t", {}, big}).response) == "NAME_INVALID");
  BOOST_TEST(code_of(r.send({"PUT", "/v2/a/manifests/-t", {}, big}).response) ==
             "MANIFEST_INVALID");
}

BOOST_AUTO_TEST_CASE(deletion_disabled) {
  reg::HandlerRegistry r(gantry::runtime::registry::StoreOptions{.deletion = false});
  std::string d = pushed(r, "a", "x");
  auto del = r.send({"DELETE", "/v2/a/blobs/" + d, {}, {}});
  BOOST_TEST(del.response.status == 405);
  BOOST_TEST(code_of(del.response) == "UNSUPPORTED");
}

BOOST_AUTO_TEST_CASE(jwt_sign_and_verify) {
  if (!gantry::testing::require_program("openssl")) return;
  TempDir dir;
  for (const char* alg : {"ec", "rsa"}) {
    std::string key = (dir / (std::string(alg) + ".pem")).string();
    std::vector<std::string> argv =
        std::string(alg) == "ec"
            ? std::vector<std::string>{"openssl", "ecparam", "-name", "prime256v1",
                                       "-genkey", "-noout",  "-out",  key}
            : std::vector<std::string>{"openssl", "genrsa", "-out", key, "2048"};
    auto made = sys::run(argv, 30000);
    BOOST_REQUIRE(made && made->status.success());
    auto k = server::JwtKey::load(key);
    BOOST_REQUIRE(k);
    BOOST_TEST(k->algorithm() == (std::string(alg) == "ec" ? "ES256" : "RS256"));
    auto token = k->sign({{"sub", "me"}});
    BOOST_REQUIRE(token);
    auto claims = k->verify(*token);
    BOOST_REQUIRE(claims);
    BOOST_TEST((*claims)["sub"] == "me");
    std::string tampered = *token;
    tampered[tampered.find('.') + 2] ^= 1;
    BOOST_TEST(!k->verify(tampered));
    BOOST_TEST(!k->verify("a.b"));
    // alg "none" is never accepted.
    std::string none =
        server::base64url_encode("{\"alg\":\"none\"}") + "." + server::base64url_encode("{}") + ".";
    BOOST_TEST(!k->verify(none));
  }
  BOOST_TEST(server::base64url_decode(server::base64url_encode("any bytes\x01\xff")).value() ==
             "any bytes\x01\xff");
}

namespace {

// An htpasswd with user alice (password "secret").
std::string write_htpasswd(const TempDir& dir) {
  auto line = sys::run({"htpasswd", "-nbB", "alice", "secret"}, 30000);
  BOOST_REQUIRE(line && line->status.success());
  std::string path = (dir / "htpasswd").string();
  std::ofstream(path) << line->stdout_text;
  return path;
}

std::string basic(const std::string& user, const std::string& password) {
  std::string b64 = server::base64url_encode(user + ":" + password);
  for (char& c : b64) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
  }
  while (b64.size() % 4) b64 += '=';
  return "Basic " + b64;
}

}  // namespace

BOOST_AUTO_TEST_CASE(basic_auth) {
  if (!gantry::testing::require_program("htpasswd")) return;
  TempDir dir;
  server::AuthOptions o;
  o.htpasswd = write_htpasswd(dir);
  auto auth = server::Authenticator::create(o);
  BOOST_REQUIRE(auth);
  reg::HandlerRegistry r;
  server::RequestHandler h(r.store(), auth->get());
  auto anon = h.handle({"GET", "/v2/", {}, {}});
  BOOST_TEST(anon.status == 401);
  BOOST_TEST(anon.header("WWW-Authenticate") == "Basic realm=\"gantry-registry\"");
  BOOST_TEST(code_of(anon) == "UNAUTHORIZED");
  BOOST_TEST(h.handle({"GET", "/v2/", {{"Authorization", basic("alice", "wrong")}}, {}}).status ==
             401);
  BOOST_TEST(h.handle({"GET", "/v2/", {{"Authorization", basic("bob", "secret")}}, {}}).status ==
             401);
  for (int i = 0; i < 2; ++i)  // the second is answered from the verified cache
    BOOST_TEST(
        h.handle({"GET", "/v2/", {{"Authorization", basic("alice", "secret")}}, {}}).status == 200);
  BOOST_TEST(
      h.handle({"GET", "/v2/_catalog", {{"Authorization", basic("alice", "secret")}}, {}}).status ==
      200);
}

// Options of a registry that is its own token server: alice's htpasswd and a fresh P-256 key
// in dir (at dir/token.pem).
server::AuthOptions token_server_options(const TempDir& dir) {
  std::string key = (dir / "token.pem").string();
  auto made = sys::run(
      {"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key}, 30000);
  BOOST_REQUIRE(made && made->status.success());
  server::AuthOptions o;
  o.htpasswd = write_htpasswd(dir);
  o.token_realm = "http://127.0.0.1:1/token";
  o.token_service = "gantry-test";
  o.token_issuer = "gantry-issuer";
  o.token_key = key;
  o.token_server = true;
  return o;
}

BOOST_AUTO_TEST_CASE(bearer_tokens_from_the_token_server) {
  if (!gantry::testing::require_program("htpasswd") || !gantry::testing::require_program("openssl"))
    return;
  TempDir dir;
  server::AuthOptions o = token_server_options(dir);
  auto auth = server::Authenticator::create(o);
  BOOST_REQUIRE(auth);
  reg::HandlerRegistry r;
  server::RequestHandler h(r.store(), auth->get());

  auto challenge = h.handle({"GET", "/v2/app/tags/list", {}, {}});
  BOOST_TEST(challenge.status == 401);
  BOOST_TEST(challenge.header("WWW-Authenticate") ==
             "Bearer realm=\"http://127.0.0.1:1/token\",service=\"gantry-test\","
             "scope=\"repository:app:pull,push\"");
  BOOST_TEST(
      h.handle({"GET", "/token?service=gantry-test&scope=repository:app:pull", {}, {}}).status ==
      401);

  auto issued = h.handle({"GET",
                          "/token?service=gantry-test&scope=repository:app:pull,push",
                          {{"Authorization", basic("alice", "secret")}},
                          {}});
  BOOST_REQUIRE_EQUAL(issued.status, 200);
  auto body = nlohmann::json::parse(issued.body);
  std::string token = body["token"];
  BOOST_TEST(body["access_token"] == token);
  BOOST_TEST(body["expires_in"] == 300);
  std::string bearer = "Bearer " + token;

  auto start = h.handle({"POST", "/v2/app/blobs/uploads/", {{"Authorization", bearer}}, {}});
  BOOST_TEST(start.status == 202);
  BOOST_TEST(h.handle({"GET", "/v2/", {{"Authorization", bearer}}, {}}).status == 200);
  // Another repository, the catalog, a delete: not granted.
  auto other = h.handle({"GET", "/v2/other/tags/list", {{"Authorization", bearer}}, {}});
  BOOST_TEST(other.status == 401);
  BOOST_TEST(other.header("WWW-Authenticate").find("error=\"insufficient_scope\"") !=
             std::string_view::npos);
  BOOST_TEST(h.handle({"GET", "/v2/_catalog", {{"Authorization", bearer}}, {}}).status == 401);
  BOOST_TEST(h.handle({"DELETE", "/v2/app/manifests/v1", {{"Authorization", bearer}}, {}}).status ==
             401);

  // Tokens the registry must refuse: expired, another audience, another issuer, unsigned.
  auto k = server::JwtKey::load(o.token_key);
  BOOST_REQUIRE(k);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  nlohmann::json access = {{{"type", "repository"}, {"name", "app"}, {"actions", {"pull"}}}};
  auto claims = [&](std::string iss, std::string aud, int64_t exp) {
    return nlohmann::json{{"iss", iss}, {"aud", aud}, {"exp", exp}, {"access", access}};
  };
  auto try_token = [&](const nlohmann::json& c) {
    return h
        .handle(
            {"GET", "/v2/app/tags/list", {{"Authorization", "Bearer " + k->sign(c).value()}}, {}})
        .status;
  };
  BOOST_TEST(try_token(claims("gantry-issuer", "gantry-test", now + 100)) == 404);  // allowed
  BOOST_TEST(try_token(claims("gantry-issuer", "gantry-test", now - 1000)) == 401);
  BOOST_TEST(try_token(claims("gantry-issuer", "elsewhere", now + 100)) == 401);
  BOOST_TEST(try_token(claims("someone", "gantry-test", now + 100)) == 401);
}

BOOST_AUTO_TEST_CASE(token_acl_rules_and_their_errors) {
  using server::TokenRule;
  auto rules = server::parse_token_acl(R"([
    {"account": "alice", "name": "team/*", "actions": ["pull", "push"]},
    {"account": "*", "name": "public", "actions": ["pull"]},
    {"account": "", "name": "public", "actions": ["pull"]},
    {"account": "alice", "type": "registry", "name": "catalog", "actions": ["*"]}
  ])");
  BOOST_REQUIRE_MESSAGE(rules.has_value(), (rules ? std::string() : rules.error().to_string()));
  using V = std::vector<std::string>;
  auto g = [&](std::string who, std::string type, std::string name, V want) {
    return server::granted_actions(*rules, who, type, name, want);
  };
  BOOST_TEST(g("alice", "repository", "team/app", {"pull", "push", "delete"}) ==
             V({"pull", "push"}));
  BOOST_TEST(g("alice", "repository", "teamapp", {"pull"}).empty());  // prefix is "team/"
  BOOST_TEST(g("bob", "repository", "team/app", {"pull"}).empty());
  BOOST_TEST(g("bob", "repository", "public", {"pull", "push"}) == V({"pull"}));
  BOOST_TEST(g("", "repository", "public", {"pull"}) == V({"pull"}));
  BOOST_TEST(g("", "repository", "team/app", {"pull"}).empty());
  BOOST_TEST(g("alice", "registry", "catalog", {"*"}) == V({"*"}));
  BOOST_TEST(g("alice", "repository", "catalog", {"pull"}).empty());  // type matters

  for (const char* bad : {R"({})", R"([{"name": "x", "actions": ["pull"]}])",
                          R"([{"account": "a", "name": "x", "actions": ["write"]}])",
                          R"([{"account": "a", "name": "", "actions": ["pull"]}])",
                          R"([{"account": "a", "name": "x", "type": "blob", "actions": []}])",
                          R"([{"account": "a", "name": "x", "actions": "pull"}])",
                          R"([{"account": "a", "name": "x", "colour": "red"}])", "not json"}) {
    auto r = server::parse_token_acl(bad);
    BOOST_TEST(!r.has_value(), bad);
    if (!r) BOOST_TEST(r.error().kind() == gantry::ErrorKind::invalid_argument, bad);
  }
}

BOOST_AUTO_TEST_CASE(token_server_grants_only_what_the_acl_allows) {
  if (!gantry::testing::require_program("htpasswd") || !gantry::testing::require_program("openssl"))
    return;
  TempDir dir;
  server::AuthOptions o = token_server_options(dir);
  std::string acl = (dir / "acl.json").string();
  std::ofstream(acl) << R"([{"account": "alice", "name": "app", "actions": ["pull"]}])";
  o.token_acl = acl;
  auto auth = server::Authenticator::create(o);
  BOOST_REQUIRE_MESSAGE(auth.has_value(), (auth ? std::string() : auth.error().to_string()));
  reg::HandlerRegistry r;
  server::RequestHandler h(r.store(), auth->get());

  auto issued = h.handle({"GET",
                          "/token?service=gantry-test&scope=repository:app:pull,push"
                          "&scope=repository:other:pull",
                          {{"Authorization", basic("alice", "secret")}},
                          {}});
  BOOST_REQUIRE_EQUAL(issued.status, 200);
  std::string bearer = "Bearer " + nlohmann::json::parse(issued.body)["token"].get<std::string>();
  // pull of app: granted; push of app and anything of other: not.
  BOOST_TEST(h.handle({"GET", "/v2/app/tags/list", {{"Authorization", bearer}}, {}}).status == 404);
  BOOST_TEST(h.handle({"POST", "/v2/app/blobs/uploads/", {{"Authorization", bearer}}, {}}).status ==
             401);
  BOOST_TEST(h.handle({"GET", "/v2/other/tags/list", {{"Authorization", bearer}}, {}}).status ==
             401);

  // A broken list or one without a token server is refused when the server starts.
  std::ofstream(acl) << R"([{"account": "alice", "name": "app", "actions": ["fly"]}])";
  auto broken = server::Authenticator::create(o);
  BOOST_TEST(!broken.has_value());
  if (!broken)
    BOOST_TEST(broken.error().message().find("unknown action 'fly'") != std::string::npos);
  o.token_server = false;
  BOOST_TEST(!server::Authenticator::create(o).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
