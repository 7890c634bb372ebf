#include "runtime/registry/transfer/docker_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/sys/fs.h"

namespace gantry::runtime::registry::transfer {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveCloser>;

Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return Error(ErrorKind::invalid_argument, what + ": " + (msg ? msg : "unreadable archive"),
               archive_errno(a));
}

// "./a//b" -> "a/b"
std::string clean_name(std::string_view name) {
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash == name.npos ? name.npos : slash - start);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    if (slash == name.npos) break;
    start = slash + 1;
  }
  return out;
}

Result<ReadArchive> open_archive(const fs::path& path) {
  ReadArchive a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    int e = archive_errno(a.get());
    if (e == ENOENT) return errno_error(e, "docker-archive '" + path.string() + "'");
    return archive_error(a.get(), "docker-archive '" + path.string() + "'");
  }
  return a;
}

Result<std::vector<ArchiveImage>> parse_manifest_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Error(ErrorKind::invalid_argument, "manifest.json: not a JSON array");
  }
  std::vector<ArchiveImage> images;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    std::string where = "manifest.json[" + std::to_string(i) + "]";
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string()) {
      return Error(ErrorKind::invalid_argument, where + ": field 'Config' missing or not a string");
    }
    ArchiveImage img;
    img.config = clean_name(e["Config"].get<std::string>());
    if (e.contains("RepoTags") && !e["RepoTags"].is_null()) {
      if (!e["RepoTags"].is_array()) {
        return Error(ErrorKind::invalid_argument, where + ": field 'RepoTags' not an array");
      }
      for (const auto& t : e["RepoTags"]) {
        if (!t.is_string()) {
          return Error(ErrorKind::invalid_argument, where + ": 'RepoTags' entry not a string");
        }
        img.repo_tags.push_back(t.get<std::string>());
      }
    }
    if (!e.contains("Layers") || !e["Layers"].is_array()) {
      return Error(ErrorKind::invalid_argument, where + ": field 'Layers' missing or not an array");
    }
    for (const auto& l : e["Layers"]) {
      if (!l.is_string()) {
        return Error(ErrorKind::invalid_argument, where + ": 'Layers' entry not a string");
      }
      img.layers.push_back(clean_name(l.get<std::string>()));
    }
    images.push_back(std::move(img));
  }
  return images;
}

class MemberSource final : public image::Source {
 public:
  MemberSource(ReadArchive a, std::string name) : a_(std::move(a)), name_(std::move(name)) {}
  Result<size_t> read(std::span<uint8_t> buf) override {
    la_ssize_t n = archive_read_data(a_.get(), buf.data(), buf.size());
    if (n < 0) return archive_error(a_.get(), "read member '" + name_ + "'");
    return static_cast<size_t>(n);
  }

 private:
  ReadArchive a_;
  std::string name_;
};

}  // namespace

std::string normalize_repo_tag(std::string_view name) {
  std::string s(name);
  for (std::string_view prefix :
       {"docker.io/library/", "docker.io/", "index.docker.io/library/", "index.docker.io/"}) {
    if (s.starts_with(prefix)) {
      s = s.substr(prefix.size());
      break;
    }
  }
  if (s.starts_with("library/") && s.find('/', 8) == std::string::npos) s = s.substr(8);
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) s += ":latest";
  return s;
}

Result<DockerArchiveReader> DockerArchiveReader::open(const fs::path& path) {
  DockerArchiveReader r;
  r.path_ = path;
  GANTRY_ASSIGN_OR_RETURN(ReadArchive a, open_archive(path));
  std::string manifest_text;
  bool have_manifest = false;
  std::map<std::string, std::string> links;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return archive_error(a.get(), "docker-archive '" + path.string() + "'");
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) {
      return Error(ErrorKind::invalid_argument,
                   "docker-archive '" + path.string() + "': a member has no name");
    }
    std::string name = clean_name(raw_name);
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      std::string t = target ? target : "";
      // Relative to the member's directory ("../<id>/layer.tar").
      fs::path joined = (fs::path(name).parent_path() / t).lexically_normal();
      links[name] = clean_name(joined.string());
      continue;
    }
    if (type != AE_IFREG) continue;
    uint64_t size = static_cast<uint64_t>(archive_entry_size(entry));
    r.members_[name] = Member{size, ""};
    if (name == "manifest.json") {
      if (size > (16u << 20)) {
        return Error(ErrorKind::invalid_argument,
                     "docker-archive '" + path.string() + "': manifest.json larger than 16 MiB");
      }
      manifest_text.resize(size);
      la_ssize_t n = archive_read_data(a.get(), manifest_text.data(), size);
      if (n < 0 || static_cast<uint64_t>(n) != size) {
        return archive_error(a.get(), "docker-archive '" + path.string() + "': manifest.json");
      }
      have_manifest = true;
    }
  }
  for (auto& [name, target] : links) r.members_[name] = Member{0, target};
  if (!have_manifest) {
    return Error(ErrorKind::invalid_argument,
                 "docker-archive '" + path.string() + "': no manifest.json (not a docker save)");
  }
  auto images = parse_manifest_json(manifest_text);
  if (!images)
    return std::move(images).error().with_context("docker-archive '" + path.string() + "'");
  r.images_ = std::move(*images);
  for (const auto& img : r.images_) {
    GANTRY_TRY_CTX(r.resolve(img.config), "docker-archive '" + path.string() + "'");
    for (const auto& l : img.layers) {
      GANTRY_TRY_CTX(r.resolve(l), "docker-archive '" + path.string() + "'");
    }
  }
  return r;
}

