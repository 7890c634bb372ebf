#include "runtime/registry/server/request_handler.h"

#include <strings.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/api/registry_http.h"
#include "model/api/registry_manifest.h"
#include "model/api/registry_names.h"

namespace gantry::runtime::registry::server {

namespace {

using api::RegistryError;
using Code = api::RegistryErrorCode;

constexpr std::string_view kOctetStream = "application/octet-stream";

enum class RouteKind {
  base,
  catalog,
  token,
  tags,
  manifest,
  blob,
  upload_start,
  upload,
  referrers,
  unknown
};

struct Route {
  RouteKind kind = RouteKind::unknown;
  std::string name;  // repository
  std::string ref;   // digest, reference or session id
};

// Splits /v2/<name>/<what>/<ref>: the name is everything before the last route keyword, so
// names may hold any of the keywords as a component (`a/blobs/b`).
Route parse_route(std::string_view path, std::string_view method) {
  Route r;
  if (path == "/token") {
    r.kind = RouteKind::token;
    return r;
  }
  if (path == "/v2" || path == "/v2/") {
    r.kind = RouteKind::base;
    return r;
  }
  if (!path.starts_with("/v2/")) return r;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") {
    r.kind = RouteKind::catalog;
    return r;
  }
  auto ends = [&](std::string_view suffix) { return rest.ends_with(suffix); };
  if (ends("/tags/list")) {
    r.kind = RouteKind::tags;
    r.name = rest.substr(0, rest.size() - 10);
    return r;
  }
  if (ends("/blobs/uploads") || ends("/blobs/uploads/")) {
    size_t cut = rest.rfind("/blobs/uploads");
    if (method == "POST" || ends("/")) {
      r.kind = RouteKind::upload_start;
      r.name = rest.substr(0, cut);
      return r;
    }
  }
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos) return r;
  std::string_view ref = rest.substr(slash + 1);
  std::string_view head = rest.substr(0, slash);  // <name>/<what>
  size_t slash2 = head.rfind('/');
  if (slash2 == std::string_view::npos) return r;
  std::string_view what = head.substr(slash2 + 1);
  std::string_view name = head.substr(0, slash2);
  if (what == "uploads" && name.ends_with("/blobs")) {
    r.kind = RouteKind::upload;
    r.name = name.substr(0, name.size() - 6);
  } else if (what == "blobs") {
    r.kind = RouteKind::blob;
    r.name = name;
  } else if (what == "manifests") {
    r.kind = RouteKind::manifest;
    r.name = name;
  } else if (what == "referrers") {
    r.kind = RouteKind::referrers;
    r.name = name;
  } else {
    return r;
  }
  r.ref = ref;
  return r;
}

std::string_view allowed_methods(RouteKind kind) {
  switch (kind) {
    case RouteKind::base:
      return "GET, HEAD";
    case RouteKind::catalog:
      return "GET";
    case RouteKind::token:
      return "GET";
    case RouteKind::tags:
      return "GET";
    case RouteKind::manifest:
      return "GET, HEAD, PUT, DELETE";
    case RouteKind::blob:
      return "GET, HEAD, DELETE";
    case RouteKind::upload_start:
      return "POST";
    case RouteKind::upload:
      return "GET, PATCH, PUT, DELETE";
    case RouteKind::referrers:
      return "GET";
    case RouteKind::unknown:
      return "";
  }
  return "";
}

