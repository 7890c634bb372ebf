#include "runtime/registry/client/registry_client.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <thread>

#include "model/api/registry.h"
#include "model/api/registry_http.h"
#include "runtime/registry/client/docker_config.h"
#include "runtime/registry/client/http_session.h"

namespace gantry::runtime::registry {

namespace {

using Code = api::RegistryErrorCode;

constexpr uint64_t kManifestReadLimitBytes = 8 << 20;

std::string manifest_accept() {
  return std::string(api::kOciManifestType) + ", " + std::string(api::kOciIndexType) + ", " +
         std::string(api::kDockerManifestType) + ", " + std::string(api::kDockerManifestListType);
}

std::string blob_target(const std::string& repo, const Digest& digest) {
  return "/v2/" + escape_path(repo) + "/blobs/" + digest.str();
}

std::string manifest_target(const std::string& repo, const std::string& reference) {
  return "/v2/" + escape_path(repo) + "/manifests/" + escape_path(reference);
}

std::string uploads_target(const std::string& repo) {
  return "/v2/" + escape_path(repo) + "/blobs/uploads/";
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The registry's Docker-Content-Digest must name the bytes received.
Result<void> check_digest_header(const HttpRequest& req, const HttpResponse& res,
                                 const Digest& actual) {
  auto h = res.header("docker-content-digest");
  if (!h) return ok();
  auto d = Digest::parse(*h);
  if (!d || *d != actual)
    return Error(ErrorKind::invalid_argument, req.method + " " + req.url.str() +
                                                  ": Docker-Content-Digest " + *h +
                                                  " does not match the content's " + actual.str());
  return ok();
}

// The target of a Link header (`<url>; rel="next"`).
std::optional<std::string> link_target(std::string_view header) {
  size_t open = header.find('<');
  size_t close = header.find('>', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return std::nullopt;
  if (header.find("next", close) == std::string_view::npos) return std::nullopt;
  return std::string(header.substr(open + 1, close - open - 1));
}

class Client;

// A blob as the caller reads it: hashed as it passes, resumed with a Range request when the
// connection breaks, checked against the digest and size at the end.
class BlobSource final : public image::Source {
 public:
  BlobSource(std::shared_ptr<Client> client, std::string repo, Digest digest,
             std::optional<uint64_t> size_bytes, bool hash = true)
      : client_(std::move(client)),
        repo_(std::move(repo)),
        digest_(digest),
        size_bytes_(size_bytes),
        hash_bytes_(hash) {}

  Result<void> open();
  Result<size_t> read(std::span<uint8_t> buf) override;

 private:
  Result<void> finish();

  std::shared_ptr<Client> client_;
  std::string repo_;
  Digest digest_;
  std::optional<uint64_t> size_bytes_;
  std::unique_ptr<HttpBodyStream> stream_;
  uint64_t offset_ = 0;
  Sha256 hash_;
  bool hash_bytes_;
  int failures_ = 0;
  bool finished_ = false;
};

class Client final : public RegistryClient, public std::enable_shared_from_this<Client> {
 public:
  Client(std::string registry, ClientOptions options, std::unique_ptr<HttpSession> http)
      : registry_(std::move(registry)), options_(std::move(options)), http_(std::move(http)) {}

  const std::string& registry() const override { return registry_; }
  HttpSession& http() { return *http_; }
  int max_attempts() const { return std::max(1, options_.max_attempts); }

  Result<void> check_auth(const std::string& repository_hint) override {
    Scopes scopes;
    if (!repository_hint.empty()) scopes.push_back(pull_scope(repository_hint));
    HttpRequest req = http_->request("GET", "/v2/");
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, scopes));
    if (res.status == 200) return ok();
    if (res.status == 401 || res.status == 403)
      return Error(ErrorKind::permission_denied, "GET " + req.url.str() + ": " +
                                                     std::to_string(res.status) +
                                                     ": the registry refused the credentials");
    return response_error(req, res, Code::unauthorized);
  }

  Result<Manifest> get_manifest(const std::string& repo, const std::string& reference) override {
    HttpRequest req = http_->request("GET", manifest_target(repo, reference));
    req.headers.emplace_back("Accept", manifest_accept());
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {pull_scope(repo)},
                                                      {.max_body_bytes = kManifestReadLimitBytes}));
    if (res.status != 200) return response_error(req, res, Code::manifest_unknown);
    Manifest m{Digest::of(res.body), res.header("content-type").value_or(""), std::move(res.body)};
    GANTRY_TRY(check_digest_header(req, res, m.digest));
    if (reference.find(':') != std::string::npos) {
      GANTRY_ASSIGN_OR_RETURN_CTX(Digest want, Digest::parse(reference), "manifest reference");
      if (want != m.digest)
        return Error(ErrorKind::invalid_argument, "GET " + req.url.str() + ": manifest is " +
                                                      m.digest.str() + ", not " + want.str());
    }
    return m;
  }

