#include "runtime/registry/client/remote_registry.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "model/api/registry_http.h"
#include "model/api/registry_names.h"
#include "runtime/registry/client/http_session.h"

namespace gantry::runtime::registry {

namespace {

using api::RegistryError;
using api::RegistryErrorCode;
using api::RegistryResult;
using Code = api::RegistryErrorCode;

constexpr uint64_t kMaxBlobBytes = 1ull << 30;

// What a status means at an endpoint when the answer has no (known) error body.
struct Fallback {
  Code not_found;
  Code bad_request;
};

Code fallback_code(int status, const Fallback& f) {
  switch (status) {
    case 401:
      return Code::unauthorized;
    case 403:
      return Code::denied;
    case 404:
      return f.not_found;
    case 405:
      return Code::unsupported;
    case 413:
      return Code::size_invalid;
    case 416:
      return Code::range_invalid;
    case 429:
      return Code::toomanyrequests;
    default:
      return f.bad_request;
  }
}

RegistryError answer_error(const HttpResponse& res, const Fallback& f) {
  return api::error_from_response(res.status, res.body, fallback_code(res.status, f));
}

// A failure that is not an answer of the registry (connection, malformed answer): status 0.
RegistryError no_answer(const Error& e) {
  return RegistryError(Code::unsupported, 0, "no usable answer: " + e.to_string());
}

// A bodyless 400 (HEAD) means the name or, else, the digest or reference.
Code bad_name_or(const std::string& repo, Code otherwise) {
  return api::valid_repository_name(repo) ? otherwise : Code::name_invalid;
}

std::optional<Digest> header_digest(const HttpResponse& res) {
  if (auto h = res.header("docker-content-digest"))
    if (auto d = Digest::parse(*h)) return *d;
  return std::nullopt;
}

std::optional<uint64_t> header_u64(const HttpResponse& res, std::string_view name) {
  auto h = res.header(name);
  if (!h || h->empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : *h) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "bytes <first>-<last>/<total>" of a 206.
std::optional<std::pair<api::ByteRange, uint64_t>> parse_response_content_range(
    std::string_view h) {
  if (h.starts_with("bytes ")) h.remove_prefix(6);
  size_t slash = h.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto range = api::parse_content_range(h.substr(0, slash));
  if (!range) return std::nullopt;
  uint64_t total = 0;
  std::string_view t = h.substr(slash + 1);
  if (t.empty()) return std::nullopt;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    total = total * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::make_pair(*range, total);
}

bool success(int status) {
  return status >= 200 && status < 300;
}

class RemoteRegistry final : public api::Registry {
 public:
  explicit RemoteRegistry(std::unique_ptr<HttpSession> session) : http_(std::move(session)) {}

  RegistryResult<api::BlobInfo> stat_blob(const std::string& repo,
                                          const std::string& digest) override {
    auto res = send("HEAD", blob_target(repo, digest), {pull_scope(repo)}, {}, true);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_unknown, bad_name_or(repo, Code::digest_invalid)});
    api::BlobInfo info;
    info.digest = digest_or(*res, digest);
    info.size_bytes = header_u64(*res, "content-length").value_or(0);
    return info;
  }

