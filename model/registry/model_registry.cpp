#include "model/registry/model_registry.h"

#include <algorithm>

#include "model/api/registry_names.h"

namespace gantry::model::registry {

using api::parse_digest;
using api::parse_manifest;
using api::parse_reference;
using api::Reference;
using api::Tag;
using api::valid_repository_name;
using api::valid_tag;

using api::RegistryError;
using api::RegistryErrorCode;
using api::RegistryResult;
using Code = api::RegistryErrorCode;

namespace {

std::optional<RegistryError> check_name(const std::string& repo) {
  if (valid_repository_name(repo)) return std::nullopt;
  return RegistryError(Code::name_invalid, "invalid repository name '" + repo + "'");
}

// One page of a sorted listing (end-8b): the entries after `last`, at most n of them; the
// Link (next_last) only when n was given and entries remain after this page.
template <class It, class Key>
api::Listing paginate(It begin, It end, const api::Page& page, Key key) {
  api::Listing out;
  It it = begin;
  if (page.last) it = std::find_if(begin, end, [&](const auto& e) { return key(e) > *page.last; });
  for (; it != end; ++it) {
    if (page.n && out.entries.size() == *page.n) break;
    out.entries.push_back(key(*it));
  }
  if (page.n && *page.n > 0 && it != end) out.next_last = out.entries.back();
  return out;
}

}  // namespace

// --- blobs ---

const ModelRegistry::Repository* ModelRegistry::find_repo(const std::string& repo) const {
  auto it = repos_.find(repo);
  return it == repos_.end() ? nullptr : &it->second;
}

RegistryResult<api::BlobInfo> ModelRegistry::stat_blob(const std::string& repo,
                                                       const std::string& digest) {
  auto blob = get_blob(repo, digest, std::nullopt);
  if (!blob) return blob.error();
  return api::BlobInfo{blob->digest, blob->size_bytes};
}

RegistryResult<api::BlobData> ModelRegistry::get_blob(const std::string& repo,
                                                      const std::string& digest,
                                                      std::optional<api::ByteRange> range) {
  if (auto e = check_name(repo)) return *e;
  auto d = parse_digest(digest);
  if (!d) return d.error();
  const Repository* r = find_repo(repo);
  if (r == nullptr || !r->blobs.contains(*d))
    return RegistryError(Code::blob_unknown, "blob " + digest + " unknown in " + repo);
  const std::string& bytes = content_.at(*d);
  api::BlobData out{*d, bytes.size(), std::nullopt, {}};
  if (!range) {
    out.bytes = bytes;
    return out;
  }
  if (range->first > range->last || range->first >= bytes.size())
    return RegistryError(Code::range_invalid, "range " + std::to_string(range->first) + "-" +
                                                  std::to_string(range->last) +
                                                  " outside a blob of " +
                                                  std::to_string(bytes.size()) + " bytes");
  uint64_t last = std::min<uint64_t>(range->last, bytes.size() - 1);
  out.range = api::ByteRange{range->first, last};
  out.bytes = bytes.substr(range->first, last - range->first + 1);
  return out;
}

RegistryResult<api::Accepted> ModelRegistry::delete_blob(const std::string& repo,
                                                         const std::string& digest) {
  if (auto e = check_name(repo)) return *e;
  auto d = parse_digest(digest);
  if (!d) return d.error();
  auto it = repos_.find(repo);
  if (it == repos_.end() || it->second.blobs.erase(*d) == 0)
    return RegistryError(Code::blob_unknown, "blob " + digest + " unknown in " + repo);
  return api::Accepted{};
}

// --- uploads ---

api::UploadStatus ModelRegistry::new_session(const std::string& repo) {
  api::SessionId id = "model-" + std::to_string(++sessions_started_);
  sessions_[id] = Session{repo, {}};
  return api::UploadStatus{id, 0};
}

RegistryResult<ModelRegistry::Session*> ModelRegistry::find_session(const std::string& repo,
                                                                    const api::SessionId& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.repo != repo)
    return RegistryError(Code::blob_upload_unknown, "upload " + id + " unknown in " + repo);
  return &it->second;
}

api::BlobCreated ModelRegistry::commit_blob(const std::string& repo, const Digest& digest,
                                            std::string bytes) {
  uint64_t size = bytes.size();
  content_.try_emplace(digest, std::move(bytes));
  repos_[repo].blobs.insert(digest);
  return api::BlobCreated{digest, size};
}

