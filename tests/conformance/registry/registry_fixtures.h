// Documents and pushes that registry tests share: image manifests, indexes and referrers built
// from blob contents, and helpers that push them through any api::Registry.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/api/registry.h"

namespace gantry::testing::registry {

inline constexpr std::string_view kConfigType = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kLayerType = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kDockerConfigType =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerType =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

// "sha256:<hex>" of the bytes.
std::string digest_of(std::string_view bytes);

struct ImageSpec {
  std::string media_type = std::string(api::kOciManifestType);
  bool write_media_type = true;  // false leaves the body's mediaType out
  std::string config = "{}";     // bytes of the config blob
  std::string config_media_type = std::string(kConfigType);
  std::vector<std::string> layers;  // bytes of each layer blob
  std::string layer_media_type = std::string(kLayerType);
  std::optional<std::string> artifact_type;
  std::optional<std::string> subject;  // a manifest's bytes; the descriptor names it
  std::string subject_media_type = std::string(api::kOciManifestType);
  std::map<std::string, std::string> annotations;
};

// The manifest's JSON (compact, keys in a fixed order).
std::string image_manifest(const ImageSpec& spec);

struct IndexChild {
  std::string media_type;
  std::string bytes;  // the child manifest's bytes
};
// An OCI index (or Docker manifest list, by media type) over the children.
std::string index_manifest(const std::vector<IndexChild>& children,
                           std::string_view media_type = api::kOciIndexType,
                           const std::optional<std::string>& artifact_type = std::nullopt);

// Pushes the config and the layers (monolithically) then the manifest under `reference`;
// returns the manifest's digest, or the first error.
api::RegistryResult<api::ManifestCreated> push_image(api::Registry& r, const std::string& repo,
                                                     const ImageSpec& spec,
                                                     const std::string& reference);

// `n` deterministic bytes from a seed.
std::string blob_bytes(int seed, size_t n);

}  // namespace gantry::testing::registry
