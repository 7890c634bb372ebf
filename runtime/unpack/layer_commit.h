// Repacking: the changes between two trees become a new layer blob in a content store, and a
// new image (the base's layers plus the new one) in an OCI layout.
//
// The layer is the canonical changeset of docs/layers.md, so its diff_id is the one the model
// predicts; it streams from the differ through the compressor into the store, hashed on the way
// (no temporary tar, no second pass).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "model/base/env.h"
#include "model/base/result.h"
#include "runtime/content/content_store.h"
#include "runtime/image/compression.h"
#include "runtime/image/oci_layout.h"
#include "runtime/snapshot/snapshotter.h"

namespace gantry::runtime::unpack {

struct NewLayer {
  image::Descriptor descriptor;  // of the compressed blob, with its layer media type
  Digest diff_id;
  int64_t entry_count = 0;
};

// D(lower, upper) of two plain directories (lower "" = the empty tree).
Result<NewLayer> commit_directory_diff(content::ContentStore& store,
                                       const std::filesystem::path& lower,
                                       const std::filesystem::path& upper,
                                       image::Compression compression);

// The changes made in an active snapshot (overlay-format backends diff the upper directory over
// the lowers; the copy backend diffs the snapshot against its parent's directory).
Result<NewLayer> commit_snapshot_diff(snapshot::Snapshotter& snapshotter, std::string_view key,
                                      content::ContentStore& store, image::Compression compression);

// Writes config and manifest for base + layer into target and tags it. base may live in
// another layout (base_layout): its layer blobs are copied into target first. With no base,
// the image has the one layer and the platform this program runs on.
struct AppendRequest {
  const image::OciLayout* base_layout = nullptr;
  const image::LoadedImage* base = nullptr;
  NewLayer layer;
  std::string tag;
  std::string created_by;  // the history entry's created_by
};
Result<image::Descriptor> append_layer(image::OciLayout& target, const AppendRequest& request,
                                       Env& env);

// "application/vnd.oci.image.layer.v1.tar+gzip" and friends.
std::string_view layer_media_type(image::Compression compression);

}  // namespace gantry::runtime::unpack