  Result<Manifest> stat_manifest(const std::string& repo, const std::string& reference) override {
    HttpRequest req = http_->request("HEAD", manifest_target(repo, reference));
    req.headers.emplace_back("Accept", manifest_accept());
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {pull_scope(repo)}));
    if (res.status != 200) return response_error(req, res, Code::manifest_unknown);
    std::string digest = res.header("docker-content-digest").value_or(reference);
    auto d = Digest::parse(digest);
    if (!d)
      return Error(ErrorKind::invalid_argument,
                   "HEAD " + req.url.str() + ": no valid Docker-Content-Digest in the answer");
    return Manifest{*d, res.header("content-type").value_or(""), ""};
  }

  Result<Digest> put_manifest(const std::string& repo, const std::string& reference,
                              const std::string& media_type, const std::string& bytes) override {
    HttpRequest req = http_->request("PUT", manifest_target(repo, reference));
    req.headers.emplace_back("Content-Type", media_type);
    req.body = bytes;
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {push_scope(repo)}));
    if (res.status != 201 && res.status != 200 && res.status != 202)
      return response_error(req, res, Code::manifest_invalid);
    Digest d = Digest::of(bytes);
    GANTRY_TRY(check_digest_header(req, res, d));
    return d;
  }

  Result<std::optional<uint64_t>> stat_blob(const std::string& repo,
                                            const Digest& digest) override {
    HttpRequest req = http_->request("HEAD", blob_target(repo, digest));
    GANTRY_ASSIGN_OR_RETURN(auto res,
                            http_->exchange(req, {pull_scope(repo)}, {.follow_redirects = true}));
    if (res.status == 404) return std::optional<uint64_t>();
    if (res.status != 200) return response_error(req, res, Code::blob_unknown);
    auto len = parse_u64(res.header("content-length").value_or(""));
    if (!len)
      return Error(ErrorKind::invalid_argument,
                   "HEAD " + req.url.str() + ": no Content-Length in the answer");
    return std::optional<uint64_t>(*len);
  }

  Result<std::unique_ptr<image::Source>> open_blob(const std::string& repo, const Digest& digest,
                                                   std::optional<uint64_t> size_bytes) override {
    auto src = std::make_unique<BlobSource>(shared_from_this(), repo, digest, size_bytes);
    GANTRY_TRY(src->open());
    std::unique_ptr<image::Source> out = std::move(src);
    return out;
  }

  Result<std::unique_ptr<image::Source>> open_blob_unhashed(const std::string& repo,
                                                            const Digest& digest,
                                                            uint64_t size_bytes) override {
    auto src = std::make_unique<BlobSource>(shared_from_this(), repo, digest, size_bytes, false);
    GANTRY_TRY(src->open());
    std::unique_ptr<image::Source> out = std::move(src);
    return out;
  }

  Result<std::string> read_blob(const std::string& repo, const Digest& digest,
                                uint64_t max_size_bytes) override {
    GANTRY_ASSIGN_OR_RETURN(auto src, open_blob(repo, digest, std::nullopt));
    std::string out;
    for (;;) {
      size_t have = out.size();
      out.resize(have + (64 << 10));
      auto n = src->read({reinterpret_cast<uint8_t*>(out.data()) + have, 64 << 10});
      if (!n) return std::move(n).error();
      out.resize(have + *n);
      if (*n == 0) return out;
      if (out.size() > max_size_bytes)
        return Error(ErrorKind::invalid_argument, "blob " + digest.str() + " in " + repo +
                                                      " is larger than " +
                                                      std::to_string(max_size_bytes) + " bytes");
    }
  }

  Result<void> push_blob(const std::string& repo, const Digest& digest, uint64_t size_bytes,
                         const BlobOpener& open) override {
    GANTRY_ASSIGN_OR_RETURN(auto have, stat_blob(repo, digest));
    if (have) return ok();
    return upload_blob(repo, digest, size_bytes, open);
  }

  Result<void> upload_blob(const std::string& repo, const Digest& digest, uint64_t size_bytes,
                           const BlobOpener& open) override {
    std::optional<Url> location;
    uint64_t offset = 0;
    for (int failures = 0;;) {
      if (!location) {
        GANTRY_ASSIGN_OR_RETURN(location, start_upload(repo));
        offset = 0;
      }
      auto sent = send_rest(repo, *location, offset, size_bytes, open);
      if (sent) break;
      if (sent.error().kind() != ErrorKind::unavailable || ++failures >= max_attempts())
        return std::move(sent).error().with_context("push blob " + digest.str() + " to " + repo);
      // Where did the registry get to? A session it forgot starts over.
      auto status = upload_offset(repo, *location);
      if (!status) {
        location.reset();
      } else {
        location = status->first;
        offset = status->second;
      }
    }
    HttpRequest put;
    put.method = "PUT";
    put.url = *location;
    put.url.target = with_query(put.url.target, "digest", digest.str());
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(put, {push_scope(repo)}));
    if (res.status != 201) return response_error(put, res, Code::digest_invalid);
    GANTRY_TRY(check_digest_header(put, res, digest));
    return ok();
  }

  Result<bool> mount_blob(const std::string& repo, const Digest& digest,
                          const std::string& from_repo) override {
    std::string target = with_query(uploads_target(repo), "mount", digest.str());
    target = with_query(std::move(target), "from", from_repo);
    HttpRequest req = http_->request("POST", target);
    GANTRY_ASSIGN_OR_RETURN(auto res,
                            http_->exchange(req, {push_scope(repo), pull_scope(from_repo)}));
    if (res.status == 201) return true;
    if (res.status != 202) return response_error(req, res, Code::blob_unknown);
    if (auto l = res.header("location")) {
      if (auto url = resolve_location(http_->base(), *l)) {
        HttpRequest cancel;
        cancel.method = "DELETE";
        cancel.url = *url;
        (void)http_->exchange(cancel, {push_scope(repo)});
      }
    }
    return false;
  }

  Result<std::vector<std::string>> list_tags(const std::string& repo) override {
    std::vector<std::string> tags;
    HttpRequest req = http_->request("GET", "/v2/" + escape_path(repo) + "/tags/list");
    for (int page = 0; page < 100000; ++page) {
      GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {pull_scope(repo)}));
      if (res.status != 200) return response_error(req, res, Code::name_unknown);
      auto j = nlohmann::json::parse(res.body, nullptr, false);
      if (!j.is_object())
        return Error(ErrorKind::invalid_argument, "GET " + req.url.str() + ": not a JSON object");
      if (j.contains("tags") && j["tags"].is_array())
        for (const auto& t : j["tags"])
          if (t.is_string()) tags.push_back(t.get<std::string>());
      auto link = res.header("link");
      auto next = link ? link_target(*link) : std::nullopt;
      if (!next) return tags;
      GANTRY_ASSIGN_OR_RETURN_CTX(req.url, resolve_location(req.url, *next), "tags Link");
    }
    return Error(ErrorKind::invalid_argument, "tags of " + repo + ": too many pages");
  }

 private:
  // POST: a new session's Location.
  Result<Url> start_upload(const std::string& repo) {
    HttpRequest req = http_->request("POST", uploads_target(repo));
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {push_scope(repo)}));
    if (res.status != 202) return response_error(req, res, Code::blob_upload_invalid);
    auto l = res.header("location");
    if (!l) return Error(ErrorKind::invalid_argument, "POST " + req.url.str() + ": no Location");
    return resolve_location(http_->base(), *l);
  }

  // GET of the session: its latest Location and offset.
  Result<std::pair<Url, uint64_t>> upload_offset(const std::string& repo, const Url& location) {
    HttpRequest req;
    req.url = location;
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {push_scope(repo)}));
    if (res.status != 204 && res.status != 200)
      return response_error(req, res, Code::blob_upload_unknown);
    Url next = location;
    if (auto l = res.header("location"))
      if (auto url = resolve_location(http_->base(), *l)) next = *url;
    uint64_t offset = 0;
    if (auto r = res.header("range")) offset = api::offset_from_upload_range(*r, true).value_or(0);
    return std::make_pair(next, offset);
  }

  // One streaming PATCH of [offset, size) from open(offset); updates location.
  Result<void> send_rest(const std::string& repo, Url& location, uint64_t offset,
                         uint64_t size_bytes, const BlobOpener& open) {
    if (offset >= size_bytes) return ok();
    GANTRY_ASSIGN_OR_RETURN(auto source, open(offset));
    HttpRequest req;
    req.method = "PATCH";
    req.url = location;
    req.headers.emplace_back("Content-Type", "application/octet-stream");
    req.headers.emplace_back("Content-Range",
                             api::content_range_header(offset, size_bytes - offset));
    req.body_source = source.get();
    req.body_size = size_bytes - offset;
    GANTRY_ASSIGN_OR_RETURN(auto res, http_->exchange(req, {push_scope(repo)}));
    if (res.status != 202) {
      Error e = response_error(req, res, Code::blob_upload_invalid);
      // 5xx and connection trouble may resume; other answers are final.
      if (e.kind() != ErrorKind::unavailable)
        return Error(ErrorKind::invalid_argument, e.message());
      return e;
    }
    if (auto l = res.header("location"))
      if (auto url = resolve_location(http_->base(), *l)) location = *url;
    return ok();
  }

  std::string registry_;
  ClientOptions options_;
  std::unique_ptr<HttpSession> http_;
};

