#include "runtime/registry/transfer/archive_endpoint.h"

#include <map>
#include <mutex>
#include <set>

#include "runtime/image/media_types.h"
#include "runtime/registry/transfer/docker_archive.h"
#include "runtime/registry/transfer/verify_source.h"

namespace gantry::runtime::registry::transfer {

namespace media_types = image::media_types;

namespace {

std::string describe_ref(const std::string& path, const std::string& ref) {
  return "docker-archive:" + path + (ref.empty() ? "" : ":" + ref);
}

class ArchiveSource final : public ImageSource {
 public:
  static Result<std::unique_ptr<ImageSource>> open(const std::string& path,
                                                   const std::string& ref) {
    auto src = std::unique_ptr<ArchiveSource>(new ArchiveSource(path, ref));
    GANTRY_TRY_CTX(src->load(), describe_ref(path, ref));
    return std::unique_ptr<ImageSource>(std::move(src));
  }

  std::string describe() const override { return describe_ref(path_, ref_); }
  Result<RawManifest> top() override { return manifest_; }
  Result<RawManifest> manifest(const image::Descriptor& d) override {
    return Error(ErrorKind::not_found, describe() + ": no manifest " + d.digest.str());
  }

  Result<std::unique_ptr<image::Source>> open_blob(const image::Descriptor& blob) override {
    auto it = members_.find(blob.digest);
    if (it == members_.end()) {
      return Error(ErrorKind::not_found, describe() + ": no blob " + blob.digest.str());
    }
    if (blob.digest == config_digest_) {
      return std::unique_ptr<image::Source>(std::make_unique<image::BytesSource>(config_));
    }
    GANTRY_ASSIGN_OR_RETURN_CTX(auto member, reader_->open_member(it->second), describe());
    return std::unique_ptr<image::Source>(std::make_unique<VerifyingSource>(
        std::move(member), blob.digest, static_cast<uint64_t>(blob.size),
        describe() + ": layer '" + it->second + "' (" + blob.digest.str() + ")"));
  }

  Result<std::string> read_blob(const image::Descriptor& blob) override {
    if (blob.digest == config_digest_) return config_;
    return Error(ErrorKind::invalid_argument,
                 describe() + ": blob " + blob.digest.str() + " is a layer, not read whole");
  }

 private:
  ArchiveSource(std::string path, std::string ref) : path_(std::move(path)), ref_(std::move(ref)) {}

  Result<void> load() {
    GANTRY_ASSIGN_OR_RETURN(DockerArchiveReader reader, DockerArchiveReader::open(path_));
    reader_ = std::make_unique<DockerArchiveReader>(std::move(reader));
    GANTRY_ASSIGN_OR_RETURN(size_t which, reader_->select(ref_));
    const ArchiveImage& img = reader_->images()[which];
    GANTRY_ASSIGN_OR_RETURN_CTX(config_, reader_->read_member(img.config),
                                "config '" + img.config + "'");
    GANTRY_ASSIGN_OR_RETURN_CTX(image::ImageConfig config, image::parse_config(config_),
                                "config '" + img.config + "'");
    if (config.rootfs.diff_ids.size() != img.layers.size()) {
      return Error(ErrorKind::invalid_argument,
                   "manifest.json lists " + std::to_string(img.layers.size()) +
                       " layers but the config has " +
                       std::to_string(config.rootfs.diff_ids.size()) + " diff_ids");
    }
    config_digest_ = Digest::of(config_);
    image::ImageManifest m;
    m.media_type = std::string(media_types::kDockerManifest);
    m.config.media_type = std::string(media_types::kDockerConfig);
    m.config.digest = config_digest_;
    m.config.size = static_cast<int64_t>(config_.size());
    members_[config_digest_] = img.config;
    for (size_t i = 0; i < img.layers.size(); ++i) {
      GANTRY_ASSIGN_OR_RETURN(uint64_t size, reader_->member_size(img.layers[i]));
      image::Descriptor d;
      d.media_type = std::string(kDockerLayerTar);
      d.digest = config.rootfs.diff_ids[i];
      d.size = static_cast<int64_t>(size);
      members_[d.digest] = img.layers[i];
      m.layers.push_back(std::move(d));
    }
    std::string bytes = image::to_json(m);
    manifest_ = RawManifest{Digest::of(bytes), m.media_type, std::move(bytes)};
    return ok();
  }

  std::string path_;
  std::string ref_;
  std::unique_ptr<DockerArchiveReader> reader_;
  std::string config_;
  Digest config_digest_;
  std::map<Digest, std::string> members_;
  RawManifest manifest_;
};

class ArchiveDestination final : public ImageDestination {
 public:
  ArchiveDestination(std::string path, std::string ref, DockerArchiveWriter writer)
      : path_(std::move(path)), ref_(std::move(ref)), writer_(std::move(writer)) {}

  std::string describe() const override { return describe_ref(path_, ref_); }
  LayerForm layer_form() const override { return LayerForm::uncompressed; }
  bool accepts_index() const override { return false; }
  Result<bool> has_blob(const image::Descriptor& blob) override {
    std::lock_guard lock(mu_);
    return written_.count(blob.digest) > 0;
  }

  Result<void> put_blob(const image::Descriptor& blob, const StreamOpener& open) override {
    std::lock_guard lock(mu_);
    if (written_.count(blob.digest)) return ok();
    GANTRY_ASSIGN_OR_RETURN(auto src, open(0));
    std::string name = media_types::is_config(blob.media_type) ? blob.digest.hex() + ".json"
                                                               : blob.digest.hex() + "/layer.tar";
    GANTRY_TRY_CTX(writer_.add_stream(name, static_cast<uint64_t>(blob.size), *src), describe());
    written_.insert(blob.digest);
    return ok();
  }

  Result<void> put_manifest(const RawManifest&) override { return ok(); }

  Result<void> commit(const RawManifest& top) override {
    GANTRY_ASSIGN_OR_RETURN_CTX(image::ImageManifest m, image::parse_manifest(top.bytes),
                                describe());
    ArchiveImage img;
    img.config = m.config.digest.hex() + ".json";
    for (const auto& l : m.layers) img.layers.push_back(l.digest.hex() + "/layer.tar");
    if (!ref_.empty() && !ref_.starts_with('@')) img.repo_tags.push_back(ref_);
    std::lock_guard lock(mu_);
    return writer_.finish({img});
  }

 private:
  std::string path_;
  std::string ref_;
  std::mutex mu_;
  DockerArchiveWriter writer_;
  std::set<Digest> written_;
};

}  // namespace

Result<std::unique_ptr<ImageSource>> open_archive_source(const std::string& path,
                                                         const std::string& ref) {
  return ArchiveSource::open(path, ref);
}

Result<std::unique_ptr<ImageDestination>> open_archive_destination(const std::string& path,
                                                                   const std::string& ref) {
  if (ref.starts_with('@')) {
    return Error(ErrorKind::invalid_argument,
                 describe_ref(path, ref) + ": an index (@N) names an image to read, not to write");
  }
  GANTRY_ASSIGN_OR_RETURN_CTX(DockerArchiveWriter w, DockerArchiveWriter::create(path),
                              describe_ref(path, ref));
  return std::unique_ptr<ImageDestination>(
      std::make_unique<ArchiveDestination>(path, ref, std::move(w)));
}

}  // namespace gantry::runtime::registry::transfer
