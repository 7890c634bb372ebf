// RegistryStore: opening and recovery, blobs, manifests, tags and listings. Upload sessions are
// in upload_sessions.cpp, garbage collection in garbage_collect.cpp. The layout on disk and the
// crash rules are in docs/registry-storage.md.
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "model/api/registry_names.h"
#include "runtime/registry/store/store_impl.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::registry {

using api::RegistryError;
using api::RegistryResult;
using Code = api::RegistryErrorCode;
namespace fs = std::filesystem;

namespace detail {

std::string random_hex() {
  uint8_t bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

namespace {

std::optional<RegistryError> check_name(const std::string& repo) {
  if (api::valid_repository_name(repo)) return std::nullopt;
  return RegistryError(Code::name_invalid, "invalid repository name '" + repo + "'");
}

// A failure of the store itself (disk full, I/O error): 500 with the code of the operation.
RegistryError io_error(Code code, const Error& e) {
  return RegistryError(code, 500, "storage: " + e.to_string());
}

// One page of a sorted listing: the same rule as the model (end-8b).
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

bool is_temp(const std::string& name) {
  return name.rfind(kTempPrefix, 0) == 0;
}

std::optional<Digest> digest_of_hex(const std::string& hex) {
  auto d = Digest::parse("sha256:" + hex);
  if (!d) return std::nullopt;
  return *d;
}

Result<std::string> read_file(const fs::path& path) {
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  return sys::read_all(fd.get());
}

// A manifest file is "<media type>\n<the exact bytes>".
std::string manifest_file(const std::string& media_type, const std::string& bytes) {
  return media_type + "\n" + bytes;
}

Result<std::pair<std::string, std::string>> split_manifest_file(std::string file) {
  size_t nl = file.find('\n');
  if (nl == std::string::npos) return Error(ErrorKind::internal, "manifest file without header");
  return std::make_pair(file.substr(0, nl), file.substr(nl + 1));
}

Result<void> make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error(errno, "mkdir '" + dir.string() + "'");
  return ok();
}

}  // namespace

// --- opening and recovery ---

StoreImpl::StoreImpl(fs::path root, StoreOptions options, content::ContentStore content)
    : root_(std::move(root)),
      options_(options),
      content_(std::move(content)),
      repos_dir_(root_ / "repositories"),
      uploads_dir_(root_ / "uploads") {}

Result<void> StoreImpl::recover() {
  GANTRY_TRY(make_dir(repos_dir_));
  GANTRY_TRY(make_dir(uploads_dir_));
  GANTRY_TRY_CTX(content_.clean_ingests(), "recover ingests");
  GANTRY_TRY_CTX(recover_repositories(), "recover repositories");
  GANTRY_TRY_CTX(recover_sessions(), "recover upload sessions");
  return ok();
}

Result<void> StoreImpl::recover_repositories() {
  // Depth-first over repositories/: a directory holding _blobs is a repository; directories
  // whose names start with '_' or '.' are the store's own.
  std::vector<std::string> pending{""};
  while (!pending.empty()) {
    std::string rel = pending.back();
    pending.pop_back();
    fs::path dir = rel.empty() ? repos_dir_ : repos_dir_ / rel;
    std::error_code ec;
    if (!rel.empty() && fs::is_directory(dir / kBlobsDir, ec) && api::valid_repository_name(rel))
      GANTRY_TRY_CTX(load_repository(rel, dir), "repository " + rel);
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '_' || name[0] == '.') continue;
      if (e.is_directory(ec)) pending.push_back(rel.empty() ? name : rel + "/" + name);
    }
    if (ec) return errno_error(ec.value(), "list '" + dir.string() + "'");
  }
  return ok();
}

