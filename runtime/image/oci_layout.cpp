#include "runtime/image/oci_layout.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <variant>

#include "runtime/image/media_types.h"
#include "runtime/sys/fd.h"
#include "runtime/sys/fs.h"

namespace gantry::runtime::image {

namespace fs = std::filesystem;
using sys::UniqueFd;

namespace {

constexpr std::string_view kLayoutFile = "oci-layout";
constexpr std::string_view kIndexFile = "index.json";
constexpr std::string_view kLayoutVersion = "1.0.0";
constexpr int64_t kMaxIndexBytes = 16 * 1024 * 1024;
constexpr int64_t kMaxManifestBytes = 4 * 1024 * 1024;  // as the distribution spec's limit
constexpr int kMaxIndexNesting = 4;

Result<std::string> read_file(const fs::path& path, int64_t max_size_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(errno, "open '" + path.string() + "'");
  auto bytes = sys::read_all(fd.get(), max_size_bytes);
  if (!bytes) return std::move(bytes).error().with_context("read '" + path.string() + "'");
  return bytes;
}

std::string layout_name(const fs::path& dir) {
  return "OCI layout '" + dir.string() + "'";
}

Result<void> check_layout_file(const fs::path& dir) {
  auto text = read_file(dir / kLayoutFile, 64 * 1024);
  if (!text) {
    if (text.error().kind() == ErrorKind::not_found) {
      return Error(ErrorKind::not_found, "'" + dir.string() + "' is not an OCI layout: no " +
                                             std::string(kLayoutFile) + " file");
    }
    return std::move(text).error().with_context(layout_name(dir));
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(ErrorKind::invalid_argument,
                 layout_name(dir) + ": oci-layout is not a JSON object");
  }
  auto it = j.find("imageLayoutVersion");
  if (it == j.end() || !it->is_string()) {
    return Error(ErrorKind::invalid_argument,
                 layout_name(dir) +
                     ": oci-layout: field 'imageLayoutVersion': missing or not a "
                     "string");
  }
  if (it->get<std::string>() != kLayoutVersion) {
    return Error(ErrorKind::invalid_argument,
                 layout_name(dir) + ": oci-layout: imageLayoutVersion '" + it->get<std::string>() +
                     "' is not " + std::string(kLayoutVersion));
  }
  return ok();
}

std::string ref_name(const Descriptor& d) {
  auto it = d.annotations.find(std::string(kRefNameAnnotation));
  return it == d.annotations.end() ? std::string() : it->second;
}

// Holds an flock on the layout directory while index.json is read, changed and replaced.
class DirLock {
 public:
  static Result<DirLock> take(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return errno_error(errno, "lock '" + dir.string() + "'");
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return errno_error(errno, "lock '" + dir.string() + "'");
    }
    return DirLock(std::move(fd));
  }

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it unlocks
};

bool platform_matches(const Platform& have, const Platform& want) {
  if (have.os != want.os || have.architecture != want.architecture) return false;
  return have.variant.empty() || want.variant.empty() || have.variant == want.variant;
}

Result<Descriptor> choose_platform(const ImageIndex& index, const Descriptor& from,
                                   const Platform& want) {
  const Descriptor* unplatformed = nullptr;
  int unplatformed_count = 0;
  std::string available;
  for (const auto& d : index.manifests) {
    if (!d.platform) {
      unplatformed = &d;
      ++unplatformed_count;
      continue;
    }
    if (platform_matches(*d.platform, want)) return d;
    available += (available.empty() ? "" : ", ") + to_string(*d.platform);
  }
  // An index of one manifest that names no platform: that manifest is the image.
  if (unplatformed_count == 1 && index.manifests.size() == 1) return *unplatformed;
  return Error(
      ErrorKind::not_found,
      "index " + from.digest.str() + " has no manifest for " + to_string(want) +
          (available.empty() ? " (it names no platforms)" : " (it has " + available + ")"));
}

}  // namespace

Result<OciLayout> OciLayout::create(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return errno_error(ec.value(), "create OCI layout: mkdir '" + dir.string() + "'");
  for (std::string_view name : {kLayoutFile, kIndexFile}) {
    if (fs::exists(dir / name, ec)) {
      return Error(ErrorKind::already_exists,
                   "create " + layout_name(dir) + ": it already has " + std::string(name));
    }
  }
  GANTRY_ASSIGN_OR_RETURN(auto store,
                          content::ContentStore::open(dir, {.ingest_dir = dir / ".ingest"}));
  OciLayout layout(dir, std::move(store));
  ImageIndex empty;
  empty.media_type = media_types::kOciIndex;
  GANTRY_TRY_CTX(layout.write_index_json(empty), "create " + layout_name(dir));
  GANTRY_TRY_CTX(
      sys::write_file_atomic(dir, kLayoutFile,
                             R"({"imageLayoutVersion":")" + std::string(kLayoutVersion) + R"("})"),
      "create " + layout_name(dir));
  return layout;
}

