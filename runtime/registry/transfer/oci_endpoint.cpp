#include "runtime/registry/transfer/oci_endpoint.h"

#include <vector>

#include "runtime/image/media_types.h"
#include "runtime/registry/transfer/verify_source.h"

namespace gantry::runtime::registry::transfer {

namespace media_types = image::media_types;

std::string sniff_media_type(std::string_view bytes) {
  auto parsed = image::parse_manifest_or_index(bytes);
  if (!parsed) return std::string(media_types::kOciManifest);
  if (auto* m = std::get_if<image::ImageManifest>(&*parsed)) {
    return m->media_type.empty() ? std::string(media_types::kOciManifest) : m->media_type;
  }
  const auto& i = std::get<image::ImageIndex>(*parsed);
  return i.media_type.empty() ? std::string(media_types::kOciIndex) : i.media_type;
}

Result<std::unique_ptr<image::Source>> open_verified_blob(const content::ContentStore& store,
                                                          const image::Descriptor& blob) {
  GANTRY_ASSIGN_OR_RETURN(sys::UniqueFd fd, store.open_blob(blob.digest));
  return std::unique_ptr<image::Source>(std::make_unique<VerifyingSource>(
      std::make_unique<OwnedFdSource>(fd.release()), blob.digest, static_cast<uint64_t>(blob.size),
      "blob " + blob.digest.str()));
}

namespace {

class OciSource final : public ImageSource {
 public:
  OciSource(image::OciLayout layout, std::string tag)
      : layout_(std::move(layout)), tag_(std::move(tag)) {}

  std::string describe() const override { return "oci:" + layout_.dir().string() + ":" + tag_; }

  Result<RawManifest> top() override {
    GANTRY_ASSIGN_OR_RETURN(image::Descriptor d, layout_.resolve(tag_));
    return manifest(d);
  }

  Result<RawManifest> manifest(const image::Descriptor& d) override {
    GANTRY_ASSIGN_OR_RETURN_CTX(std::string bytes, layout_.read_blob(d, 4 << 20),
                                "manifest " + d.digest.str());
    std::string type = d.media_type.empty() ? sniff_media_type(bytes) : d.media_type;
    return RawManifest{d.digest, std::move(type), std::move(bytes)};
  }

  Result<std::unique_ptr<image::Source>> open_blob(const image::Descriptor& blob) override {
    return open_verified_blob(layout_.store(), blob);
  }

  Result<std::string> read_blob(const image::Descriptor& blob) override {
    return layout_.read_blob(blob);
  }

 private:
  image::OciLayout layout_;
  std::string tag_;
};

class OciDestination final : public ImageDestination {
 public:
  OciDestination(image::OciLayout layout, std::string tag)
      : layout_(std::move(layout)), tag_(std::move(tag)) {}

  std::string describe() const override { return "oci:" + layout_.dir().string() + ":" + tag_; }
  LayerForm layer_form() const override { return LayerForm::gzip; }
  // The store's ingest checks size and digest at commit and keeps nothing that fails.
  bool verifies_blobs() const override { return true; }

  Result<bool> has_blob(const image::Descriptor& blob) override {
    return layout_.store().contains(blob.digest);
  }

  Result<void> put_blob(const image::Descriptor& blob, const StreamOpener& open) override {
    if (layout_.store().contains(blob.digest)) return ok();
    GANTRY_ASSIGN_OR_RETURN(auto src, open(0));
    GANTRY_ASSIGN_OR_RETURN(content::Writer w, layout_.store().ingest(blob.digest, blob.size));
    std::vector<uint8_t> buf(1 << 20);
    for (;;) {
      GANTRY_ASSIGN_OR_RETURN(size_t n, src->read(buf));
      if (n == 0) break;
      GANTRY_TRY(w.write(std::span<const uint8_t>(buf.data(), n)));
    }
    GANTRY_TRY(w.commit());
    return ok();
  }

  Result<void> put_manifest(const RawManifest& m) override {
    GANTRY_TRY(layout_.store().write_blob(m.bytes, m.digest));
    return ok();
  }

  Result<void> commit(const RawManifest& top) override {
    GANTRY_TRY(put_manifest(top));
    image::Descriptor d;
    d.media_type = top.media_type;
    d.digest = top.digest;
    d.size = static_cast<int64_t>(top.bytes.size());
    return layout_.set_tag(tag_, d);
  }

 private:
  image::OciLayout layout_;
  std::string tag_;
};

}  // namespace

Result<std::unique_ptr<ImageSource>> open_oci_source(const std::string& dir,
                                                     const std::string& tag) {
  GANTRY_ASSIGN_OR_RETURN_CTX(image::OciLayout layout, image::OciLayout::open(dir),
                              "oci:" + dir + ":" + tag);
  return std::unique_ptr<ImageSource>(std::make_unique<OciSource>(std::move(layout), tag));
}

Result<std::unique_ptr<ImageDestination>> open_oci_destination(const std::string& dir,
                                                               const std::string& tag) {
  auto layout = image::OciLayout::open(dir);
  if (!layout && layout.error().kind() == ErrorKind::not_found) {
    layout = image::OciLayout::create(dir);
  }
  if (!layout) return std::move(layout).error().with_context("oci:" + dir + ":" + tag);
  return std::unique_ptr<ImageDestination>(
      std::make_unique<OciDestination>(std::move(*layout), tag));
}

}  // namespace gantry::runtime::registry::transfer
