// Copying an image between two endpoints (skopeo copy): pull (docker:// -> oci:), push
// (oci: or docker-archive: -> docker://), registry to registry, and to or from docker-archives.
//
// Steps: read the top document; for an index, either copy every manifest it lists (then the
// index itself, byte for byte) or narrow to one platform; for each manifest, move its config
// and layers in parallel (up to `transfers` at once: HEAD first, a cross-repository mount when
// source and destination are on one registry, else a stream from source to destination, with
// no temp copy unless a layer changes form), then put the manifest; the top goes last
// (commit), so nothing is tagged before everything it names is there.
//
// Manifests are sent as read (digests unchanged) unless a layer must change form for the
// destination: uncompressed Docker layers (kDockerLayerTar, from a docker-archive) are
// gzipped for registries and OCI layouts; compressed layers are inflated for a docker-archive.
// Then the manifest is written anew (canonical JSON), with the same config.
#pragma once

#include <cstddef>
#include <optional>

#include "model/base/digest.h"
#include "model/base/result.h"
#include "runtime/image/manifest.h"
#include "runtime/registry/transfer/endpoint.h"
#include "runtime/registry/transfer/parallel.h"
#include "runtime/registry/transfer/progress.h"

namespace gantry::runtime::registry::transfer {

struct CopyOptions {
  // Narrow an index to this platform's manifest (the destination gets that manifest as top).
  std::optional<image::Platform> platform;
  // When no platform is given: copy every manifest of an index (true), or narrow to the
  // current platform (false). A docker-archive destination always narrows.
  bool all_platforms = true;
  size_t transfers = kDefaultTransfers;
  Progress* progress = nullptr;
};

struct CopyReport {
  Digest top_digest;  // of what the destination got as its top
  size_t blobs_sent = 0;
  size_t blobs_present = 0;  // HEAD said the destination had them
  size_t blobs_mounted = 0;
};

Result<CopyReport> copy_image(ImageSource& source, ImageDestination& destination,
                              const CopyOptions& options = {});

// The image manifest a source's top names for a platform (following an index), and its
// parsed form. What unpack and narrowing copies share.
struct ResolvedManifest {
  RawManifest raw;
  image::ImageManifest manifest;
};
Result<ResolvedManifest> resolve_manifest(ImageSource& source, const image::Platform& platform);

}  // namespace gantry::runtime::registry::transfer