Result<void> StoreImpl::load_repository(const std::string& name, const fs::path& dir) {
  Repo& r = repo_entry(name);
  r.exists = true;
  std::error_code ec;
  // Every directory may hold temp files of a write that never got renamed: drop them.
  for (const char* sub : {kBlobsDir, kManifestsDir, kTagsDir}) {
    GANTRY_TRY(make_dir(dir / sub));
    for (const auto& e : fs::directory_iterator(dir / sub, ec))
      if (is_temp(e.path().filename().string())) fs::remove(e.path(), ec);
  }
  for (const auto& e : fs::directory_iterator(dir / kBlobsDir, ec)) {
    auto d = digest_of_hex(e.path().filename().string());
    if (!d) continue;
    auto info = content_.stat(*d);
    if (!info) {  // gc removed the blob and crashed before the link
      fs::remove(e.path(), ec);
      continue;
    }
    struct stat st {};
    Clock::time_point linked_at = Clock::now();
    if (::stat(e.path().c_str(), &st) == 0)
      linked_at = Clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    r.blobs[*d] = BlobLink{static_cast<uint64_t>(info->size_bytes), linked_at};
  }
  for (const auto& e : fs::directory_iterator(dir / kManifestsDir, ec)) {
    auto d = digest_of_hex(e.path().filename().string());
    if (!d) continue;
    GANTRY_ASSIGN_OR_RETURN(std::string file, read_file(e.path()));
    auto split = split_manifest_file(std::move(file));
    auto parsed = split ? api::parse_manifest(split->first, split->second)
                        : RegistryResult<api::ParsedManifest>(
                              RegistryError(Code::manifest_invalid, "no header"));
    if (!split || !parsed || Digest::of(split->second) != *d) {
      fs::remove(e.path(), ec);  // not something put_manifest wrote whole
      continue;
    }
    r.manifests[*d] = ManifestEntry{split->first, split->second.size(), std::move(parsed).value()};
  }
  for (const auto& e : fs::directory_iterator(dir / kTagsDir, ec)) {
    std::string tag = e.path().filename().string();
    if (!api::valid_tag(tag)) continue;
    GANTRY_ASSIGN_OR_RETURN(std::string text, read_file(e.path()));
    auto d = Digest::parse(text);
    if (!d || !r.manifests.contains(*d)) {  // its manifest was being deleted
      fs::remove(e.path(), ec);
      continue;
    }
    r.tags[tag] = *d;
  }
  return ok();
}

// --- repositories ---

Repo& StoreImpl::repo_entry(const std::string& name) {
  {
    std::shared_lock m(meta_mu_);
    auto it = repos_.find(name);
    if (it != repos_.end()) return *it->second;
  }
  std::unique_lock m(meta_mu_);
  auto [it, inserted] = repos_.try_emplace(name);
  if (inserted) {
    it->second = std::make_unique<Repo>();
    it->second->dir = repos_dir_ / name;
  }
  return *it->second;
}

Repo* StoreImpl::existing_repo(const std::string& name) {
  std::shared_lock m(meta_mu_);
  auto it = repos_.find(name);
  if (it == repos_.end() || !it->second->exists) return nullptr;
  return it->second.get();  // entries are never removed, and exists never reverts
}

const Repo* StoreImpl::find_repo(const std::string& name) const {
  auto it = repos_.find(name);
  if (it == repos_.end() || !it->second->exists) return nullptr;
  return it->second.get();
}

Result<void> StoreImpl::materialize(Repo& r) {
  {
    std::shared_lock m(meta_mu_);
    if (r.exists) return ok();
  }
  std::error_code ec;
  fs::create_directories(r.dir, ec);
  if (ec) return errno_error(ec.value(), "create '" + r.dir.string() + "'");
  GANTRY_TRY(make_dir(r.dir / kManifestsDir));
  GANTRY_TRY(make_dir(r.dir / kTagsDir));
  GANTRY_TRY(make_dir(r.dir / kBlobsDir));  // last: its presence makes the repository
  if (options_.durable) {
    for (fs::path p = r.dir; p != repos_dir_.parent_path(); p = p.parent_path()) {
      GANTRY_TRY(sys::fsync_dir(p));
      if (p == repos_dir_) break;
    }
  }
  std::unique_lock m(meta_mu_);
  r.exists = true;
  return ok();
}

Result<void> StoreImpl::write_file(const fs::path& dir, const std::string& name,
                                   std::string_view bytes) {
  fs::path temp = dir / (kTempPrefix + random_hex());
  sys::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return errno_error(errno, "create '" + temp.string() + "'");
  auto written = sys::write_all(fd.get(), bytes);
  if (written && options_.durable && ::fdatasync(fd.get()) != 0)
    written = errno_error(errno, "fsync '" + temp.string() + "'");
  if (written && ::rename(temp.c_str(), (dir / name).c_str()) != 0)
    written = errno_error(errno, "rename '" + temp.string() + "'");
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  if (options_.durable) GANTRY_TRY(sys::fsync_dir(dir));
  return ok();
}