RegistryResult<api::UploadStatus> ModelRegistry::start_upload(const std::string& repo) {
  if (auto e = check_name(repo)) return *e;
  return new_session(repo);
}

RegistryResult<api::BlobCreated> ModelRegistry::push_blob(const std::string& repo,
                                                          const std::string& digest,
                                                          const std::string& bytes) {
  if (auto e = check_name(repo)) return *e;
  auto d = parse_digest(digest);
  if (!d) return d.error();
  if (Digest::of(bytes) != *d)
    return RegistryError(Code::digest_invalid, "content does not match digest " + digest);
  return commit_blob(repo, *d, bytes);
}

RegistryResult<api::UploadStatus> ModelRegistry::upload_chunk(const std::string& repo,
                                                              const api::SessionId& session,
                                                              uint64_t offset_bytes,
                                                              const std::string& bytes) {
  if (auto e = check_name(repo)) return *e;
  auto s = find_session(repo, session);
  if (!s) return s.error();
  std::string& got = (*s)->bytes;
  if (offset_bytes != got.size())
    return RegistryError(Code::range_invalid, "chunk starts at " + std::to_string(offset_bytes) +
                                                  ", the upload is at " +
                                                  std::to_string(got.size()));
  got += bytes;
  return api::UploadStatus{session, got.size()};
}

RegistryResult<api::UploadStatus> ModelRegistry::upload_status(const std::string& repo,
                                                               const api::SessionId& session) {
  if (auto e = check_name(repo)) return *e;
  auto s = find_session(repo, session);
  if (!s) return s.error();
  return api::UploadStatus{session, (*s)->bytes.size()};
}

RegistryResult<api::BlobCreated> ModelRegistry::complete_upload(const std::string& repo,
                                                                const api::SessionId& session,
                                                                const std::string& digest,
                                                                const std::string& last_chunk) {
  if (auto e = check_name(repo)) return *e;
  auto s = find_session(repo, session);
  if (!s) return s.error();
  // From here every answer ends the session: a 4xx other than 416 fails the upload.
  std::string bytes = std::move((*s)->bytes) + last_chunk;
  sessions_.erase(session);
  auto d = parse_digest(digest);
  if (!d) return d.error();
  if (Digest::of(bytes) != *d)
    return RegistryError(Code::digest_invalid, "uploaded content does not match digest " + digest);
  return commit_blob(repo, *d, std::move(bytes));
}

RegistryResult<api::Accepted> ModelRegistry::cancel_upload(const std::string& repo,
                                                           const api::SessionId& session) {
  if (auto e = check_name(repo)) return *e;
  auto s = find_session(repo, session);
  if (!s) return s.error();
  sessions_.erase(session);
  return api::Accepted{};
}

RegistryResult<api::MountResult> ModelRegistry::mount_blob(const std::string& repo,
                                                           const std::string& digest,
                                                           const std::string& from_repo) {
  if (auto e = check_name(repo)) return *e;
  auto d = Digest::parse(digest);
  const Repository* from = find_repo(from_repo);
  if (d && from != nullptr && from->blobs.contains(*d)) {
    repos_[repo].blobs.insert(*d);
    return api::MountResult{true, *d, std::nullopt};
  }
  // Unknown blob, unknown or invalid source, malformed digest: fall back to an upload.
  return api::MountResult{false, Digest(), new_session(repo)};
}

// --- manifests ---

RegistryResult<api::ManifestCreated> ModelRegistry::put_manifest(const std::string& repo,
                                                                 const std::string& reference,
                                                                 const std::string& media_type,
                                                                 const std::string& bytes) {
  if (auto e = check_name(repo)) return *e;
  auto ref = parse_reference(reference, Code::manifest_invalid);
  if (!ref) return ref.error();
  if (bytes.size() > options_.manifest_limit_bytes)
    return RegistryError(Code::size_invalid, 413,
                         "manifest of " + std::to_string(bytes.size()) + " bytes exceeds " +
                             std::to_string(options_.manifest_limit_bytes));
  auto parsed = parse_manifest(media_type, bytes);
  if (!parsed) return parsed.error();
  Digest digest = Digest::of(bytes);
  if (const Digest* want = std::get_if<Digest>(&*ref); want && *want != digest)
    return RegistryError(Code::digest_invalid,
                         "manifest digest is " + digest.str() + ", not " + reference);

  const Repository* r = find_repo(repo);
  for (const Digest& b : parsed->blobs)
    if (r == nullptr || !r->blobs.contains(b))
      return RegistryError(Code::manifest_blob_unknown, "blob " + b.str() + " unknown in " + repo);
  for (const Digest& m : parsed->manifests)
    if (r == nullptr || !r->manifests.contains(m))
      return RegistryError(Code::manifest_blob_unknown,
                           "manifest " + m.str() + " unknown in " + repo);

  Repository& target = repos_[repo];
  target.manifests[digest] = StoredManifest{media_type, bytes, std::move(parsed).value()};
  if (const Tag* tag = std::get_if<Tag>(&*ref)) target.tags[tag->name] = digest;
  return api::ManifestCreated{digest};
}