Result<void> BlobSource::open() {
  HttpRequest req = client_->http().request("GET", blob_target(repo_, digest_));
  if (offset_ > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(offset_) + "-");
  GANTRY_ASSIGN_OR_RETURN(
      auto stream, client_->http().open(req, {pull_scope(repo_)}, {.follow_redirects = true}));
  int status = stream->head().status;
  if (status != 200 && status != 206) {
    HttpResponse res = stream->head();
    std::array<uint8_t, 4096> buf;
    for (int i = 0; i < 16; ++i) {
      auto n = stream->read(buf);
      if (!n || *n == 0) break;
      res.body.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    return response_error(req, res, Code::blob_unknown);
  }
  if (offset_ > 0 && status == 200) {
    // The registry ignored the Range: skip what was already read.
    std::vector<uint8_t> skip(1 << 16);
    uint64_t left = offset_;
    while (left > 0) {
      GANTRY_ASSIGN_OR_RETURN(size_t n,
                              stream->read({skip.data(), std::min<uint64_t>(left, skip.size())}));
      if (n == 0)
        return Error(ErrorKind::unavailable,
                     "blob " + digest_.str() + " ended before the resume offset");
      left -= n;
    }
  }
  if (offset_ == 0 && !size_bytes_) size_bytes_ = stream->content_length();
  stream_ = std::move(stream);
  return ok();
}

Result<void> BlobSource::finish() {
  finished_ = true;
  stream_.reset();
  if (size_bytes_ && offset_ != *size_bytes_)
    return Error(ErrorKind::invalid_argument, "blob " + digest_.str() + " in " + repo_ + " has " +
                                                  std::to_string(offset_) + " bytes, expected " +
                                                  std::to_string(*size_bytes_));
  if (!hash_bytes_) return ok();
  Digest got = hash_.finish();
  if (got != digest_)
    return Error(ErrorKind::invalid_argument,
                 "blob " + digest_.str() + " in " + repo_ + ": content has digest " + got.str());
  return ok();
}

Result<size_t> BlobSource::read(std::span<uint8_t> buf) {
  if (finished_) return Error(ErrorKind::failed_precondition, "blob read after its end");
  if (buf.empty()) return size_t{0};
  for (;;) {
    if (!stream_) {
      auto opened = open();
      if (!opened) {
        if (opened.error().kind() != ErrorKind::unavailable ||
            ++failures_ >= client_->max_attempts())
          return std::move(opened).error().with_context("resume blob " + digest_.str() + " at " +
                                                        std::to_string(offset_));
        continue;
      }
    }
    std::span<uint8_t> want = buf;
    if (size_bytes_) {
      uint64_t left = *size_bytes_ - std::min(*size_bytes_, offset_);
      // One byte more than expected shows an oversized blob.
      want = buf.first(static_cast<size_t>(std::min<uint64_t>(buf.size(), left + 1)));
    }
    auto n = stream_->read(want);
    if (!n) {
      stream_.reset();
      if (++failures_ >= client_->max_attempts())
        return std::move(n).error().with_context("read blob " + digest_.str());
      continue;
    }
    if (*n == 0) {
      GANTRY_TRY(finish());
      return size_t{0};
    }
    failures_ = 0;
    if (hash_bytes_) hash_.update(std::span<const uint8_t>(want.data(), *n));
    offset_ += *n;
    if (size_bytes_ && offset_ > *size_bytes_)
      return Error(ErrorKind::invalid_argument, "blob " + digest_.str() + " in " + repo_ +
                                                    " is larger than " +
                                                    std::to_string(*size_bytes_) + " bytes");
    return *n;
  }
}

}  // namespace