Result<void> StoreImpl::link_blob(const std::string& repo, const Digest& d, uint64_t size_bytes) {
  Repo& r = repo_entry(repo);
  std::lock_guard w(r.write_mu);
  GANTRY_TRY(materialize(r));
  fs::path link = r.dir / kBlobsDir / d.hex();
  bool created = false;
  sys::UniqueFd fd(::open(link.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd) {
    created = true;
  } else if (errno != EEXIST) {
    return errno_error(errno, "create link '" + link.string() + "'");
  } else if (::utimensat(AT_FDCWD, link.c_str(), nullptr, 0) != 0) {
    return errno_error(errno, "touch link '" + link.string() + "'");  // restarts the grace
  }
  fd.reset();
  if (created && options_.durable) GANTRY_TRY(sys::fsync_dir(r.dir / kBlobsDir));
  std::unique_lock m(meta_mu_);
  r.blobs[d] = BlobLink{size_bytes, Clock::now()};
  return ok();
}

// --- blobs ---

RegistryResult<api::BlobInfo> StoreImpl::stat_blob(const std::string& repo,
                                                   const std::string& digest) {
  if (auto e = check_name(repo)) return *e;
  auto d = api::parse_digest(digest);
  if (!d) return d.error();
  std::shared_lock m(meta_mu_);
  const Repo* r = find_repo(repo);
  if (r != nullptr) {
    auto it = r->blobs.find(*d);
    if (it != r->blobs.end()) return api::BlobInfo{*d, it->second.size_bytes};
  }
  return RegistryError(Code::blob_unknown, "blob " + digest + " unknown in " + repo);
}

RegistryResult<OpenBlob> StoreImpl::open_blob(const std::string& repo, const std::string& digest) {
  auto info = stat_blob(repo, digest);
  if (!info) return info.error();
  auto fd = content_.open_blob(info->digest);
  if (!fd) {
    if (fd.error().kind() == ErrorKind::not_found)  // collected since the lookup
      return RegistryError(Code::blob_unknown, "blob " + digest + " unknown in " + repo);
    return io_error(Code::blob_unknown, fd.error());
  }
  return OpenBlob{info->digest, info->size_bytes, std::move(fd).value()};
}

RegistryResult<api::BlobData> StoreImpl::get_blob(const std::string& repo,
                                                  const std::string& digest,
                                                  std::optional<api::ByteRange> range) {
  auto blob = open_blob(repo, digest);
  if (!blob) return blob.error();
  uint64_t size = blob->size_bytes;
  api::BlobData out{blob->digest, size, std::nullopt, {}};
  uint64_t first = 0, count = size;
  if (range) {
    if (range->first > range->last || range->first >= size)
      return RegistryError(Code::range_invalid, "range " + std::to_string(range->first) + "-" +
                                                    std::to_string(range->last) +
                                                    " outside a blob of " + std::to_string(size) +
                                                    " bytes");
    uint64_t last = std::min<uint64_t>(range->last, size - 1);
    out.range = api::ByteRange{range->first, last};
    first = range->first;
    count = last - first + 1;
  }
  out.bytes.resize(count);
  uint64_t done = 0;
  while (done < count) {
    ssize_t n = ::pread(blob->fd.get(), out.bytes.data() + done, count - done,
                        static_cast<off_t>(first + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return io_error(Code::blob_unknown,
                      n < 0 ? errno_error(errno, "read blob " + digest)
                            : Error(ErrorKind::internal, "blob " + digest + " is short"));
    done += static_cast<uint64_t>(n);
  }
  return out;
}

RegistryResult<api::Accepted> StoreImpl::delete_blob(const std::string& repo,
                                                     const std::string& digest) {
  if (auto e = check_name(repo)) return *e;
  if (!options_.deletion) return RegistryError(Code::unsupported, "deletion is disabled");
  auto d = api::parse_digest(digest);
  if (!d) return d.error();
  RegistryError unknown(Code::blob_unknown, "blob " + digest + " unknown in " + repo);
  Repo* existing = existing_repo(repo);  // no index entry for names never committed to
  if (existing == nullptr) return unknown;
  Repo& r = *existing;
  std::lock_guard w(r.write_mu);
  {
    std::shared_lock m(meta_mu_);
    if (!r.blobs.contains(*d)) return unknown;
  }
  fs::path link = r.dir / kBlobsDir / d->hex();
  if (::unlink(link.c_str()) != 0 && errno != ENOENT)
    return io_error(Code::blob_unknown, errno_error(errno, "unlink '" + link.string() + "'"));
  if (options_.durable) {
    if (auto s = sys::fsync_dir(r.dir / kBlobsDir); !s)
      return io_error(Code::blob_unknown, s.error());
  }
  std::unique_lock m(meta_mu_);
  r.blobs.erase(*d);
  return api::Accepted{};
}

RegistryResult<api::BlobCreated> StoreImpl::commit_bytes(const std::string& repo, const Digest& d,
                                                         const std::string& bytes) {
  std::shared_lock gc(gc_mu_);
  if (!content_.contains(d)) {
    // The digest was checked in memory; a temp file under uploads/ (dropped on reopen if we
    // crash) becomes the blob by rename.
    fs::path temp = uploads_dir_ / (kTempPrefix + random_hex());
    sys::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    auto placed = fd ? sys::write_all(fd.get(), bytes)
                     : Result<void>(errno_error(errno, "create '" + temp.string() + "'"));
    if (placed) placed = place_blob(temp, fd.get(), d);
    if (!placed) {
      ::unlink(temp.c_str());
      return io_error(Code::blob_upload_invalid, placed.error());
    }
  }
  if (auto l = link_blob(repo, d, bytes.size()); !l)
    return io_error(Code::blob_upload_invalid, l.error());
  return api::BlobCreated{d, bytes.size()};
}

RegistryResult<api::BlobCreated> StoreImpl::push_blob(const std::string& repo,
                                                      const std::string& digest,
                                                      const std::string& bytes) {
  if (auto e = check_name(repo)) return *e;
  auto d = api::parse_digest(digest);
  if (!d) return d.error();
  if (Digest::of(bytes) != *d)
    return RegistryError(Code::digest_invalid, "content does not match digest " + digest);
  return commit_bytes(repo, *d, bytes);
}

RegistryResult<api::MountResult> StoreImpl::mount_blob(const std::string& repo,
                                                       const std::string& digest,
                                                       const std::string& from_repo) {
  if (auto e = check_name(repo)) return *e;
  auto d = Digest::parse(digest);
  if (d) {
    std::shared_lock gc(gc_mu_);
    std::optional<uint64_t> size;
    {
      std::shared_lock m(meta_mu_);
      const Repo* from = find_repo(from_repo);
      if (from != nullptr) {
        auto it = from->blobs.find(*d);
        if (it != from->blobs.end()) size = it->second.size_bytes;
      }
    }
    if (size) {
      if (auto l = link_blob(repo, *d, *size); !l)
        return io_error(Code::blob_upload_invalid, l.error());
      return api::MountResult{true, *d, std::nullopt};
    }
  }
  // Unknown blob, unknown or invalid source, malformed digest: fall back to an upload.
  auto s = new_session(repo);
  if (!s) return s.error();
  return api::MountResult{false, Digest(), std::move(s).value()};
}

// --- manifests ---

RegistryResult<api::ManifestCreated> StoreImpl::put_manifest(const std::string& repo,
                                                             const std::string& reference,
                                                             const std::string& media_type,
                                                             const std::string& bytes) {
  if (auto e = check_name(repo)) return *e;
  auto ref = api::parse_reference(reference, Code::manifest_invalid);
  if (!ref) return ref.error();
  if (bytes.size() > options_.manifest_limit_bytes)
    return RegistryError(Code::size_invalid, 413,
                         "manifest of " + std::to_string(bytes.size()) + " bytes exceeds " +
                             std::to_string(options_.manifest_limit_bytes));
  auto parsed = api::parse_manifest(media_type, bytes);
  if (!parsed) return parsed.error();
  Digest digest = Digest::of(bytes);
  if (const Digest* want = std::get_if<Digest>(&*ref); want && *want != digest)
    return RegistryError(Code::digest_invalid,
                         "manifest digest is " + digest.str() + ", not " + reference);

  // The check and the write under the gc lock (shared) and the repository's write lock: no
  // sweep, no blob deletion and no manifest deletion in this repository in between.
  std::shared_lock gc(gc_mu_);
  Repo& r = repo_entry(repo);
  std::lock_guard w(r.write_mu);
  bool same_file = false;
  {
    std::shared_lock m(meta_mu_);
    bool exists = r.exists;
    for (const Digest& b : parsed->blobs)
      if (!exists || !r.blobs.contains(b))
        return RegistryError(Code::manifest_blob_unknown,
                             "blob " + b.str() + " unknown in " + repo);
    for (const Digest& c : parsed->manifests)
      if (!exists || !r.manifests.contains(c))
        return RegistryError(Code::manifest_blob_unknown,
                             "manifest " + c.str() + " unknown in " + repo);
    auto it = r.manifests.find(digest);
    same_file = it != r.manifests.end() && it->second.media_type == media_type;
  }
  auto stored = [&]() -> Result<void> {
    GANTRY_TRY(materialize(r));
    if (!same_file)
      GANTRY_TRY(write_file(r.dir / kManifestsDir, digest.hex(), manifest_file(media_type, bytes)));
    if (const api::Tag* tag = std::get_if<api::Tag>(&*ref))
      GANTRY_TRY(write_file(r.dir / kTagsDir, tag->name, digest.str()));
    return ok();
  }();
  if (!stored) return io_error(Code::manifest_invalid, stored.error());
  std::unique_lock m(meta_mu_);
  r.manifests[digest] = ManifestEntry{media_type, bytes.size(), std::move(parsed).value()};
  if (const api::Tag* tag = std::get_if<api::Tag>(&*ref)) r.tags[tag->name] = digest;
  return api::ManifestCreated{digest};
}

RegistryResult<api::ManifestData> StoreImpl::read_manifest(const std::string& repo,
                                                           const std::string& reference,
                                                           bool with_bytes) {
  if (auto e = check_name(repo)) return *e;
  auto ref = api::parse_reference(reference, Code::manifest_unknown);
  if (!ref) return ref.error();
  RegistryError unknown(Code::manifest_unknown, "manifest " + reference + " unknown in " + repo);
  api::ManifestData out;
  fs::path file;
  {
    std::shared_lock m(meta_mu_);
    const Repo* r = find_repo(repo);
    if (r == nullptr) return unknown;
    if (const api::Tag* tag = std::get_if<api::Tag>(&*ref)) {
      auto t = r->tags.find(tag->name);
      if (t == r->tags.end()) return unknown;
      out.digest = t->second;
    } else {
      out.digest = std::get<Digest>(*ref);
    }
    auto it = r->manifests.find(out.digest);
    if (it == r->manifests.end()) return unknown;
    out.media_type = it->second.media_type;
    out.size_bytes = it->second.size_bytes;
    file = r->dir / kManifestsDir / out.digest.hex();
  }
  if (!with_bytes) return out;
  auto content = read_file(file);
  if (!content) {
    if (content.error().kind() == ErrorKind::not_found) return unknown;  // deleted meanwhile
    return io_error(Code::manifest_unknown, content.error());
  }
  auto split = split_manifest_file(std::move(content).value());
  if (!split) return io_error(Code::manifest_unknown, split.error());
  out.media_type = split->first;  // a re-push with another type may have raced this read
  out.bytes = std::move(split->second);
  out.size_bytes = out.bytes.size();
  return out;
}

RegistryResult<api::ManifestData> StoreImpl::get_manifest(const std::string& repo,
                                                          const std::string& reference) {
  return read_manifest(repo, reference, true);
}

RegistryResult<api::ManifestData> StoreImpl::stat_manifest(const std::string& repo,
                                                           const std::string& reference) {
  return read_manifest(repo, reference, false);
}

RegistryResult<api::Accepted> StoreImpl::delete_manifest(const std::string& repo,
                                                         const std::string& reference) {
  if (auto e = check_name(repo)) return *e;
  if (!options_.deletion) return RegistryError(Code::unsupported, "deletion is disabled");
  auto ref = api::parse_reference(reference, Code::manifest_unknown);
  if (!ref) return ref.error();
  RegistryError unknown(Code::manifest_unknown, "manifest " + reference + " unknown in " + repo);
  const api::Tag* tag = std::get_if<api::Tag>(&*ref);
  if (tag && !options_.tag_deletion)
    return RegistryError(Code::unsupported, "tag deletion is disabled; delete by digest");
  Repo* existing = existing_repo(repo);
  if (existing == nullptr) return unknown;
  Repo& r = *existing;
  std::lock_guard w(r.write_mu);
  std::vector<std::string> tags;  // the tag files to remove
  {
    std::shared_lock m(meta_mu_);
    if (tag) {
      if (!r.tags.contains(tag->name)) return unknown;
      tags.push_back(tag->name);
    } else {
      if (!r.manifests.contains(std::get<Digest>(*ref))) return unknown;
      for (const auto& [t, d] : r.tags)
        if (d == std::get<Digest>(*ref)) tags.push_back(t);
    }
  }
  // Tags first, then the manifest: a crash in between leaves an untagged manifest, never a
  // tag naming nothing.
  auto removed = [&]() -> Result<void> {
    for (const auto& t : tags) {
      fs::path p = r.dir / kTagsDir / t;
      if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return errno_error(errno, "unlink '" + p.string() + "'");
    }
    if (!tag) {
      fs::path p = r.dir / kManifestsDir / std::get<Digest>(*ref).hex();
      if (::unlink(p.c_str()) != 0 && errno != ENOENT)
        return errno_error(errno, "unlink '" + p.string() + "'");
    }
    if (options_.durable) {
      GANTRY_TRY(sys::fsync_dir(r.dir / kTagsDir));
      if (!tag) GANTRY_TRY(sys::fsync_dir(r.dir / kManifestsDir));
    }
    return ok();
  }();
  std::unique_lock m(meta_mu_);
  for (const auto& t : tags) r.tags.erase(t);
  if (!tag) r.manifests.erase(std::get<Digest>(*ref));
  if (!removed) return io_error(Code::manifest_unknown, removed.error());
  return api::Accepted{};
}

// --- listings ---

RegistryResult<api::Listing> StoreImpl::list_tags(const std::string& repo, const api::Page& page) {
  if (auto e = check_name(repo)) return *e;
  std::shared_lock m(meta_mu_);
  const Repo* r = find_repo(repo);
  if (r == nullptr) return RegistryError(Code::name_unknown, "repository " + repo + " unknown");
  return paginate(r->tags.begin(), r->tags.end(), page, [](const auto& t) { return t.first; });
}

RegistryResult<api::Listing> StoreImpl::catalog(const api::Page& page) {
  std::shared_lock m(meta_mu_);
  std::vector<std::string> names;
  for (const auto& [name, r] : repos_)
    if (r->exists) names.push_back(name);
  return paginate(names.begin(), names.end(), page, [](const std::string& n) { return n; });
}

RegistryResult<api::Referrers> StoreImpl::referrers(
    const std::string& repo, const std::string& digest,
    const std::optional<std::string>& artifact_type) {
  if (auto e = check_name(repo)) return *e;
  auto subject = api::parse_digest(digest);
  if (!subject) return subject.error();
  std::shared_lock m(meta_mu_);
  const Repo* r = find_repo(repo);
  if (r == nullptr) return RegistryError(Code::name_unknown, "repository " + repo + " unknown");
  api::Referrers out;
  out.filter_applied = artifact_type.has_value();
  for (const auto& [d, e] : r->manifests) {  // ordered by digest
    if (e.parsed.subject != *subject) continue;
    if (artifact_type && e.parsed.artifact_type != *artifact_type) continue;
    out.manifests.push_back(api::Descriptor{e.media_type, d, e.size_bytes, e.parsed.artifact_type,
                                            e.parsed.annotations});
  }
  return out;
}

}  // namespace detail

Result<std::unique_ptr<RegistryStore>> RegistryStore::open(const fs::path& root,
                                                           StoreOptions options) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return errno_error(ec.value(), "create store root '" + root.string() + "'");
  GANTRY_ASSIGN_OR_RETURN_CTX(content::ContentStore content, content::ContentStore::open(root),
                              "open registry store '" + root.string() + "'");
  auto store = std::make_unique<detail::StoreImpl>(root, options, std::move(content));
  GANTRY_TRY_CTX(store->recover(), "open registry store '" + root.string() + "'");
  return std::unique_ptr<RegistryStore>(std::move(store));
}

}  // namespace gantry::runtime::registry
