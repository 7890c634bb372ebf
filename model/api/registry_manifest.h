// What the registry reads in a manifest it is given (OCI image-spec manifest.md and
// image-index.md, Docker image manifest v2 schema 2 and manifest list): enough to check the
// document and to know what it references. The bytes themselves are stored untouched.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/api/registry.h"

namespace gantry::api {

enum class ManifestKind { image, index };

struct ParsedManifest {
  ManifestKind kind = ManifestKind::image;
  std::vector<Digest> blobs;      // config, then layers (image)
  std::vector<Digest> manifests;  // children (index)
  std::optional<Digest> subject;
  // `artifactType`, else (image) the config's mediaType: what a referrers answer shows.
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
};

// The kind a manifest media type names; nullopt for a type the registry does not accept.
std::optional<ManifestKind> manifest_kind_of(std::string_view media_type);

// MANIFEST_INVALID, naming the field, when: the media type is not one of the four; the body is
// not a JSON object; schemaVersion is not 2; the body's mediaType differs from `media_type`
// (or is missing for a Docker type, where schema 2 requires it); the document has both
// manifest fields (config, layers) and index fields (manifests) (CVE-2021-41190); a required
// field is missing; a descriptor lacks a mediaType, a sha256 digest or a size; an annotation
// is not a string.
api::RegistryResult<ParsedManifest> parse_manifest(std::string_view media_type,
                                                   std::string_view bytes);

}  // namespace gantry::api
