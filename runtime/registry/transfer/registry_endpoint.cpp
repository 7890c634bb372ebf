#include "runtime/registry/transfer/registry_endpoint.h"

#include "runtime/registry/client/reference.h"
#include "runtime/registry/transfer/verify_source.h"

namespace gantry::runtime::registry::transfer {

namespace {

class RegistrySource final : public ImageSource {
 public:
  RegistrySource(Reference ref, std::shared_ptr<RegistryClient> client)
      : ref_(std::move(ref)), client_(std::move(client)) {}

  std::string describe() const override { return "docker://" + to_string(ref_); }

  Result<RawManifest> top() override {
    GANTRY_ASSIGN_OR_RETURN_CTX(
        Manifest m, client_->get_manifest(ref_.repository, ref_.manifest_reference()), describe());
    return RawManifest{m.digest, std::move(m.media_type), std::move(m.bytes)};
  }

  Result<RawManifest> manifest(const image::Descriptor& d) override {
    GANTRY_ASSIGN_OR_RETURN_CTX(Manifest m, client_->get_manifest(ref_.repository, d.digest.str()),
                                describe() + ": manifest " + d.digest.str());
    return RawManifest{m.digest, std::move(m.media_type), std::move(m.bytes)};
  }

  Result<std::unique_ptr<image::Source>> open_blob(const image::Descriptor& blob) override {
    auto src = client_->open_blob(ref_.repository, blob.digest, static_cast<uint64_t>(blob.size));
    if (!src)
      return std::move(src).error().with_context(describe() + ": blob " + blob.digest.str());
    return std::move(*src);
  }

  Result<std::unique_ptr<image::Source>> open_blob_unhashed(
      const image::Descriptor& blob) override {
    auto src =
        client_->open_blob_unhashed(ref_.repository, blob.digest, static_cast<uint64_t>(blob.size));
    if (!src)
      return std::move(src).error().with_context(describe() + ": blob " + blob.digest.str());
    return std::move(*src);
  }

  // Through the verified stream (bounded by the descriptor's size), like every other blob.
  Result<std::string> read_blob(const image::Descriptor& blob) override {
    if (blob.size < 0 || blob.size > (64 << 20)) {
      return Error(ErrorKind::invalid_argument, describe() + ": blob " + blob.digest.str() +
                                                    " too large to read whole (" +
                                                    std::to_string(blob.size) + " bytes)");
    }
    GANTRY_ASSIGN_OR_RETURN(auto src, open_blob(blob));
    std::string out(static_cast<size_t>(blob.size), '\0');
    size_t got = 0;
    for (;;) {
      uint8_t extra[1];
      std::span<uint8_t> buf =
          got < out.size()
              ? std::span(reinterpret_cast<uint8_t*>(out.data()) + got, out.size() - got)
              : std::span<uint8_t>(extra, 1);
      auto n = src->read(buf);
      if (!n) return std::move(n).error().with_context(describe() + ": blob " + blob.digest.str());
      if (*n == 0) break;
      if (got >= out.size()) {
        return Error(ErrorKind::invalid_argument,
                     describe() + ": blob " + blob.digest.str() + " longer than its descriptor");
      }
      got += *n;
    }
    if (got != out.size()) {
      return Error(ErrorKind::invalid_argument,
                   describe() + ": blob " + blob.digest.str() + " shorter than its descriptor");
    }
    return out;
  }

  std::optional<Location> location() const override {
    return Location{ref_.registry, ref_.repository};
  }

 private:
  Reference ref_;
  std::shared_ptr<RegistryClient> client_;
};

class RegistryDestination final : public ImageDestination {
 public:
  RegistryDestination(Reference ref, std::shared_ptr<RegistryClient> client)
      : ref_(std::move(ref)), client_(std::move(client)) {}

  std::string describe() const override { return "docker://" + to_string(ref_); }
  LayerForm layer_form() const override { return LayerForm::gzip; }

  Result<bool> has_blob(const image::Descriptor& blob) override {
    GANTRY_ASSIGN_OR_RETURN_CTX(auto size, client_->stat_blob(ref_.repository, blob.digest),
                                describe() + ": blob " + blob.digest.str());
    return size.has_value();
  }

  Result<bool> mount_blob(const image::Descriptor& blob, const Location& from) override {
    if (from.registry != ref_.registry || from.repository == ref_.repository) return false;
    auto mounted = client_->mount_blob(ref_.repository, blob.digest, from.repository);
    if (!mounted) {
      return std::move(mounted).error().with_context(describe() + ": mount " + blob.digest.str() +
                                                     " from " + from.repository);
    }
    return *mounted;
  }

  Result<void> put_blob(const image::Descriptor& blob, const StreamOpener& open) override {
    // has_blob asked just before: no second HEAD.
    auto r = client_->upload_blob(ref_.repository, blob.digest, static_cast<uint64_t>(blob.size),
                                  [&open](uint64_t offset) { return open(offset); });
    if (!r) return std::move(r).error().with_context(describe() + ": blob " + blob.digest.str());
    return ok();
  }

  Result<void> put_manifest(const RawManifest& m) override {
    auto r = client_->put_manifest(ref_.repository, m.digest.str(), m.media_type, m.bytes);
    if (!r) return std::move(r).error().with_context(describe() + ": manifest " + m.digest.str());
    return ok();
  }

  Result<void> commit(const RawManifest& top) override {
    std::string where = ref_.tag ? *ref_.tag : top.digest.str();
    if (ref_.digest && *ref_.digest != top.digest) {
      return Error(ErrorKind::invalid_argument, describe() + ": the image's digest is " +
                                                    top.digest.str() + ", not the one named");
    }
    auto r = client_->put_manifest(ref_.repository, where, top.media_type, top.bytes);
    if (!r) return std::move(r).error().with_context(describe() + ": manifest " + top.digest.str());
    return ok();
  }

 private:
  Reference ref_;
  std::shared_ptr<RegistryClient> client_;
};

Result<std::pair<Reference, std::shared_ptr<RegistryClient>>> connect(
    const std::string& reference, const ClientOptions& options) {
  GANTRY_ASSIGN_OR_RETURN_CTX(Reference ref, parse_reference(reference), "docker://" + reference);
  GANTRY_ASSIGN_OR_RETURN_CTX(auto client, client_for(ref, options), "docker://" + reference);
  return std::make_pair(std::move(ref), std::move(client));
}

}  // namespace

Result<std::unique_ptr<ImageSource>> open_registry_source(const std::string& reference,
                                                          const ClientOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(auto c, connect(reference, options));
  return std::unique_ptr<ImageSource>(
      std::make_unique<RegistrySource>(std::move(c.first), std::move(c.second)));
}

Result<std::unique_ptr<ImageDestination>> open_registry_destination(const std::string& reference,
                                                                    const ClientOptions& options) {
  GANTRY_ASSIGN_OR_RETURN(auto c, connect(reference, options));
  if (!c.first.tag && !c.first.digest) c.first.tag = "latest";
  return std::unique_ptr<ImageDestination>(
      std::make_unique<RegistryDestination>(std::move(c.first), std::move(c.second)));
}

}  // namespace gantry::runtime::registry::transfer
