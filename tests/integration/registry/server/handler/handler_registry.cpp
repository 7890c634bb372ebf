#include "tests/integration/registry/server/handler/handler_registry.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "model/api/registry_http.h"

namespace gantry::testing::registry {

namespace server = runtime::registry::server;
using api::RegistryError;
using Code = api::RegistryErrorCode;

namespace {

std::string encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

// Names go into the path as they are, except what would end the path.
std::string path_part(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '?' || c == '#' || c == '%' || c == ' ' || static_cast<unsigned char>(c) < 0x20)
      out += encode(std::string(1, c));
    else
      out += c;
  }
  return out;
}

std::string query_of(const api::Page& p) {
  std::string q;
  if (p.n) q += "n=" + std::to_string(*p.n);
  if (p.last) q += std::string(q.empty() ? "" : "&") + "last=" + encode(*p.last);
  return q.empty() ? q : "?" + q;
}

RegistryError failure(const HandlerRegistry::Answer& a, Code fallback) {
  return api::error_from_response(a.response.status, a.response.body, fallback);
}

Digest digest_header(const server::HttpResponse& r) {
  auto d = Digest::parse(r.header("Docker-Content-Digest"));
  return d ? *d : Digest();
}

uint64_t length_of(const HandlerRegistry::Answer& a) {
  if (a.response.content_length) return *a.response.content_length;
  return a.response.body.size();
}

}  // namespace

HandlerRegistry::HandlerRegistry(runtime::registry::StoreOptions options,
                                 server::HandlerOptions handler_options)
    : dir_("gantry-registry-handler") {
  auto s = runtime::registry::RegistryStore::open(dir_ / "root", options);
  if (!s) throw std::runtime_error("open store: " + s.error().to_string());
  store_ = std::move(s).value();
  handler_ = std::make_unique<server::RequestHandler>(*store_, nullptr, handler_options);
}

HandlerRegistry::Answer HandlerRegistry::send(server::HttpRequest request) {
  Answer a{handler_->handle(request), {}};
  if (a.response.file) {
    const auto& f = *a.response.file;
    a.file_bytes.resize(f.length_bytes);
    ssize_t n = ::pread(f.fd.get(), a.file_bytes.data(), f.length_bytes,
                        static_cast<off_t>(f.offset_bytes));
    if (n != static_cast<ssize_t>(f.length_bytes)) throw std::runtime_error("short blob read");
  }
  return a;
}

std::string HandlerRegistry::location(const std::string& repo, const api::SessionId& session) {
  return "/v2/" + path_part(repo) + "/blobs/uploads/" + path_part(session);
}

api::RegistryResult<api::UploadStatus> HandlerRegistry::session_answer(const Answer& a,
                                                                       int want_status,
                                                                       uint64_t expected_offset) {
  if (a.response.status != want_status) return failure(a, Code::blob_upload_unknown);
  std::string loc(a.response.header("Location"));
  api::SessionId id = loc.substr(loc.rfind('/') + 1);
  auto offset = api::offset_from_upload_range(a.response.header("Range"), expected_offset == 0);
  if (!offset) return RegistryError(Code::blob_upload_invalid, "no Range on an upload answer");
  offsets_[id] = *offset;
  return api::UploadStatus{id, *offset};
}

api::RegistryResult<api::BlobInfo> HandlerRegistry::stat_blob(const std::string& repo,
                                                              const std::string& digest) {
  auto a = send({"HEAD", "/v2/" + path_part(repo) + "/blobs/" + path_part(digest), {}, {}});
  if (a.response.status != 200) {
    // HEAD answers carry no body: ask with GET to learn the code, as a client may.
    auto g = send({"GET", "/v2/" + path_part(repo) + "/blobs/" + path_part(digest), {}, {}});
    return failure(g, Code::blob_unknown);
  }
  return api::BlobInfo{digest_header(a.response), length_of(a)};
}