Result<std::string> DockerArchiveReader::resolve(std::string_view name) const {
  std::string cur = clean_name(name);
  for (int hops = 0; hops < 8; ++hops) {
    auto it = members_.find(cur);
    if (it == members_.end()) {
      return Error(ErrorKind::not_found,
                   "member '" + std::string(name) + "' is not in the archive");
    }
    if (it->second.link.empty()) return cur;
    cur = it->second.link;
  }
  return Error(ErrorKind::invalid_argument, "member '" + std::string(name) + "': symlink loop");
}

Result<size_t> DockerArchiveReader::select(std::string_view ref) const {
  if (images_.empty()) {
    return Error(ErrorKind::not_found, "docker-archive '" + path_.string() + "' holds no image");
  }
  if (ref.empty()) {
    if (images_.size() > 1) {
      return Error(ErrorKind::invalid_argument, "docker-archive '" + path_.string() + "' holds " +
                                                    std::to_string(images_.size()) +
                                                    " images: name one (:name:tag or :@N)");
    }
    return size_t{0};
  }
  if (ref.starts_with('@')) {
    size_t n = std::strtoul(std::string(ref.substr(1)).c_str(), nullptr, 10);
    if (n >= images_.size()) {
      return Error(ErrorKind::not_found, "docker-archive '" + path_.string() + "': no image " +
                                             std::string(ref) + " (it holds " +
                                             std::to_string(images_.size()) + ")");
    }
    return n;
  }
  std::string want = normalize_repo_tag(ref);
  std::string have;
  for (size_t i = 0; i < images_.size(); ++i) {
    for (const auto& t : images_[i].repo_tags) {
      if (normalize_repo_tag(t) == want) return i;
      have += (have.empty() ? "" : ", ") + t;
    }
  }
  return Error(ErrorKind::not_found,
               "docker-archive '" + path_.string() + "': no image tagged '" + std::string(ref) +
                   "' (tags: " + (have.empty() ? std::string("none") : have) + ")");
}

Result<uint64_t> DockerArchiveReader::member_size(std::string_view name) const {
  GANTRY_ASSIGN_OR_RETURN(std::string real, resolve(name));
  return members_.find(real)->second.size;
}

Result<std::unique_ptr<image::Source>> DockerArchiveReader::open_member(
    std::string_view name) const {
  GANTRY_ASSIGN_OR_RETURN(std::string real, resolve(name));
  GANTRY_ASSIGN_OR_RETURN(ReadArchive a, open_archive(path_));
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return archive_error(a.get(), "docker-archive '" + path_.string() + "'");
    const char* raw_name = archive_entry_pathname(entry);
    if (archive_entry_filetype(entry) == AE_IFREG && raw_name != nullptr &&
        clean_name(raw_name) == real) {
      return std::unique_ptr<image::Source>(std::make_unique<MemberSource>(std::move(a), real));
    }
  }
  return Error(ErrorKind::not_found,
               "docker-archive '" + path_.string() + "': member '" + real + "' vanished");
}

Result<std::string> DockerArchiveReader::read_member(std::string_view name,
                                                     uint64_t max_size_bytes) const {
  GANTRY_ASSIGN_OR_RETURN(uint64_t size, member_size(name));
  if (size > max_size_bytes) {
    return Error(ErrorKind::invalid_argument,
                 "member '" + std::string(name) + "': " + std::to_string(size) +
                     " bytes, more than " + std::to_string(max_size_bytes));
  }
  GANTRY_ASSIGN_OR_RETURN(auto src, open_member(name));
  std::string out(size, '\0');
  size_t got = 0;
  while (got < size) {
    GANTRY_ASSIGN_OR_RETURN(
        size_t n, src->read(std::span(reinterpret_cast<uint8_t*>(out.data()) + got, size - got)));
    if (n == 0) break;
    got += n;
  }
  if (got != size) {
    return Error(ErrorKind::invalid_argument, "member '" + std::string(name) + "' is truncated");
  }
  return out;
}

// ---- writing ----

struct DockerArchiveWriter::Impl {
  fs::path path;
  fs::path temp;
  archive* a = nullptr;
  int fd = -1;  // libarchive does not close an fd it was given
  std::set<std::string> dirs;
  bool done = false;

