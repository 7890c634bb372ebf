// gantry-registry's request handling (runtime/registry/server/request_handler.h) on arbitrary
// requests, against a RegistryStore in a temp dir, without sockets. The input is up to eight
// requests separated by "\n===\n"; each is "METHOD TARGET", header lines, an empty line and the
// body. In targets, "$L" becomes the last upload Location answered and "$D" the sha256 of the
// request's body, so sequences reach sessions and blobs. Must never crash, and every answer
// must be well formed: a known status, the API version header, a JSON error body with a known
// code on every 4xx/5xx but HEAD, Docker-Content-Digest on blob and manifest successes, a file
// range that lies inside the file.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "model/api/http_status.h"
#include "model/base/digest.h"
#include "runtime/registry/server/request_handler.h"
#include "runtime/registry/store/registry_store.h"

namespace server = gantry::runtime::registry::server;
namespace registry = gantry::runtime::registry;

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_registry_request: %s\n", what.c_str());
  std::abort();
}

registry::RegistryStore& store() {
  static std::unique_ptr<registry::RegistryStore> s = [] {
    char tmpl[] = "/tmp/fuzz-registry-request-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
    registry::StoreOptions o;
    o.durable = false;
    o.manifest_limit_bytes = 64 * 1024;
    auto opened = registry::RegistryStore::open(std::filesystem::path(tmpl) / "root", o);
    if (!opened) fail("open store: " + opened.error().to_string());
    return std::move(opened).value();
  }();
  return *s;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

server::HttpRequest parse(std::string_view text, const std::string& last_location) {
  server::HttpRequest r;
  size_t blank = text.find("\n\n");
  std::string_view head = text.substr(0, blank);
  r.body = blank == std::string_view::npos ? "" : std::string(text.substr(blank + 2));
  size_t nl = head.find('\n');
  std::string_view line = head.substr(0, nl);
  size_t sp = line.find(' ');
  r.method = std::string(line.substr(0, sp));
  r.target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
  r.target = replace_all(r.target, "$L", last_location);
  r.target = replace_all(r.target, "$D", gantry::Digest::of(r.body).str());
  std::string_view rest = nl == std::string_view::npos ? "" : head.substr(nl + 1);
  while (!rest.empty()) {
    size_t e = rest.find('\n');
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? "" : rest.substr(e + 1);
    size_t colon = h.find(": ");
    if (colon == std::string_view::npos) continue;
    if (h.substr(0, colon) == "X-Chunked") {
      r.chunked = true;
      continue;
    }
    r.headers.emplace_back(std::string(h.substr(0, colon)), std::string(h.substr(colon + 2)));
  }
  return r;
}

void check(const server::HttpRequest& req, const server::HttpResponse& r) {
  static const std::set<int> known = {200, 201, 202, 204, 206, 400, 401,
                                      403, 404, 405, 413, 416, 429, 500};
  if (!known.contains(r.status)) fail("status " + std::to_string(r.status));
  if (r.header("Docker-Distribution-API-Version") != "registry/2.0") fail("no API version");
  bool head = req.method == "HEAD";
  if (head && (!r.body.empty() || r.file)) fail("HEAD answer with a body");
  if (r.status >= 400 && !head) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j["errors"].is_array() || j["errors"].empty())
      fail("error without an error body: " + r.body);
    auto code = j["errors"][0].value("code", "");
    if (!gantry::api::registry_error_code_from_string(code)) fail("unknown code " + code);
  }
  std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  bool blob_or_manifest = path.find("/blobs/") != std::string_view::npos ||
                          path.find("/manifests/") != std::string_view::npos;
  bool upload = path.find("/blobs/uploads") != std::string_view::npos;
  if ((r.status == 200 || r.status == 206) && blob_or_manifest && !upload &&
      r.header("Docker-Content-Digest").empty())
    fail("no Docker-Content-Digest on " + req.target);
  if (r.file) {
    struct stat st {};
    if (::fstat(r.file->fd.get(), &st) != 0) fail("file body fd not open");
    if (r.file->offset_bytes + r.file->length_bytes > static_cast<uint64_t>(st.st_size))
      fail("file range beyond the file");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static server::RequestHandler handler(store(), nullptr,
                                        server::HandlerOptions{.manifest_limit_bytes = 64 * 1024});
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string last_location = "/v2/none/blobs/uploads/none";
  for (int i = 0; i < 8 && !input.empty(); ++i) {
    size_t sep = input.find("\n===\n");
    std::string_view one = input.substr(0, sep);
    input = sep == std::string_view::npos ? "" : input.substr(sep + 5);
    server::HttpRequest req = parse(one, last_location);
    server::HttpResponse r = handler.handle(req);
    check(req, r);
    if (auto loc = r.header("Location"); loc.find("/blobs/uploads/") != std::string_view::npos)
      last_location = std::string(loc);
  }
  return 0;
}