bool method_allowed(RouteKind kind, std::string_view method) {
  std::string_view list = allowed_methods(kind);
  while (!list.empty()) {
    size_t comma = list.find(", ");
    if (list.substr(0, comma) == method) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
  }
  return false;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The media type without parameters (`; charset=utf-8`).
std::string bare_media_type(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  return std::string(content_type);
}

std::string upload_location(const std::string& name, const std::string& session) {
  return "/v2/" + name + "/blobs/uploads/" + session;
}

HttpResponse upload_answer(int status, const std::string& name, const api::UploadStatus& s) {
  HttpResponse r;
  r.status = status;
  r.set("Location", upload_location(name, s.session));
  r.set("Range", api::upload_range_header(s.offset_bytes));
  r.set("Docker-Upload-UUID", s.session);
  return r;
}

HttpResponse blob_created(const std::string& name, const Digest& digest) {
  HttpResponse r;
  r.status = 201;
  r.set("Location", "/v2/" + name + "/blobs/" + digest.str());
  r.set("Docker-Content-Digest", digest.str());
  return r;
}

HttpResponse json_answer(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  r.set("Content-Type", "application/json");
  return r;
}

// --- pending requests ---

// The answer is known before the body: the body, if any, is not needed.
class Ready final : public PendingRequest {
 public:
  explicit Ready(HttpResponse r) : response_(std::move(r)) {}
  bool wants_body() const override { return false; }
  void write(std::span<const uint8_t>) override {}

 protected:
  HttpResponse answer() override { return std::move(response_); }

 private:
  HttpResponse response_;
};

std::unique_ptr<PendingRequest> ready(HttpResponse r) {
  return std::make_unique<Ready>(std::move(r));
}
std::unique_ptr<PendingRequest> ready(const RegistryError& e) {
  return ready(error_response(e));
}

// Streams body bytes into a ChunkWriter, remembering the first failure.
class ChunkSink {
 public:
  explicit ChunkSink(std::unique_ptr<ChunkWriter> w) : writer_(std::move(w)) {}
  void write(std::span<const uint8_t> data) {
    if (failed_ || data.empty()) return;
    if (auto w = writer_->write(data); !w) failed_ = w.error();
  }
  // completing: the request that brought the chunk also completes the upload
  // (ChunkWriter::finish_for_completion).
  api::RegistryResult<api::UploadStatus> finish(bool completing = false) {
    if (failed_) {
      writer_.reset();  // drops the chunk: the session keeps what it had
      return RegistryError(Code::blob_upload_invalid, 500,
                           "storing the chunk: " + failed_->message());
    }
    return completing ? writer_->finish_for_completion() : writer_->finish();
  }

 private:
  std::unique_ptr<ChunkWriter> writer_;
  std::optional<Error> failed_;
};

// PATCH <location>: a chunk.
class PatchRequest final : public PendingRequest {
 public:
  PatchRequest(std::string name, std::unique_ptr<ChunkWriter> w)
      : name_(std::move(name)), sink_(std::move(w)) {}
  void write(std::span<const uint8_t> data) override { sink_.write(data); }

 protected:
  HttpResponse answer() override {
    auto s = sink_.finish();
    if (!s) return error_response(s.error());
    return upload_answer(202, name_, *s);
  }

 private:
  std::string name_;
  ChunkSink sink_;
};

// PUT <location>?digest= (with an optional last chunk), and the monolithic POST ?digest=
// (a session started for it, cancelled if the request does not complete).
class CompleteRequest final : public PendingRequest {
 public:
  CompleteRequest(RegistryStore& store, std::string name, api::SessionId session,
                  std::string digest, std::unique_ptr<ChunkWriter> w, bool own_session)
      : store_(store),
        name_(std::move(name)),
        session_(std::move(session)),
        digest_(std::move(digest)),
        own_session_(own_session) {
    if (w) sink_.emplace(std::move(w));
  }
  ~CompleteRequest() override {
    if (own_session_ && !completed_) (void)store_.cancel_upload(name_, session_);
  }
  void write(std::span<const uint8_t> data) override {
    if (sink_) sink_->write(data);
  }

 protected:
  HttpResponse answer() override {
    if (sink_) {
      auto s = sink_->finish(/*completing=*/true);
      if (!s) {
        // Any 4xx but 416 fails the upload (spec); a monolithic POST never leaves a session.
        if (s.error().http_status() != 416 || own_session_)
          (void)store_.cancel_upload(name_, session_);
        completed_ = true;
        return error_response(s.error());
      }
    }
    completed_ = true;
    auto created = store_.complete_upload(name_, session_, digest_, std::string());
    if (!created) return error_response(created.error());
    return blob_created(name_, created->digest);
  }

 private:
  RegistryStore& store_;
  std::string name_;
  api::SessionId session_;
  std::string digest_;
  std::optional<ChunkSink> sink_;
  bool own_session_;
  bool completed_ = false;
};

// PUT /v2/<name>/manifests/<reference>: collected up to the limit, then given to the store.
class ManifestRequest final : public PendingRequest {
 public:
  ManifestRequest(RegistryStore& store, std::string name, std::string reference,
                  std::string media_type, uint64_t limit_bytes,
                  std::optional<uint64_t> content_length)
      : store_(store),
        name_(std::move(name)),
        reference_(std::move(reference)),
        media_type_(std::move(media_type)),
        limit_bytes_(limit_bytes) {
    if (content_length) bytes_.reserve(*content_length);
  }
  void write(std::span<const uint8_t> data) override {
    received_ += data.size();
    if (received_ > limit_bytes_) {
      bytes_.clear();
      bytes_.shrink_to_fit();
      return;
    }
    bytes_.append(reinterpret_cast<const char*>(data.data()), data.size());
  }

 protected:
  HttpResponse answer() override {
    if (received_ > limit_bytes_) return too_large(received_, limit_bytes_);
    auto created = store_.put_manifest(name_, reference_, media_type_, bytes_);
    if (!created) return error_response(created.error());
    HttpResponse r;
    r.status = 201;
    r.set("Location", "/v2/" + name_ + "/manifests/" + created->digest.str());
    r.set("Docker-Content-Digest", created->digest.str());
    if (auto parsed = api::parse_manifest(media_type_, bytes_); parsed && parsed->subject)
      r.set("OCI-Subject", parsed->subject->str());
    return r;
  }

 public:
  static HttpResponse too_large(uint64_t size, uint64_t limit) {
    return error_response(RegistryError(
        Code::size_invalid, 413,
        "manifest of " + std::to_string(size) + " bytes exceeds " + std::to_string(limit)));
  }

 private:
  RegistryStore& store_;
  std::string name_, reference_, media_type_;
  uint64_t limit_bytes_;
  uint64_t received_ = 0;
  std::string bytes_;
};

// --- the endpoints whose answer needs no body ---

struct Endpoints {
  RegistryStore& store;
  const RequestHead& head;
  const Route& route;
  std::vector<std::pair<std::string, std::string>> query;

  HttpResponse blob_get() {
    bool is_head = head.method == "HEAD";
    std::optional<api::ByteRange> want;
    bool unsatisfiable = false;
    if (!head.range.empty()) {
      want = api::parse_blob_range(head.range);
      // `bytes=5-3` is refused as the model does; other forms we do not read are ignored.
      if (!want && head.range.starts_with("bytes=")) {
        std::string_view spec = head.range.substr(6);
        size_t dash = spec.find('-');
        auto a = parse_u64(spec.substr(0, dash));
        auto b = dash == std::string_view::npos ? std::nullopt : parse_u64(spec.substr(dash + 1));
        unsatisfiable = a && b && *a > *b;
      }
    }
    uint64_t size = 0;
    Digest digest;
    std::optional<sys::UniqueFd> fd;
    if (is_head) {
      auto info = store.stat_blob(route.name, route.ref);
      if (!info) return error_response(info.error());
      size = info->size_bytes;
      digest = info->digest;
    } else {
      auto opened = store.open_blob(route.name, route.ref);
      if (!opened) return error_response(opened.error());
      OpenBlob blob = std::move(opened).value();
      size = blob.size_bytes;
      digest = blob.digest;
      fd = std::move(blob.fd);
    }
    if (unsatisfiable || (want && (want->first > want->last || want->first >= size))) {
      HttpResponse r = error_response(RegistryError(
          Code::range_invalid, "range " + std::string(head.range) + " outside a blob of " +
                                   std::to_string(size) + " bytes"));
      r.set("Content-Range", "bytes */" + std::to_string(size));
      return r;
    }
    HttpResponse r;
    uint64_t first = 0, length = size;
    if (want) {
      uint64_t last = std::min<uint64_t>(want->last, size - 1);
      first = want->first;
      length = last - first + 1;
      r.status = 206;
      r.set("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                 std::to_string(size));
    }
    r.set("Content-Type", std::string(kOctetStream));
    r.set("Docker-Content-Digest", digest.str());
    r.set("Accept-Ranges", "bytes");
    r.set("ETag", "\"" + digest.str() + "\"");
    r.set("Cache-Control", "max-age=31536000");
    r.content_length = length;
    if (fd) r.file = FileBody{std::move(*fd), first, length};
    return r;
  }

  HttpResponse manifest_get() {
    bool is_head = head.method == "HEAD";
    auto m = is_head ? store.stat_manifest(route.name, route.ref)
                     : store.get_manifest(route.name, route.ref);
    if (!m) return error_response(m.error());
    HttpResponse r;
    r.set("Content-Type", m->media_type);
    r.set("Docker-Content-Digest", m->digest.str());
    r.set("ETag", "\"" + m->digest.str() + "\"");
    if (is_head)
      r.content_length = m->size_bytes;
    else
      r.body = m->bytes;
    return r;
  }

  std::optional<api::Page> page(HttpResponse& bad) {
    api::Page p;
    if (auto n = query_param(query, "n")) {
      auto v = parse_u64(*n);
      if (!v) {
        bad = error_response(RegistryError(Code::size_invalid, "n=" + *n + " is not a number"));
        return std::nullopt;
      }
      p.n = static_cast<uint32_t>(std::min<uint64_t>(*v, std::numeric_limits<uint32_t>::max()));
    }
    p.last = query_param(query, "last");
    return p;
  }

  HttpResponse listing(const api::Listing& l, std::string_view path, nlohmann::json body,
                       const api::Page& p) {
    HttpResponse r =
        json_answer(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (l.next_last && p.n) r.set("Link", api::link_header(path, *p.n, *l.next_last));
    return r;
  }

  HttpResponse tags() {
    HttpResponse bad;
    auto p = page(bad);
    if (!p) return bad;
    auto l = store.list_tags(route.name, *p);
    if (!l) return error_response(l.error());
    return listing(*l, "/v2/" + route.name + "/tags/list",
                   nlohmann::json{{"name", route.name}, {"tags", l->entries}}, *p);
  }

  HttpResponse catalog() {
    HttpResponse bad;
    auto p = page(bad);
    if (!p) return bad;
    auto l = store.catalog(*p);
    if (!l) return error_response(l.error());
    return listing(*l, "/v2/_catalog", nlohmann::json{{"repositories", l->entries}}, *p);
  }

  HttpResponse referrers() {
    auto r = store.referrers(route.name, route.ref, query_param(query, "artifactType"));
    if (!r) return error_response(r.error());
    HttpResponse out;
    out.body = api::referrers_index_json(*r);
    out.set("Content-Type", std::string(api::kOciIndexType));
    if (r->filter_applied) out.set("OCI-Filters-Applied", "artifactType");
    return out;
  }

  HttpResponse accepted(const api::RegistryResult<api::Accepted>& a, int status) {
    if (!a) return error_response(a.error());
    HttpResponse r;
    r.status = status;
    return r;
  }
};

std::unique_ptr<PendingRequest> start_upload(
    RegistryStore& store, Authenticator* auth, const RequestHead& head, const Route& r,
    const std::vector<std::pair<std::string, std::string>>& query);
std::unique_ptr<PendingRequest> upload(
    RegistryStore& store, const RequestHead& head, const Route& r,
    const std::vector<std::pair<std::string, std::string>>& query);

}  // namespace

HttpResponse PendingRequest::finish() {
  HttpResponse r = answer();
  r.set("Docker-Distribution-API-Version", "registry/2.0");
  if (head_) {
    if (!r.content_length) r.content_length = r.body.size();
    r.body.clear();
    r.file.reset();
  }
  return r;
}

RequestHandler::RequestHandler(RegistryStore& store, Authenticator* auth, HandlerOptions options)
    : store_(store), auth_(auth), options_(options) {}

std::unique_ptr<PendingRequest> RequestHandler::begin(const RequestHead& head) {
  auto p = route(head);
  p->head_ = head.method == "HEAD";
  return p;
}

std::unique_ptr<PendingRequest> RequestHandler::route(const RequestHead& head) {
  std::string_view path = head.target.substr(0, head.target.find('?'));
  Route r = parse_route(path, head.method);
  if (r.kind == RouteKind::unknown ||
      (r.kind == RouteKind::token && !(auth_ && auth_->serves_tokens())))
    return ready(RegistryError(Code::unsupported, 404, "no endpoint " + std::string(path)));
  if (!method_allowed(r.kind, head.method)) {
    HttpResponse e = error_response(
        RegistryError(Code::unsupported, 405,
                      std::string(head.method) + " is not allowed on " + std::string(path)));
    e.set("Allow", std::string(allowed_methods(r.kind)));
    return ready(std::move(e));
  }
  if (r.kind == RouteKind::token) return ready(auth_->issue_token(head.authorization, head.target));

  auto query = parse_query(head.target);
  if (auth_) {
    std::optional<Access> need;
    if (r.kind == RouteKind::catalog) {
      need = Access{"registry", "catalog", "*"};
    } else if (r.kind != RouteKind::base) {
      std::string action = head.method == "GET" || head.method == "HEAD"            ? "pull"
                           : head.method == "DELETE" && r.kind != RouteKind::upload ? "delete"
                                                                                    : "push";
      need = Access{"repository", r.name, action};
    }
    if (auto denied = auth_->check(head.authorization, need)) return ready(std::move(*denied));
  }

  Endpoints e{store_, head, r, std::move(query)};
  const std::string_view m = head.method;
  switch (r.kind) {
    case RouteKind::base:
      return ready(json_answer("{}"));
    case RouteKind::catalog:
      return ready(e.catalog());
    case RouteKind::tags:
      return ready(e.tags());
    case RouteKind::referrers:
      return ready(e.referrers());
    case RouteKind::blob:
      if (m == "DELETE") return ready(e.accepted(store_.delete_blob(r.name, r.ref), 202));
      return ready(e.blob_get());
    case RouteKind::manifest: {
      if (m == "DELETE") return ready(e.accepted(store_.delete_manifest(r.name, r.ref), 202));
      if (m != "PUT") return ready(e.manifest_get());
      // The model's order: name, reference, size, then the document.
      if (!api::valid_repository_name(r.name))
        return ready(RegistryError(Code::name_invalid, "invalid repository name '" + r.name + "'"));
      if (auto ref = api::parse_reference(r.ref, Code::manifest_invalid); !ref)
        return ready(ref.error());
      if (head.content_length && *head.content_length > options_.manifest_limit_bytes) {
        HttpResponse big =
            ManifestRequest::too_large(*head.content_length, options_.manifest_limit_bytes);
        big.close = true;  // the body is not read
        return ready(std::move(big));
      }
      return std::make_unique<ManifestRequest>(store_, r.name, r.ref,
                                               bare_media_type(head.content_type),
                                               options_.manifest_limit_bytes, head.content_length);
    }
    case RouteKind::upload_start:
      return start_upload(store_, auth_, head, r, e.query);
    case RouteKind::upload:
      return upload(store_, head, r, e.query);
    case RouteKind::token:
    case RouteKind::unknown:
      break;
  }
  return ready(RegistryError(Code::unsupported, 404, "no endpoint " + std::string(path)));
}

namespace {

std::unique_ptr<PendingRequest> start_upload(
    RegistryStore& store_, Authenticator* auth_, const RequestHead& head, const Route& r,
    const std::vector<std::pair<std::string, std::string>>& query) {
  auto mount = query_param(query, "mount");
  if (mount) {
    std::string from = query_param(query, "from").value_or("");
    // Mounting needs pull on the source; without it the client gets an upload instead.
    bool may_read = !auth_ || !auth_->check(head.authorization, Access{"repository", from, "pull"});
    auto m = store_.mount_blob(r.name, *mount, may_read ? from : std::string());
    if (!m) return ready(m.error());
    if (m->mounted) return ready(blob_created(r.name, m->digest));
    return ready(upload_answer(202, r.name, m->upload.value_or(api::UploadStatus{})));
  }
  auto digest = query_param(query, "digest");
  auto s = store_.start_upload(r.name);
  if (!s) return ready(s.error());
  if (!digest) return ready(upload_answer(202, r.name, *s));
  // Monolithic: the body is the blob.
  if (auto d = api::parse_digest(*digest); !d) {
    (void)store_.cancel_upload(r.name, s->session);
    return ready(d.error());
  }
  std::unique_ptr<ChunkWriter> w;
  if (head.content_length.value_or(1) > 0) {
    auto begun = store_.begin_chunk(r.name, s->session, 0, head.content_length);
    if (!begun) {
      (void)store_.cancel_upload(r.name, s->session);
      return ready(begun.error());
    }
    w = std::move(begun).value();
  }
  return std::make_unique<CompleteRequest>(store_, r.name, s->session, *digest, std::move(w),
                                           /*own_session=*/true);
}

std::unique_ptr<PendingRequest> upload(
    RegistryStore& store_, const RequestHead& head, const Route& r,
    const std::vector<std::pair<std::string, std::string>>& query) {
  const std::string_view m = head.method;
  if (m == "GET") {
    auto s = store_.upload_status(r.name, r.ref);
    if (!s) return ready(s.error());
    return ready(upload_answer(204, r.name, *s));
  }
  if (m == "DELETE") {
    auto c = store_.cancel_upload(r.name, r.ref);
    if (!c) return ready(c.error());
    HttpResponse ok;
    ok.status = 204;
    return ready(std::move(ok));
  }
  // PATCH and PUT: where the bytes go. The session is checked first (the model's order: an
  // unknown session is 404 whatever its Content-Range says).
  auto status = store_.upload_status(r.name, r.ref);
  if (!status) return ready(status.error());
  std::optional<uint64_t> offset = status->offset_bytes;
  if (!head.content_range.empty()) {
    auto range = api::parse_content_range(head.content_range);
    if (!range || (head.content_length && *head.content_length != range->last - range->first + 1))
      return ready(RegistryError(Code::range_invalid, "Content-Range " +
                                                          std::string(head.content_range) +
                                                          " is not <first>-<last> of the body"));
    offset = range->first;
  }
  bool has_body = head.content_length.value_or(1) > 0;
  std::unique_ptr<ChunkWriter> w;
  if (has_body || m == "PATCH") {
    auto begun = store_.begin_chunk(r.name, r.ref, offset.value_or(0), head.content_length);
    if (!begun) return ready(begun.error());
    w = std::move(begun).value();
  }
  if (m == "PATCH") return std::make_unique<PatchRequest>(r.name, std::move(w));
  return std::make_unique<CompleteRequest>(store_, r.name, r.ref,
                                           query_param(query, "digest").value_or(""), std::move(w),
                                           /*own_session=*/false);
}

}  // namespace

HttpResponse RequestHandler::handle(const HttpRequest& request) {
  RequestHead head;
  head.method = request.method;
  head.target = request.target;
  if (!request.chunked) head.content_length = request.body.size();
  for (const auto& [key, v] : request.headers) {
    const std::string& k = key;  // a lambda may not capture a structured binding (clang 14)
    auto is = [&](std::string_view name) {
      return k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0;
    };
    if (is("Authorization"))
      head.authorization = v;
    else if (is("Content-Type"))
      head.content_type = v;
    else if (is("Content-Range"))
      head.content_range = v;
    else if (is("Range"))
      head.range = v;
  }
  auto pending = begin(head);
  if (pending->wants_body()) {
    const auto* data = reinterpret_cast<const uint8_t*>(request.body.data());
    // In pieces, as a socket would deliver them.
    constexpr size_t kPiece = 64 * 1024;
    for (size_t at = 0; at < request.body.size(); at += kPiece)
      pending->write({data + at, std::min(kPiece, request.body.size() - at)});
  }
  return pending->finish();
}

}  // namespace gantry::runtime::registry::server