Result<OciLayout> OciLayout::open(const fs::path& dir) {
  GANTRY_TRY(check_layout_file(dir));
  if (!fs::exists(dir / kIndexFile)) {
    return Error(ErrorKind::not_found, layout_name(dir) + ": no index.json");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(auto store,
                              content::ContentStore::open(dir, {.ingest_dir = dir / ".ingest"}),
                              layout_name(dir));
  OciLayout layout(dir, std::move(store));
  GANTRY_TRY(layout.index());
  return layout;
}

Result<ImageIndex> OciLayout::index() const {
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, read_file(dir_ / kIndexFile, kMaxIndexBytes),
                              layout_name(dir_));
  GANTRY_ASSIGN_OR_RETURN_CTX(ImageIndex index, parse_index(text),
                              layout_name(dir_) + ": index.json");
  return index;
}

Result<void> OciLayout::write_index_json(const ImageIndex& index) {
  return sys::write_file_atomic(dir_, kIndexFile, to_json(index));
}

Result<std::vector<std::string>> OciLayout::tags() const {
  GANTRY_ASSIGN_OR_RETURN(ImageIndex index, this->index());
  std::vector<std::string> out;
  for (const auto& d : index.manifests) {
    std::string name = ref_name(d);
    if (!name.empty()) out.push_back(std::move(name));
  }
  return out;
}

Result<Descriptor> OciLayout::resolve(std::string_view tag) const {
  GANTRY_ASSIGN_OR_RETURN(ImageIndex index, this->index());
  std::string known;
  for (const auto& d : index.manifests) {
    std::string name = ref_name(d);
    if (name == tag && !name.empty()) return d;
    if (!name.empty()) known += (known.empty() ? "" : ", ") + name;
  }
  return Error(ErrorKind::not_found,
               layout_name(dir_) + ": tag '" + std::string(tag) + "' not found " +
                   (known.empty() ? "(it has no tags)" : "(tags: " + known + ")"));
}

Result<void> OciLayout::set_tag(std::string_view tag, const Descriptor& descriptor) {
  if (tag.empty()) {
    return Error(ErrorKind::invalid_argument, layout_name(dir_) + ": set_tag: empty tag");
  }
  GANTRY_ASSIGN_OR_RETURN(DirLock lock, DirLock::take(dir_));
  GANTRY_ASSIGN_OR_RETURN(ImageIndex index, this->index());
  Descriptor entry = descriptor;
  entry.annotations[std::string(kRefNameAnnotation)] = std::string(tag);
  std::vector<Descriptor> kept;
  bool placed = false;
  for (auto& d : index.manifests) {
    if (ref_name(d) != tag) {
      kept.push_back(std::move(d));
    } else if (!placed) {
      kept.push_back(entry);  // keeps the tag's place in the list
      placed = true;
    }
  }
  if (!placed) kept.push_back(std::move(entry));
  index.manifests = std::move(kept);
  GANTRY_TRY_CTX(write_index_json(index),
                 layout_name(dir_) + ": set tag '" + std::string(tag) + "'");
  return ok();
}

Result<void> OciLayout::remove_tag(std::string_view tag) {
  GANTRY_ASSIGN_OR_RETURN(DirLock lock, DirLock::take(dir_));
  GANTRY_ASSIGN_OR_RETURN(ImageIndex index, this->index());
  auto before = index.manifests.size();
  std::erase_if(index.manifests, [&](const Descriptor& d) { return ref_name(d) == tag; });
  if (index.manifests.size() == before) {
    return Error(ErrorKind::not_found,
                 layout_name(dir_) + ": remove tag '" + std::string(tag) + "': no such tag");
  }
  GANTRY_TRY_CTX(write_index_json(index),
                 layout_name(dir_) + ": remove tag '" + std::string(tag) + "'");
  return ok();
}