RegistryResult<api::ManifestData> ModelRegistry::read_manifest(const std::string& repo,
                                                               const std::string& reference,
                                                               bool with_bytes) const {
  if (auto e = check_name(repo)) return *e;
  auto ref = parse_reference(reference, Code::manifest_unknown);
  if (!ref) return ref.error();
  RegistryError unknown(Code::manifest_unknown, "manifest " + reference + " unknown in " + repo);
  const Repository* r = find_repo(repo);
  if (r == nullptr) return unknown;
  Digest digest;
  if (const Tag* tag = std::get_if<Tag>(&*ref)) {
    auto t = r->tags.find(tag->name);
    if (t == r->tags.end()) return unknown;
    digest = t->second;
  } else {
    digest = std::get<Digest>(*ref);
  }
  auto m = r->manifests.find(digest);
  if (m == r->manifests.end()) return unknown;
  return api::ManifestData{digest, m->second.media_type, m->second.bytes.size(),
                           with_bytes ? m->second.bytes : std::string()};
}

RegistryResult<api::ManifestData> ModelRegistry::get_manifest(const std::string& repo,
                                                              const std::string& reference) {
  return read_manifest(repo, reference, true);
}

RegistryResult<api::ManifestData> ModelRegistry::stat_manifest(const std::string& repo,
                                                               const std::string& reference) {
  return read_manifest(repo, reference, false);
}

RegistryResult<api::Accepted> ModelRegistry::delete_manifest(const std::string& repo,
                                                             const std::string& reference) {
  if (auto e = check_name(repo)) return *e;
  auto ref = parse_reference(reference, Code::manifest_unknown);
  if (!ref) return ref.error();
  RegistryError unknown(Code::manifest_unknown, "manifest " + reference + " unknown in " + repo);
  auto it = repos_.find(repo);
  if (const Tag* tag = std::get_if<Tag>(&*ref)) {
    if (!options_.tag_deletion)
      return RegistryError(Code::unsupported, "tag deletion is disabled; delete by digest");
    if (it == repos_.end() || it->second.tags.erase(tag->name) == 0) return unknown;
    return api::Accepted{};
  }
  const Digest& digest = std::get<Digest>(*ref);
  if (it == repos_.end() || it->second.manifests.erase(digest) == 0) return unknown;
  std::erase_if(it->second.tags, [&](const auto& t) { return t.second == digest; });
  return api::Accepted{};
}

// --- listings ---

RegistryResult<api::Listing> ModelRegistry::list_tags(const std::string& repo,
                                                      const api::Page& page) {
  if (auto e = check_name(repo)) return *e;
  const Repository* r = find_repo(repo);
  if (r == nullptr) return RegistryError(Code::name_unknown, "repository " + repo + " unknown");
  return paginate(r->tags.begin(), r->tags.end(), page, [](const auto& t) { return t.first; });
}

RegistryResult<api::Listing> ModelRegistry::catalog(const api::Page& page) {
  return paginate(repos_.begin(), repos_.end(), page, [](const auto& r) { return r.first; });
}

RegistryResult<api::Referrers> ModelRegistry::referrers(
    const std::string& repo, const std::string& digest,
    const std::optional<std::string>& artifact_type) {
  if (auto e = check_name(repo)) return *e;
  auto subject = parse_digest(digest);
  if (!subject) return subject.error();
  const Repository* r = find_repo(repo);
  if (r == nullptr) return RegistryError(Code::name_unknown, "repository " + repo + " unknown");
  api::Referrers out;
  out.filter_applied = artifact_type.has_value();
  for (const auto& [d, m] : r->manifests) {  // ordered by digest
    if (m.parsed.subject != *subject) continue;
    if (artifact_type && m.parsed.artifact_type != *artifact_type) continue;
    out.manifests.push_back(api::Descriptor{m.media_type, d, m.bytes.size(), m.parsed.artifact_type,
                                            m.parsed.annotations});
  }
  return out;
}

}  // namespace gantry::model::registry