api::RegistryResult<api::BlobData> HandlerRegistry::get_blob(const std::string& repo,
                                                             const std::string& digest,
                                                             std::optional<api::ByteRange> range) {
  server::HttpRequest req{"GET", "/v2/" + path_part(repo) + "/blobs/" + path_part(digest), {}, {}};
  if (range) req.headers.emplace_back("Range", api::blob_range_header(*range));
  auto a = send(req);
  if (a.response.status != 200 && a.response.status != 206) return failure(a, Code::blob_unknown);
  api::BlobData out{digest_header(a.response), a.file_bytes.size(), std::nullopt, a.file_bytes};
  if (a.response.status == 206) {
    std::string cr(a.response.header("Content-Range"));  // bytes a-b/size
    unsigned long long first = 0, last = 0, size = 0;
    if (std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &first, &last, &size) != 3)
      return RegistryError(Code::blob_unknown, "bad Content-Range " + cr);
    out.range = api::ByteRange{first, last};
    out.size_bytes = size;
  }
  return out;
}

api::RegistryResult<api::Accepted> HandlerRegistry::delete_blob(const std::string& repo,
                                                                const std::string& digest) {
  auto a = send({"DELETE", "/v2/" + path_part(repo) + "/blobs/" + path_part(digest), {}, {}});
  if (a.response.status != 202) return failure(a, Code::blob_unknown);
  return api::Accepted{};
}

api::RegistryResult<api::UploadStatus> HandlerRegistry::start_upload(const std::string& repo) {
  auto a = send({"POST", "/v2/" + path_part(repo) + "/blobs/uploads/", {}, {}});
  return session_answer(a, 202, 0);
}

api::RegistryResult<api::BlobCreated> HandlerRegistry::push_blob(const std::string& repo,
                                                                 const std::string& digest,
                                                                 const std::string& bytes) {
  auto a = send({"POST",
                 "/v2/" + path_part(repo) + "/blobs/uploads/?digest=" + encode(digest),
                 {{"Content-Type", "application/octet-stream"}},
                 bytes});
  if (a.response.status != 201) return failure(a, Code::blob_upload_invalid);
  return api::BlobCreated{digest_header(a.response), bytes.size()};
}

api::RegistryResult<api::UploadStatus> HandlerRegistry::upload_chunk(const std::string& repo,
                                                                     const api::SessionId& session,
                                                                     uint64_t offset_bytes,
                                                                     const std::string& bytes) {
  server::HttpRequest req{"PATCH", location(repo, session), {}, bytes};
  auto known = offsets_.find(session);
  uint64_t tracked = known == offsets_.end() ? 0 : known->second;
  if (!bytes.empty())
    req.headers.emplace_back("Content-Range",
                             api::content_range_header(offset_bytes, bytes.size()));
  else if (offset_bytes != tracked)
    // An empty chunk has no Content-Range; one that claims another offset than the session's
    // is sent as a range its (empty) body does not fill, which the server refuses with 416.
    req.headers.emplace_back("Content-Range", api::content_range_header(offset_bytes, 1));
  auto a = send(req);
  return session_answer(a, 202, offset_bytes + bytes.size());
}

api::RegistryResult<api::UploadStatus> HandlerRegistry::upload_status(
    const std::string& repo, const api::SessionId& session) {
  auto a = send({"GET", location(repo, session), {}, {}});
  auto known = offsets_.find(session);
  return session_answer(a, 204, known == offsets_.end() ? 0 : known->second);
}

api::RegistryResult<api::BlobCreated> HandlerRegistry::complete_upload(
    const std::string& repo, const api::SessionId& session, const std::string& digest,
    const std::string& last_chunk) {
  auto a = send({"PUT", location(repo, session) + "?digest=" + encode(digest), {}, last_chunk});
  if (a.response.status != 201) return failure(a, Code::blob_upload_invalid);
  auto info = stat_blob(repo, digest);
  return api::BlobCreated{digest_header(a.response), info ? info->size_bytes : 0};
}

api::RegistryResult<api::Accepted> HandlerRegistry::cancel_upload(const std::string& repo,
                                                                  const api::SessionId& session) {
  auto a = send({"DELETE", location(repo, session), {}, {}});
  if (a.response.status != 204) return failure(a, Code::blob_upload_unknown);
  return api::Accepted{};
}

api::RegistryResult<api::MountResult> HandlerRegistry::mount_blob(const std::string& repo,
                                                                  const std::string& digest,
                                                                  const std::string& from_repo) {
  auto a = send({"POST",
                 "/v2/" + path_part(repo) + "/blobs/uploads/?mount=" + encode(digest) +
                     "&from=" + encode(from_repo),
                 {},
                 {}});
  if (a.response.status == 201)
    return api::MountResult{true, digest_header(a.response), std::nullopt};
  auto s = session_answer(a, 202, 0);
  if (!s) return s.error();
  return api::MountResult{false, Digest(), *s};
}