  ~Impl() {
    if (a) archive_write_free(a);
    if (fd >= 0) ::close(fd);
    if (!done && !temp.empty()) ::unlink(temp.c_str());
  }
  Error error(const std::string& what) const {
    const char* msg = archive_error_string(a);
    return Error(ErrorKind::internal,
                 "write docker-archive '" + path.string() + "': " + what + ": " +
                     (msg ? msg : "libarchive error"),
                 archive_errno(a));
  }
  Result<void> header(const std::string& name, uint64_t size, bool dir) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e, 0, 0);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return error("header of '" + name + "'");
    return ok();
  }
  Result<void> parents(const std::string& name) {
    size_t slash = name.find('/');
    while (slash != std::string::npos) {
      std::string dir = name.substr(0, slash);
      if (dirs.insert(dir).second) GANTRY_TRY(header(dir + "/", 0, true));
      slash = name.find('/', slash + 1);
    }
    return ok();
  }
  Result<void> data(const std::string& name, const void* p, size_t n) {
    while (n > 0) {
      la_ssize_t w = archive_write_data(a, p, n);
      if (w <= 0) return error("data of '" + name + "'");
      p = static_cast<const char*>(p) + w;
      n -= static_cast<size_t>(w);
    }
    return ok();
  }
};

DockerArchiveWriter::DockerArchiveWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DockerArchiveWriter::DockerArchiveWriter(DockerArchiveWriter&&) noexcept = default;
DockerArchiveWriter::~DockerArchiveWriter() = default;

Result<DockerArchiveWriter> DockerArchiveWriter::create(const fs::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  fs::path abs = fs::absolute(path);
  std::string tmpl = abs.parent_path().string() + "/." + abs.filename().string() + ".tmp-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "create docker-archive '" + path.string() + "'");
  impl->temp = buf.data();
  impl->fd = fd;
  ::fchmod(fd, 0644);
  impl->a = archive_write_new();
  archive_write_set_format_pax_restricted(impl->a);
  archive_write_set_bytes_in_last_block(impl->a, 1);
  if (archive_write_open_fd(impl->a, fd) != ARCHIVE_OK) return impl->error("open");
  return DockerArchiveWriter(std::move(impl));
}

Result<void> DockerArchiveWriter::add_bytes(const std::string& name, std::string_view bytes) {
  GANTRY_TRY(impl_->parents(name));
  GANTRY_TRY(impl_->header(name, bytes.size(), false));
  return impl_->data(name, bytes.data(), bytes.size());
}

Result<void> DockerArchiveWriter::add_stream(const std::string& name, uint64_t size_bytes,
                                             image::Source& source) {
  GANTRY_TRY(impl_->parents(name));
  GANTRY_TRY(impl_->header(name, size_bytes, false));
  std::vector<uint8_t> buf(1 << 20);
  uint64_t left = size_bytes;
  while (left > 0) {
    size_t want = left < buf.size() ? static_cast<size_t>(left) : buf.size();
    GANTRY_ASSIGN_OR_RETURN_CTX(size_t n, source.read(std::span(buf.data(), want)),
                                "member '" + name + "'");
    if (n == 0) {
      return Error(ErrorKind::invalid_argument,
                   "member '" + name + "': stream ended " + std::to_string(left) + " bytes early");
    }
    GANTRY_TRY(impl_->data(name, buf.data(), n));
    left -= n;
  }
  uint8_t extra;
  GANTRY_ASSIGN_OR_RETURN_CTX(size_t n, source.read(std::span(&extra, 1)), "member '" + name + "'");
  if (n != 0) {
    return Error(ErrorKind::invalid_argument,
                 "member '" + name + "': more than the " + std::to_string(size_bytes) + " bytes");
  }
  return ok();
}

Result<void> DockerArchiveWriter::finish(const std::vector<ArchiveImage>& images) {
  json manifest = json::array();
  json repositories = json::object();
  for (const auto& img : images) {
    manifest.push_back(
        {{"Config", img.config}, {"RepoTags", img.repo_tags}, {"Layers", img.layers}});
    std::string id = img.config.substr(0, img.config.find('.'));
    if (id.starts_with("blobs/sha256/")) id = id.substr(13);
    for (const auto& t : img.repo_tags) {
      size_t colon = t.rfind(':');
      size_t slash = t.rfind('/');
      if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) continue;
      repositories[t.substr(0, colon)][t.substr(colon + 1)] = id;
    }
  }
  GANTRY_TRY(add_bytes("manifest.json", manifest.dump()));
  if (!repositories.empty()) GANTRY_TRY(add_bytes("repositories", repositories.dump()));
  if (archive_write_close(impl_->a) != ARCHIVE_OK) return impl_->error("close");
  archive_write_free(impl_->a);
  impl_->a = nullptr;
  if (::fsync(impl_->fd) != 0) {
    return errno_error(errno, "fsync '" + impl_->temp.string() + "'");
  }
  ::close(impl_->fd);
  impl_->fd = -1;
  if (::rename(impl_->temp.c_str(), impl_->path.c_str()) != 0) {
    return errno_error(errno,
                       "rename '" + impl_->temp.string() + "' to '" + impl_->path.string() + "'");
  }
  impl_->done = true;
  return ok();
}

}  // namespace gantry::runtime::registry::transfer