Result<std::string> OciLayout::read_blob(const Descriptor& d, int64_t max_size_bytes) const {
  std::string what = layout_name(dir_) + ": blob " + d.digest.str();
  if (d.size > max_size_bytes) {
    return Error(ErrorKind::invalid_argument, what + ": " + std::to_string(d.size) +
                                                  " bytes, more than the limit of " +
                                                  std::to_string(max_size_bytes));
  }
  auto info = store_.stat(d.digest);
  if (!info) return std::move(info).error().with_context(layout_name(dir_));
  if (info->size_bytes != d.size) {
    return Error(ErrorKind::internal, what + " is corrupt: the descriptor says " +
                                          std::to_string(d.size) + " bytes, the blob has " +
                                          std::to_string(info->size_bytes));
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(std::string bytes, store_.read_blob(d.digest, max_size_bytes),
                              layout_name(dir_));
  if (static_cast<int64_t>(bytes.size()) != d.size) {
    return Error(ErrorKind::internal, what + " changed size while read");
  }
  return bytes;
}

Result<ImageManifest> OciLayout::read_manifest(const Descriptor& d) const {
  GANTRY_ASSIGN_OR_RETURN(std::string text, read_blob(d, kMaxManifestBytes));
  GANTRY_ASSIGN_OR_RETURN_CTX(ImageManifest m, parse_manifest(text),
                              layout_name(dir_) + ": " + d.digest.str());
  return m;
}

Result<ImageIndex> OciLayout::read_index(const Descriptor& d) const {
  GANTRY_ASSIGN_OR_RETURN(std::string text, read_blob(d, kMaxManifestBytes));
  GANTRY_ASSIGN_OR_RETURN_CTX(ImageIndex i, parse_index(text),
                              layout_name(dir_) + ": " + d.digest.str());
  return i;
}

Result<ImageConfig> OciLayout::read_config(const Descriptor& d) const {
  GANTRY_ASSIGN_OR_RETURN(std::string text, read_blob(d, kMaxManifestBytes));
  GANTRY_ASSIGN_OR_RETURN_CTX(ImageConfig c, parse_config(text),
                              layout_name(dir_) + ": " + d.digest.str());
  return c;
}

Result<Descriptor> OciLayout::write_blob(std::string_view bytes, std::string_view media_type) {
  GANTRY_ASSIGN_OR_RETURN_CTX(Digest digest, store_.write_blob(bytes), layout_name(dir_));
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest;
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

Result<Descriptor> OciLayout::write_manifest(const ImageManifest& m) {
  return write_blob(to_json(m), m.media_type.empty() ? media_types::kOciManifest : m.media_type);
}

Result<Descriptor> OciLayout::write_index(const ImageIndex& i) {
  return write_blob(to_json(i), i.media_type.empty() ? media_types::kOciIndex : i.media_type);
}

Result<Descriptor> OciLayout::write_config(const ImageConfig& c) {
  return write_blob(to_json(c), media_types::kOciConfig);
}

Result<LoadedImage> OciLayout::load_image(std::string_view tag, const Platform& platform) const {
  std::string what = layout_name(dir_) + ": load '" + std::string(tag) + "'";
  GANTRY_ASSIGN_OR_RETURN(Descriptor d, resolve(tag));
  for (int depth = 0; depth <= kMaxIndexNesting; ++depth) {
    GANTRY_ASSIGN_OR_RETURN_CTX(std::string text, read_blob(d, kMaxManifestBytes), what);
    GANTRY_ASSIGN_OR_RETURN_CTX(auto doc, parse_manifest_or_index(text),
                                what + ": " + d.digest.str());
    bool doc_is_index = std::holds_alternative<ImageIndex>(doc);
    if ((doc_is_index && media_types::is_manifest(d.media_type)) ||
        (!doc_is_index && media_types::is_index(d.media_type))) {
      return Error(ErrorKind::invalid_argument,
                   what + ": " + d.digest.str() + ": the descriptor says " + d.media_type +
                       " but the document is " + (doc_is_index ? "an index" : "a manifest"));
    }
    if (doc_is_index) {
      GANTRY_ASSIGN_OR_RETURN_CTX(d, choose_platform(std::get<ImageIndex>(doc), d, platform), what);
      continue;
    }
    LoadedImage image{d, std::get<ImageManifest>(std::move(doc)), {}};
    const Descriptor& config = image.manifest.config;
    if (!media_types::is_config(config.media_type)) {
      return Error(ErrorKind::failed_precondition,
                   what + ": " + d.digest.str() + " is not a container image (config media type '" +
                       config.media_type + "')");
    }
    GANTRY_ASSIGN_OR_RETURN_CTX(image.config, read_config(config), what);
    return image;
  }
  return Error(ErrorKind::invalid_argument,
               what + ": indexes nested deeper than " + std::to_string(kMaxIndexNesting));
}

}  // namespace gantry::runtime::image