api::RegistryResult<api::ManifestCreated> HandlerRegistry::put_manifest(
    const std::string& repo, const std::string& reference, const std::string& media_type,
    const std::string& bytes) {
  auto a = send({"PUT",
                 "/v2/" + path_part(repo) + "/manifests/" + path_part(reference),
                 {{"Content-Type", media_type}},
                 bytes});
  if (a.response.status != 201) return failure(a, Code::manifest_invalid);
  return api::ManifestCreated{digest_header(a.response)};
}

api::RegistryResult<api::ManifestData> HandlerRegistry::get_manifest(const std::string& repo,
                                                                     const std::string& reference) {
  auto a = send({"GET", "/v2/" + path_part(repo) + "/manifests/" + path_part(reference), {}, {}});
  if (a.response.status != 200) return failure(a, Code::manifest_unknown);
  return api::ManifestData{digest_header(a.response),
                           std::string(a.response.header("Content-Type")), a.response.body.size(),
                           a.response.body};
}

api::RegistryResult<api::ManifestData> HandlerRegistry::stat_manifest(
    const std::string& repo, const std::string& reference) {
  auto a = send({"HEAD", "/v2/" + path_part(repo) + "/manifests/" + path_part(reference), {}, {}});
  if (a.response.status != 200) {
    auto g = send({"GET", "/v2/" + path_part(repo) + "/manifests/" + path_part(reference), {}, {}});
    return failure(g, Code::manifest_unknown);
  }
  return api::ManifestData{
      digest_header(a.response), std::string(a.response.header("Content-Type")), length_of(a), {}};
}

api::RegistryResult<api::Accepted> HandlerRegistry::delete_manifest(const std::string& repo,
                                                                    const std::string& reference) {
  auto a =
      send({"DELETE", "/v2/" + path_part(repo) + "/manifests/" + path_part(reference), {}, {}});
  if (a.response.status != 202) return failure(a, Code::manifest_unknown);
  return api::Accepted{};
}

namespace {

api::RegistryResult<api::Listing> listing(const HandlerRegistry::Answer& a, const char* key) {
  if (a.response.status != 200) return failure(a, Code::name_unknown);
  auto json = nlohmann::json::parse(a.response.body, nullptr, false);
  api::Listing out;
  if (json.is_object() && json.contains(key) && json[key].is_array())
    for (const auto& e : json[key]) out.entries.push_back(e.get<std::string>());
  out.next_last = api::next_last_from_link(a.response.header("Link"));
  return out;
}

}  // namespace

api::RegistryResult<api::Listing> HandlerRegistry::list_tags(const std::string& repo,
                                                             const api::Page& page) {
  return listing(send({"GET", "/v2/" + path_part(repo) + "/tags/list" + query_of(page), {}, {}}),
                 "tags");
}

api::RegistryResult<api::Listing> HandlerRegistry::catalog(const api::Page& page) {
  return listing(send({"GET", "/v2/_catalog" + query_of(page), {}, {}}), "repositories");
}

api::RegistryResult<api::Referrers> HandlerRegistry::referrers(
    const std::string& repo, const std::string& digest,
    const std::optional<std::string>& artifact_type) {
  std::string target = "/v2/" + path_part(repo) + "/referrers/" + path_part(digest);
  if (artifact_type) target += "?artifactType=" + encode(*artifact_type);
  auto a = send({"GET", target, {}, {}});
  if (a.response.status != 200) return failure(a, Code::name_unknown);
  auto json = nlohmann::json::parse(a.response.body);
  api::Referrers out;
  for (const auto& m : json["manifests"]) {
    api::Descriptor d;
    d.media_type = m.value("mediaType", "");
    d.digest = Digest::parse(m.value("digest", "")).value();
    d.size_bytes = m.value("size", uint64_t{0});
    d.artifact_type = m.value("artifactType", "");
    if (m.contains("annotations"))
      d.annotations = m["annotations"].get<std::map<std::string, std::string>>();
    out.manifests.push_back(std::move(d));
  }
  out.filter_applied = a.response.header("OCI-Filters-Applied") == "artifactType";
  return out;
}

}  // namespace gantry::testing::registry