  RegistryResult<api::BlobData> get_blob(const std::string& repo, const std::string& digest,
                                         std::optional<api::ByteRange> range) override {
    Headers headers;
    if (range) headers.emplace_back("Range", api::blob_range_header(*range));
    auto res = send("GET", blob_target(repo, digest), {pull_scope(repo)}, std::move(headers), true);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_unknown, bad_name_or(repo, Code::digest_invalid)});
    api::BlobData data;
    data.digest = digest_or(*res, digest);
    if (res->status == 206) {
      auto cr = res->header("content-range");
      auto parsed = cr ? parse_response_content_range(*cr) : std::nullopt;
      if (!parsed)
        return no_answer(Error(ErrorKind::invalid_argument,
                               "206 without a valid Content-Range: '" + cr.value_or("") + "'"));
      data.range = parsed->first;
      data.size_bytes = parsed->second;
    } else {
      data.size_bytes = res->body.size();
    }
    data.bytes = std::move(res->body);
    return data;
  }

  RegistryResult<api::Accepted> delete_blob(const std::string& repo,
                                            const std::string& digest) override {
    auto res = send("DELETE", blob_target(repo, digest), {push_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_unknown, bad_name_or(repo, Code::digest_invalid)});
    return api::Accepted{};
  }

  RegistryResult<api::UploadStatus> start_upload(const std::string& repo) override {
    auto res = send("POST", uploads_target(repo), {push_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status)) return answer_error(*res, {Code::name_unknown, Code::name_invalid});
    return new_session(repo, *res);
  }

  RegistryResult<api::BlobCreated> push_blob(const std::string& repo, const std::string& digest,
                                             const std::string& bytes) override {
    Headers headers{{"Content-Type", "application/octet-stream"}};
    auto res = send("POST", with_query(uploads_target(repo), "digest", digest), {push_scope(repo)},
                    headers, false, bytes);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::name_unknown, bad_name_or(repo, Code::digest_invalid)});
    if (res->status == 202) {
      // The registry started a session instead (distribution does): finish it with PUT.
      auto started = new_session(repo, *res);
      if (!started) return started.error();
      return complete_upload(repo, started->session, digest, bytes);
    }
    return api::BlobCreated{digest_or(*res, digest), bytes.size()};
  }

  RegistryResult<api::UploadStatus> upload_chunk(const std::string& repo,
                                                 const api::SessionId& session,
                                                 uint64_t offset_bytes,
                                                 const std::string& bytes) override {
    Headers headers{{"Content-Type", "application/octet-stream"}};
    if (!bytes.empty())
      headers.emplace_back("Content-Range", api::content_range_header(offset_bytes, bytes.size()));
    else if (offset_bytes != tracked_offset(repo, session))
      // An empty chunk has no Content-Range of its own; one that claims another offset than the
      // session's is sent as a one-byte range its empty body does not fill, which a server
      // that checks ranges refuses with 416 (the model's answer to a chunk out of order).
      headers.emplace_back("Content-Range", api::content_range_header(offset_bytes, 1));
    auto res = send_to("PATCH", session_url(repo, session), {push_scope(repo)}, headers, bytes);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_upload_unknown, Code::blob_upload_invalid});
    uint64_t before = tracked_offset(repo, session);
    return update_session(repo, session, *res, bytes.empty() && before == 0,
                          offset_bytes + bytes.size());
  }

  RegistryResult<api::UploadStatus> upload_status(const std::string& repo,
                                                  const api::SessionId& session) override {
    auto res = send_to("GET", session_url(repo, session), {push_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_upload_unknown, Code::blob_upload_invalid});
    uint64_t before = tracked_offset(repo, session);
    return update_session(repo, session, *res, before == 0, before);
  }

  RegistryResult<api::BlobCreated> complete_upload(const std::string& repo,
                                                   const api::SessionId& session,
                                                   const std::string& digest,
                                                   const std::string& last_chunk) override {
    Url url = session_url(repo, session);
    url.target = with_query(url.target, "digest", digest);
    Headers headers{{"Content-Type", "application/octet-stream"}};
    uint64_t before = tracked_offset(repo, session);
    auto res = send_to("PUT", url, {push_scope(repo)}, headers, last_chunk);
    if (!res) return no_answer(res.error());
    if (res->status != 416) forget_session(repo, session);
    if (!success(res->status))
      return answer_error(*res,
                          {Code::blob_upload_unknown, bad_name_or(repo, Code::digest_invalid)});
    return api::BlobCreated{digest_or(*res, digest), before + last_chunk.size()};
  }

  RegistryResult<api::Accepted> cancel_upload(const std::string& repo,
                                              const api::SessionId& session) override {
    auto res = send_to("DELETE", session_url(repo, session), {push_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::blob_upload_unknown, Code::blob_upload_invalid});
    forget_session(repo, session);
    return api::Accepted{};
  }

  RegistryResult<api::MountResult> mount_blob(const std::string& repo, const std::string& digest,
                                              const std::string& from_repo) override {
    std::string target = with_query(uploads_target(repo), "mount", digest);
    target = with_query(std::move(target), "from", from_repo);
    auto res = send("POST", target, {push_scope(repo), pull_scope(from_repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::name_unknown, bad_name_or(repo, Code::digest_invalid)});
    api::MountResult m;
    if (res->status == 201) {
      m.mounted = true;
      m.digest = digest_or(*res, digest);
      return m;
    }
    auto started = new_session(repo, *res);
    if (!started) return started.error();
    m.upload = *started;
    return m;
  }

  RegistryResult<api::ManifestCreated> put_manifest(const std::string& repo,
                                                    const std::string& reference,
                                                    const std::string& media_type,
                                                    const std::string& bytes) override {
    Headers headers{{"Content-Type", media_type}};
    auto res =
        send("PUT", manifest_target(repo, reference), {push_scope(repo)}, headers, false, bytes);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::name_unknown, Code::manifest_invalid});
    return api::ManifestCreated{header_digest(*res).value_or(Digest::of(bytes))};
  }

  RegistryResult<api::ManifestData> get_manifest(const std::string& repo,
                                                 const std::string& reference) override {
    return read_manifest("GET", repo, reference);
  }
  RegistryResult<api::ManifestData> stat_manifest(const std::string& repo,
                                                  const std::string& reference) override {
    return read_manifest("HEAD", repo, reference);
  }

  RegistryResult<api::Accepted> delete_manifest(const std::string& repo,
                                                const std::string& reference) override {
    auto res = send("DELETE", manifest_target(repo, reference), {push_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::manifest_unknown, bad_name_or(repo, Code::digest_invalid)});
    return api::Accepted{};
  }

  RegistryResult<api::Listing> list_tags(const std::string& repo, const api::Page& page) override {
    return listing(paged("/v2/" + escape_path(repo) + "/tags/list", page), {pull_scope(repo)},
                   "tags");
  }

  RegistryResult<api::Listing> catalog(const api::Page& page) override {
    return listing(paged("/v2/_catalog", page), {"registry:catalog:*"}, "repositories");
  }

  RegistryResult<api::Referrers> referrers(
      const std::string& repo, const std::string& digest,
      const std::optional<std::string>& artifact_type) override {
    std::string target = "/v2/" + escape_path(repo) + "/referrers/" + escape_path(digest);
    if (artifact_type) target = with_query(std::move(target), "artifactType", *artifact_type);
    auto res = send("GET", target, {pull_scope(repo)});
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::name_unknown, bad_name_or(repo, Code::digest_invalid)});
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
      return no_answer(Error(ErrorKind::invalid_argument, "referrers answer is not an index"));
    api::Referrers out;
    try {
      for (const auto& m : j["manifests"]) {
        api::Descriptor d;
        d.media_type = m.value("mediaType", "");
        auto parsed = Digest::parse(m.value("digest", ""));
        if (!parsed) return no_answer(parsed.error());
        d.digest = *parsed;
        d.size_bytes = m.value("size", uint64_t{0});
        d.artifact_type = m.value("artifactType", "");
        if (m.contains("annotations"))
          d.annotations = m["annotations"].get<std::map<std::string, std::string>>();
        out.manifests.push_back(std::move(d));
      }
      if (j.contains("annotations") && j["annotations"].is_object()) {
        auto a = j["annotations"].find(std::string(api::kFiltersAppliedAnnotation));
        out.filter_applied = a != j["annotations"].end() && a->is_string() &&
                             a->get<std::string>().find("artifactType") != std::string::npos;
      }
    } catch (const nlohmann::json::exception& e) {
      return no_answer(Error(ErrorKind::invalid_argument, std::string("referrers: ") + e.what()));
    }
    if (auto h = res->header("oci-filters-applied");
        h && h->find("artifactType") != std::string::npos)
      out.filter_applied = true;
    std::sort(out.manifests.begin(), out.manifests.end(),
              [](const auto& a, const auto& b) { return a.digest < b.digest; });
    return out;
  }

 private:
  struct Session {
    Url location;
    uint64_t offset = 0;
  };

  static std::string blob_target(const std::string& repo, const std::string& digest) {
    return "/v2/" + escape_path(repo) + "/blobs/" + escape_path(digest);
  }
  static std::string uploads_target(const std::string& repo) {
    return "/v2/" + escape_path(repo) + "/blobs/uploads/";
  }
  static std::string manifest_target(const std::string& repo, const std::string& reference) {
    return "/v2/" + escape_path(repo) + "/manifests/" + escape_path(reference);
  }
  static std::string paged(std::string target, const api::Page& page) {
    if (page.n) target = with_query(std::move(target), "n", std::to_string(*page.n));
    if (page.last) target = with_query(std::move(target), "last", *page.last);
    return target;
  }

  static Digest digest_or(const HttpResponse& res, const std::string& asked) {
    if (auto d = header_digest(res)) return *d;
    auto parsed = Digest::parse(asked);
    return parsed ? *parsed : Digest();
  }

  Result<HttpResponse> send(const std::string& method, const std::string& target,
                            const Scopes& scopes, Headers headers = {}, bool large = false,
                            std::string_view body = {}) {
    HttpRequest req = http_->request(method, target);
    req.headers = std::move(headers);
    req.body = body;
    return http_->exchange(std::move(req), scopes,
                           {.retry = false,
                            .follow_redirects = method == "GET" || method == "HEAD",
                            .max_body_bytes = large ? kMaxBlobBytes : 64ull << 20});
  }

  Result<HttpResponse> send_to(const std::string& method, const Url& url, const Scopes& scopes,
                               Headers headers = {}, std::string_view body = {}) {
    HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = std::move(headers);
    req.body = body;
    return http_->exchange(std::move(req), scopes, {.retry = false});
  }

  static std::string key(const std::string& repo, const api::SessionId& id) {
    return repo + "\n" + id;
  }

  // The URL of a session: its latest Location (a stale one is refused by distribution), or,
  // for a session this client did not see start, the spec's path.
  Url session_url(const std::string& repo, const api::SessionId& id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(key(repo, id));
    if (it != sessions_.end()) return it->second.location;
    Url url = http_->base();
    url.target = uploads_target(repo) + escape_path(id);
    return url;
  }

  uint64_t tracked_offset(const std::string& repo, const api::SessionId& id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(key(repo, id));
    return it == sessions_.end() ? 0 : it->second.offset;
  }

  // An ended session keeps its last Location, so that later requests name it as the registry
  // issued it (distribution refuses a Location without its state as BLOB_UPLOAD_INVALID).
  void forget_session(const std::string& repo, const api::SessionId& id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(key(repo, id));
    if (it != sessions_.end()) it->second.offset = 0;
  }

  RegistryResult<api::UploadStatus> new_session(const std::string& repo, const HttpResponse& res) {
    auto location = res.header("location");
    if (!location)
      return no_answer(Error(ErrorKind::invalid_argument, "upload answer without Location"));
    auto url = resolve_location(http_->base(), *location);
    if (!url) return no_answer(url.error());
    std::string id = res.header("docker-upload-uuid").value_or("");
    if (id.empty()) {
      std::string path = url->target.substr(0, url->target.find('?'));
      while (!path.empty() && path.back() == '/') path.pop_back();
      id = path.substr(path.rfind('/') + 1);
    }
    uint64_t offset = 0;
    if (auto r = res.header("range")) offset = api::offset_from_upload_range(*r, true).value_or(0);
    std::lock_guard lock(mu_);
    sessions_[key(repo, id)] = Session{*url, offset};
    return api::UploadStatus{id, offset};
  }

  RegistryResult<api::UploadStatus> update_session(const std::string& repo,
                                                   const api::SessionId& id,
                                                   const HttpResponse& res, bool empty_when_zero,
                                                   uint64_t assumed_offset) {
    uint64_t offset = assumed_offset;
    if (auto r = res.header("range"))
      offset = api::offset_from_upload_range(*r, empty_when_zero).value_or(assumed_offset);
    std::optional<Url> location;
    if (auto l = res.header("location"))
      if (auto url = resolve_location(http_->base(), *l)) location = *url;
    std::lock_guard lock(mu_);
    auto& s = sessions_[key(repo, id)];
    if (location)
      s.location = *location;
    else if (s.location.host.empty()) {
      s.location = http_->base();
      s.location.target = uploads_target(repo) + escape_path(id);
    }
    s.offset = offset;
    return api::UploadStatus{id, offset};
  }

  RegistryResult<api::ManifestData> read_manifest(const std::string& method,
                                                  const std::string& repo,
                                                  const std::string& reference) {
    Headers headers{{"Accept", std::string(api::kOciManifestType) + ", " +
                                   std::string(api::kOciIndexType) + ", " +
                                   std::string(api::kDockerManifestType) + ", " +
                                   std::string(api::kDockerManifestListType)}};
    auto res = send(method, manifest_target(repo, reference), {pull_scope(repo)}, headers);
    if (!res) return no_answer(res.error());
    if (!success(res->status))
      return answer_error(*res, {Code::manifest_unknown, bad_name_or(repo, Code::digest_invalid)});
    api::ManifestData m;
    m.media_type = res->header("content-type").value_or("");
    if (method == "HEAD") {
      m.size_bytes = header_u64(*res, "content-length").value_or(0);
      m.digest = digest_or(*res, reference);
    } else {
      m.size_bytes = res->body.size();
      m.digest = header_digest(*res).value_or(Digest::of(res->body));
      m.bytes = std::move(res->body);
    }
    return m;
  }

  RegistryResult<api::Listing> listing(const std::string& target, const Scopes& scopes,
                                       const char* field) {
    auto res = send("GET", target, scopes);
    if (!res) return no_answer(res.error());
    if (!success(res->status)) return answer_error(*res, {Code::name_unknown, Code::name_invalid});
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_object())
      return no_answer(Error(ErrorKind::invalid_argument, "listing answer is not a JSON object"));
    api::Listing out;
    if (j.contains(field) && j[field].is_array())
      for (const auto& e : j[field])
        if (e.is_string()) out.entries.push_back(e.get<std::string>());
    if (auto link = res->header("link")) out.next_last = api::next_last_from_link(*link);
    return out;
  }

  std::unique_ptr<HttpSession> http_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

}  // namespace

Result<std::unique_ptr<api::Registry>> make_remote_registry(const std::string& base_url,
                                                            ClientOptions options) {
  GANTRY_ASSIGN_OR_RETURN(Url base, parse_url(base_url));
  if (base.target != "/" && !base.target.empty())
    return Error(ErrorKind::invalid_argument,
                 "registry URL '" + base_url + "' must not have a path");
  GANTRY_ASSIGN_OR_RETURN(
      auto transport, HttpTransport::create({options.ca_file, options.tls_verify,
                                             options.max_connections, options.user_agent,
                                             options.connect_timeout_ms, options.io_timeout_ms}));
  auto session = std::make_unique<HttpSession>(base, std::move(transport), options.credentials,
                                               options.max_attempts);
  std::unique_ptr<api::Registry> out = std::make_unique<RemoteRegistry>(std::move(session));
  return out;
}

}  // namespace gantry::runtime::registry
