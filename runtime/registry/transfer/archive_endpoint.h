// A docker-archive (docker-archive:<path>[:<name:tag>|:@N]) as the source or destination of
// a transfer.
//
// As a source it presents the image as a Docker schema 2 manifest made here (canonical JSON):
// the config member's bytes as the config (so the image id is unchanged), and each layer tar
// as an uncompressed layer, media type kDockerLayerTar, digest = its sha256 (= its diff_id).
// Such layers are compressed with gzip on the way to a registry or an OCI layout (as skopeo
// does), which gives the pushed manifest gzip layers.
//
// As a destination it holds one image (an index is narrowed to one platform by the copy), its
// layers uncompressed: "<diff_id hex>/layer.tar", the config as "<config hex>.json", RepoTags
// from the reference when one is given. The file appears at commit (temp + rename).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "runtime/registry/transfer/endpoint.h"

namespace gantry::runtime::registry::transfer {

// The (non-standard, skopeo's) media type of an uncompressed Docker layer.
inline constexpr std::string_view kDockerLayerTar = "application/vnd.docker.image.rootfs.diff.tar";

Result<std::unique_ptr<ImageSource>> open_archive_source(const std::string& path,
                                                         const std::string& ref);
Result<std::unique_ptr<ImageDestination>> open_archive_destination(const std::string& path,
                                                                   const std::string& ref);

}  // namespace gantry::runtime::registry::transfer