Result<std::shared_ptr<RegistryClient>> RegistryClient::create(std::string registry,
                                                               ClientOptions options) {
  GANTRY_ASSIGN_OR_RETURN(Url base, registry_base_url(registry, options.plain_http));
  std::optional<Credentials> credentials = options.credentials;
  if (!credentials) {
    auto loaded = load_credentials(registry, options.auth_file);
    if (loaded)
      credentials = *loaded;
    else if (loaded.error().kind() != ErrorKind::not_implemented)
      return std::move(loaded).error();
    // A credential helper we do not run: go on anonymously.
  }
  GANTRY_ASSIGN_OR_RETURN(
      auto transport, HttpTransport::create({options.ca_file, options.tls_verify,
                                             options.max_connections, options.user_agent,
                                             options.connect_timeout_ms, options.io_timeout_ms}));
  auto http =
      std::make_unique<HttpSession>(base, std::move(transport), credentials, options.max_attempts);
  std::shared_ptr<RegistryClient> out =
      std::make_shared<Client>(std::move(registry), std::move(options), std::move(http));
  return out;
}

Result<std::shared_ptr<RegistryClient>> client_for(const Reference& ref, ClientOptions options) {
  return RegistryClient::create(ref.registry, std::move(options));
}

}  // namespace gantry::runtime::registry
